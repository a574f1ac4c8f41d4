import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Engine, type TrainEvent, type TrainJob } from '../engine/index.js';
import type { Policy, RunContext } from './context.js';
import { TRL_DEFAULTS, type TrainStageSpec } from '../spec/schema.js';
import { adoptPolicy } from './adopt-policy.js';
import { overrideByHumans } from './human-labels.js';
import { ktoRows, ktoWeightAdvice } from './kto-rows.js';
import type { Stage, StageInput, StageResult } from './stage.js';
import { trainWithTrl, type TrlRun } from './train-trl/run-trl.js';
import { checkTrlJob } from './train-trl/trl-config.js';
import { checkTrlPython } from './train-trl/trl-python.js';

type TrainRow = TrainJob['rows'][number];

/** What a train stage trains on this round: rows (pairs or KTO rows), their names, its counts. */
interface RoundData {
  rows: TrainRow[];
  labels: string[];
  /** Too few rows to train on: the warning to emit. */
  skip?: string;
  counts: Record<string, number>;
  /** Counted after the steps (the human-label override's), where the counts always had them. */
  after?: Record<string, number>;
}

/**
 * DPO-family training on the round's pairs (Engine II in a worker thread, or TRL's DPOTrainer in
 * Python with `backend: trl`, src/stages/train-trl/), or KTO on the round's labels (`loss: kto`). LoRA continues the policy's adapter from round to round; the reference is
 * the round-start policy or the initial model, as the file says, and is recorded with the round.
 * The new policy M_r becomes current.
 */
async function runTrainStage(
  ctx: RunContext,
  { spec, round, index: stageIndex }: StageInput<TrainStageSpec>,
): Promise<StageResult> {
  const store = ctx.store;
  const data = spec.loss.includes('kto') ? ktoData(ctx, spec, round) : pairData(ctx, spec, round);
  if (data.skip) {
    ctx.emit({
      type: 'warning',
      round,
      message: `round ${round}: ${data.skip}, training skipped (the policy stays ${ctx.policy.checkpointId})`,
    });
    return { counts: { ...data.counts, steps: 0, ...data.after } };
  }
  const { rows, labels } = data;
  const out = join(ctx.runDir, `round-${round}`, 'policy');
  const reference = ctx.spec.reference === 'initial' ? ctx.initial : ctx.policy;
  const job = trainJob(ctx, spec, round, reference, { rows, labels, out });
  const trl: TrlRun | undefined =
    spec.backend === 'trl'
      ? {
          trl: spec.trl ?? TRL_DEFAULTS,
          baseDir: ctx.baseDir,
          dir: join(ctx.runDir, `round-${round}`, 'trl'),
          loraDropout: spec.lora.dropout,
        }
      : undefined;
  if (trl) {
    // what can be known before training fails before anything of the round is touched
    checkTrlJob(job);
    checkTrlPython(trl.trl.python, trl.baseDir);
  }
  rmSync(out, { recursive: true, force: true }); // a resumed stage retrains from scratch, deterministically
  store.upsertRound(round, { referenceCheckpointId: reference.checkpointId });
  store.clearTrainSteps(round);
  const train = trl
    ? (onEvent: (e: TrainEvent) => void) => trainWithTrl(job, trl, onEvent)
    : (onEvent: (e: TrainEvent) => void) => Engine.train(job, onEvent);
  const outcome = await train((e) => {
    if (e.type !== 'step') return;
    const m = e.metrics;
    store.addTrainStep({ round, step: m.step, stageIndex, metrics: m });
    ctx.emit({
      type: 'train-step',
      round,
      step: m.step,
      totalSteps: e.totalSteps,
      loss: m.loss,
      margin: m['rewards/margins'] ?? 0,
      accuracy: m['rewards/accuracies'] ?? 0,
      gradNorm: m.grad_norm,
      learningRate: m.learning_rate,
    });
  });
  await adoptPolicy(ctx, round, out, spec.full);
  const last = outcome.steps[outcome.steps.length - 1];
  return {
    counts: {
      ...data.counts,
      steps: outcome.steps.length,
      // KTO has no pairs to be accurate on
      ...(spec.loss.includes('kto')
        ? {}
        : { final_accuracy_pct: Math.round(100 * (last?.['rewards/accuracies'] ?? 0)) }),
      ...data.after,
    },
  };
}

/**
 * The round's preference pairs (the audited human verdicts where `human_labels: override`) and
 * Meta-Rewarding's judge-role pairs, which train with them (none without meta_judge).
 */
function pairData(ctx: RunContext, spec: TrainStageSpec, round: number): RoundData {
  const store = ctx.store;
  const judged = store.pairsForRound(round);
  const human =
    spec.human_labels === 'override' ? overrideByHumans(store, round, judged) : undefined;
  const pairs = human?.pairs ?? judged;
  const judgePairs = judgeRolePairs(ctx, round);
  const actorRows = pairs.map((p) => {
    const prompt = store.getPrompt(p.promptId)!;
    return {
      prompt: prompt.messages,
      chosen: [{ role: 'assistant', content: store.getCandidate(p.chosenCandidateId)!.text }],
      rejected: [{ role: 'assistant', content: store.getCandidate(p.rejectedCandidateId)!.text }],
      ...(spec.soft_labels && p.softLabel !== null ? { soft_label: p.softLabel } : {}),
    };
  });
  return {
    rows: [...actorRows, ...judgePairs.rows],
    labels: [...pairs.map((p) => `pair ${p.id}`), ...judgePairs.labels],
    skip: pairs.length === 0 && judgePairs.rows.length === 0 ? 'no preference pairs' : undefined,
    counts: {
      pairs: pairs.length,
      // only when there are any, so the counts of runs without meta_judge stay as they were
      ...(judgePairs.rows.length ? { judge_pairs: judgePairs.rows.length } : {}),
    },
    after: human?.counts,
  };
}

/**
 * KTO's unpaired rows from the round's labels (a pair stage with `strategy: label`), with TRL's
 * warning when the label weights do not balance the two classes (kto-rows.ts).
 */
function ktoData(ctx: RunContext, spec: TrainStageSpec, round: number): RoundData {
  const kto = ktoRows(ctx.store, round);
  const counts = { desirable: kto.desirable, undesirable: kto.undesirable };
  // the engine's KL estimate pairs each row with another row's completion: it needs two
  if (kto.rows.length < 2)
    return { ...kto, counts, skip: `${kto.rows.length} labelled candidate(s), KTO needs 2` };
  const advice = ktoWeightAdvice(
    kto.desirable,
    kto.undesirable,
    spec.desirable_weight ?? 1,
    spec.undesirable_weight ?? 1,
  );
  if (advice) ctx.emit({ type: 'warning', round, message: advice });
  return { ...kto, counts };
}

/**
 * The round's Meta-Rewarding judge-role pairs as training rows (Wu et al. 2024): the rendered
 * judge prompt as the user turn, the chosen and rejected judgements as the assistant replies.
 * Pairs kept out (judge length control, max_pairs) stay stored but are not trained on.
 */
function judgeRolePairs(ctx: RunContext, round: number): { rows: TrainRow[]; labels: string[] } {
  const kept = ctx.store.judgePairsForRound(round).filter((p) => p.dropped === null);
  const text = (id: string) => ctx.store.getJudgement(id)!.rawOutput ?? '';
  return {
    rows: kept.map((p) => ({
      prompt: [{ role: 'user', content: p.promptText }],
      chosen: [{ role: 'assistant', content: text(p.chosenJudgementId) }],
      rejected: [{ role: 'assistant', content: text(p.rejectedJudgementId) }],
    })),
    labels: kept.map((p) => `judge-pair ${p.id}`),
  };
}

/**
 * The engine's job for this stage: continue the policy (its adapter, or its full weights), against
 * the reference, with the stage's hyper-parameters; the seed is the round's.
 */
function trainJob(
  ctx: RunContext,
  spec: TrainStageSpec,
  round: number,
  reference: Policy,
  { rows, labels, out }: Pick<TrainJob, 'rows' | 'labels' | 'out'>,
): TrainJob {
  return {
    model: spec.full ? ctx.policy.path : ctx.initial.path,
    adapter: spec.full ? undefined : ctx.policy.adapter,
    refModel: reference.path,
    refAdapter: reference.adapter,
    rows,
    labels,
    out,
    full: spec.full,
    lora: { r: spec.lora.r, alpha: spec.lora.alpha, targets: spec.lora.target_modules },
    losses: spec.loss,
    lossWeights: spec.loss_weights ?? spec.loss.map(() => 1),
    lossOptions: {
      beta: spec.beta,
      labelSmoothing: spec.label_smoothing,
      simpoGamma: spec.simpo_gamma,
      desirableWeight: spec.desirable_weight ?? 1,
      undesirableWeight: spec.undesirable_weight ?? 1,
      softLabels: spec.soft_labels,
    },
    optimizer: {
      beta1: spec.adam_beta1,
      beta2: spec.adam_beta2,
      eps: spec.adam_epsilon,
      weightDecay: spec.weight_decay,
      maxGradNorm: spec.max_grad_norm,
    },
    learningRate: spec.learning_rate,
    lrSchedule: spec.lr_scheduler_type,
    warmupSteps: spec.warmup_steps,
    epochs: spec.epochs,
    maxSteps: spec.max_steps,
    batchSize: spec.batch_size,
    gradAccum: spec.gradient_accumulation_steps,
    gradientCheckpointing: spec.gradient_checkpointing,
    maxLength: spec.max_length,
    seed: ctx.seedFor('train', round),
    merge: spec.merge,
    threads: ctx.spec.model.threads,
    device: ctx.spec.model.device,
  };
}

export const trainStage: Stage<TrainStageSpec> = { kind: 'train', run: runTrainStage };
