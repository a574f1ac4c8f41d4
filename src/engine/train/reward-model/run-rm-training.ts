// The whole `pipeline train-rm` job: rows → TRL's token ids → steps → the saved checkpoint, then a
// check that the checkpoint reloads to the rewards the trained graph gives, and the held-out
// evaluation on it.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPipelineError, PipelineError } from '../../../core/errors.js';
import { loadModel } from '../../model/load-model.js';
import type { LoraSpec } from '../lora.js';
import type { StepMetrics } from '../trainer.js';
import { evaluateRewardModel } from './rm-eval.js';
import { tokenizeRewardRows, type RewardPairIds } from './rm-rows.js';
import { saveRewardModel } from './rm-save.js';
import { RewardModelScorer } from './rm-scorer.js';
import { RewardTrainer, type RewardTrainerOptions } from './rm-trainer.js';
import { asRewardModel } from './score-head.js';

export interface RewardModelJob extends Omit<RewardTrainerOptions, 'mode'> {
  /** Base: a causal LM (a new score head is drawn) or a reward model to train further. */
  model: string;
  /** TRL preference rows (prompt optional, optional `margin`). */
  rows: unknown[];
  /** `file:line` of each row, for error messages. */
  labels: string[];
  /** Held-out preference rows, scored with the saved checkpoint after training. */
  evalRows?: unknown[];
  evalLabels?: string[];
  out: string;
  full: boolean;
  lora: LoraSpec;
  /** TRL max_length: a pair with a longer side is dropped. */
  maxLength: number;
}

/** The trained graph's rewards of a few training pairs against the saved checkpoint's. */
export interface CheckpointCheck {
  /** Rewards of the first pairs (chosen, then rejected) from the trainer's own graph. */
  trained: number[];
  /** The same sequences scored by the checkpoint loaded back from disk. */
  loaded: number[];
  maxAbsDiff: number;
}

export interface RewardModelOutcome {
  out: string;
  kind: 'lora' | 'full';
  steps: StepMetrics[];
  /** Training pairs dropped for exceeding max_length. */
  dropped: number;
  adapterDir?: string;
  check: CheckpointCheck;
  /** TRL's eval_* metrics on the held-out rows. */
  eval?: Record<string, number>;
}

export type RewardModelEvent =
  | { type: 'log'; message: string }
  | { type: 'step'; metrics: StepMetrics; totalSteps: number }
  | { type: 'eval'; metrics: Record<string, number> };

function tokenize(
  job: RewardModelJob,
  tok: Parameters<typeof tokenizeRewardRows>[0],
  rows: unknown[],
  labels: string[],
  what: string,
  log: (m: string) => void,
): RewardPairIds[] {
  const { pairs, dropped } = tokenizeRewardRows(tok, rows, labels, job.maxLength);
  if (dropped.length)
    log(
      `note: ${dropped.length} ${what} pairs dropped, longer than max_length ${job.maxLength} (first: ${dropped[0]})`,
    );
  return pairs;
}

export async function runRewardModelTraining(
  job: RewardModelJob,
  emit: (e: RewardModelEvent) => void = () => {},
): Promise<RewardModelOutcome> {
  const log = (message: string) => emit({ type: 'log', message });
  const base = loadModel(job.model);
  try {
    // TRL pads with the tokenizer's pad token (else eos) and saves that id as pad_token_id.
    const padId = base.tokenizer.batchPadId;
    const rm = asRewardModel(base, padId, job.seed);
    const pairs = tokenize(job, base.tokenizer, job.rows, job.labels, 'training', log);
    const heldOut = job.evalRows
      ? tokenize(job, base.tokenizer, job.evalRows, job.evalLabels ?? [], 'eval', log)
      : undefined;
    log(
      `${pairs.length} pairs, ${String(base.config.raw.architectures ?? base.config.architecture)} from ${base.dir}, ` +
        (base.config.scoreHead ? 'its own score head' : 'a new score head'),
    );
    const mode = job.full
      ? ({ kind: 'full' } as const)
      : ({ kind: 'lora', lora: job.lora } as const);
    const trainer = await RewardTrainer.create(rm, { ...job, mode }, padId);
    mkdirSync(job.out, { recursive: true });
    const outcome = {
      out: job.out,
      kind: mode.kind,
      steps: [] as StepMetrics[],
      dropped: job.rows.length - pairs.length,
    };
    const save = () => saveRewardModel(job.out, rm, trainer.mode, trainer.params);
    let trained: Float32Array;
    try {
      const metricsLog = join(job.out, 'train_metrics.jsonl');
      writeFileSync(metricsLog, '');
      const totalSteps = trainer.totalSteps(pairs.length);
      outcome.steps = await trainer.train(pairs, (metrics) => {
        appendFileSync(metricsLog, JSON.stringify(metrics) + '\n');
        emit({ type: 'step', metrics, totalSteps });
      });
      trained = (await trainer.gradients(pairs.slice(0, job.batchSize))).rewards;
    } catch (e) {
      if (isPipelineError(e) && e.code === 'E_TRAIN_NOT_FINITE') {
        save();
        throw new PipelineError({
          code: e.code,
          message: `${e.message}; last good weights saved to ${job.out}`,
          hint: e.hint,
        });
      }
      throw e;
    } finally {
      await trainer.close();
    }
    const { adapterDir } = save();
    const scorer = await RewardModelScorer.open(job.out, {
      threads: job.threads,
      device: job.device,
    });
    try {
      const first = await scorer.scorePairs(pairs.slice(0, job.batchSize));
      const loaded = [...first.chosen, ...first.rejected];
      const check: CheckpointCheck = {
        trained: [...trained],
        loaded,
        maxAbsDiff: Math.max(...loaded.map((r, i) => Math.abs(r - trained[i]))),
      };
      let evalMetrics: Record<string, number> | undefined;
      if (heldOut?.length) {
        evalMetrics = await evaluateRewardModel(scorer, heldOut, job.centerRewardsCoefficient);
        writeFileSync(
          join(job.out, 'eval_metrics.json'),
          JSON.stringify(evalMetrics, null, 2) + '\n',
        );
        emit({ type: 'eval', metrics: evalMetrics });
      }
      return { ...outcome, adapterDir, check, eval: evalMetrics };
    } finally {
      await scorer.close();
    }
  } finally {
    base.close();
  }
}
