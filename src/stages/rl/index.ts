// Online RL in the loop (GRPO, RLOO, REINFORCE++): the round's prompts in seeded generation
// batches; per batch, a group of completions per prompt sampled from the policy as it trains
// (in the engine's worker), rewards from the stage's judges, num_iterations optimizer steps.
// Every sample is a ledger row; every optimizer step's metrics a train_steps row. A resumed stage
// starts again from its first batch: the seeds make it the same run.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, shuffled } from '../../core/rng.js';
import { Engine, type RlJob, type RlStepMetrics } from '../../engine/index.js';
import type { RlStageSpec } from '../../spec/schema.js';
import { inputHash } from '../../store/hash.js';
import type { PromptRow } from '../../store/types.js';
import { adoptPolicy } from '../adopt-policy.js';
import type { RunContext } from '../context.js';
import type { Stage, StageInput, StageResult } from '../stage.js';
import { batchMetrics } from './batch-metrics.js';
import { rewardFunction } from './rewards.js';

async function runRlStage(
  ctx: RunContext,
  { spec, round, index: stageIndex, prompts }: StageInput<RlStageSpec>,
): Promise<StageResult> {
  const store = ctx.store;
  if (prompts.length === 0) {
    ctx.emit({ type: 'warning', round, message: `round ${round}: no prompts, RL skipped` });
    return { counts: { prompts: 0, steps: 0 } };
  }
  const reward = rewardFunction(ctx, spec);
  const out = join(ctx.runDir, `round-${round}`, 'policy');
  rmSync(out, { recursive: true, force: true }); // a resumed stage retrains from scratch, deterministically
  const reference = ctx.spec.reference === 'initial' ? ctx.initial : ctx.policy;
  store.upsertRound(round, { referenceCheckpointId: reference.checkpointId });
  store.clearTrainSteps(round);

  const G = spec.num_generations;
  const totalSteps = spec.steps * spec.num_iterations;
  const draw = promptDraw(prompts, spec.prompts_per_step, ctx.seedFor('rl-prompts', round));
  const start = ctx.policy;
  const rl = await Engine.rl(rlJob(ctx, spec, round, reference, totalSteps));
  const history: RlStepMetrics[] = [];
  let samples = 0;
  try {
    for (let step = 1; step <= spec.steps; step++) {
      if (ctx.stopped) return { counts: { prompts: prompts.length, steps: history.length } };
      const batch = draw();
      const seed = ctx.seedFor('rl', round, step);
      const { results, promptIds } = await rl.generate(
        batch.map((p) => ({ messages: p.messages })),
        {
          n: G,
          maxNewTokens: spec.max_completion_length,
          seed,
          temperature: spec.temperature,
          topP: spec.top_p,
          topK: spec.top_k,
          greedy: false,
          stopStrings: [],
          ignoreEos: false,
        },
      );
      const sampled = results.flatMap((r, i) =>
        r.completions.map((c, idx) => ({
          prompt: batch[i],
          promptIds: promptIds[i],
          idx,
          c,
          ...reward(batch[i].messages, c.text),
        })),
      );
      const measured = batchMetrics(
        sampled.map((s) => ({
          tokens: s.c.tokenIds.length,
          truncated: s.c.finishReason === 'length',
          reward: s.reward,
          perJudge: s.perJudge,
        })),
        G,
      );
      const trained = await rl.train(
        sampled.map((s) => ({
          promptIds: s.promptIds,
          completionIds: s.c.tokenIds,
          truncated: s.c.finishReason === 'length',
        })),
        sampled.map((s) => s.reward),
        G,
        (m) => {
          const metrics = { ...m, ...measured };
          history.push(m);
          store.addTrainStep({ round, step: m.step, stageIndex, metrics });
          ctx.emit({
            type: 'train-step',
            round,
            step: m.step,
            totalSteps,
            loss: m.loss,
            margin: 0,
            accuracy: 0,
            gradNorm: m.grad_norm,
            learningRate: m.learning_rate,
            rl: { reward: measured.reward, kl: m.kl ?? null, entropy: m.entropy },
          });
        },
      );
      store.transaction(() =>
        sampled.forEach((s, i) =>
          store.addRlSample({
            round,
            stageIndex,
            inputHash: inputHash(
              'rl-sample',
              round,
              step,
              s.prompt.inputHash,
              s.idx,
              seed,
              start.checkpointId,
            ),
            step,
            promptId: s.prompt.id,
            idx: s.idx,
            text: s.c.text,
            tokenIds: s.c.tokenIds,
            finishReason: s.c.finishReason,
            rewards: s.perJudge,
            reward: s.reward,
            advantage: trained.advantages[i],
            oldLogps: trained.oldLogps[i],
            refLogps: trained.refLogps?.[i] ?? null,
            trained: trained.trained[i],
            seed,
            checkpointId: start.checkpointId,
          }),
        ),
      );
      samples += sampled.length;
      ctx.emit({
        type: 'stage-progress',
        round,
        stage: stageIndex,
        kind: 'rl',
        done: step,
        total: spec.steps,
        unit: 'steps',
      });
    }
    await rl.save(out, history);
  } finally {
    await rl.close();
  }
  await adoptPolicy(ctx, round, out, spec.full);
  const last = history[history.length - 1];
  return {
    counts: {
      prompts: prompts.length,
      samples,
      steps: history.length,
      ...(last ? { final_reward_pct: Math.round(100 * lastReward(store, round)) } : {}),
    },
  };
}

/** The mean reward of the round's last generation batch (what the counts report). */
function lastReward(store: RunContext['store'], round: number): number {
  const steps = store.trainStepsForRound(round);
  const m = steps[steps.length - 1]?.metrics.reward;
  return typeof m === 'number' ? m : 0;
}

/**
 * `perStep` prompts per generation batch: the round's prompts in a seeded order, reshuffled each
 * time they are used up (epochs over the prompts, as TRL's sampler does).
 */
function promptDraw(prompts: PromptRow[], perStep: number, seed: number): () => PromptRow[] {
  const rng = new Rng(seed);
  let order: PromptRow[] = [];
  return () => {
    const out: PromptRow[] = [];
    while (out.length < perStep) {
      if (order.length === 0) order = shuffled(rng, prompts);
      out.push(order.shift()!);
    }
    return out;
  };
}

/** The engine's job: continue the policy (its adapter or full weights) against the reference. */
function rlJob(
  ctx: RunContext,
  spec: RlStageSpec,
  round: number,
  reference: RunContext['policy'],
  totalSteps: number,
): RlJob {
  return {
    model: spec.full ? ctx.policy.path : ctx.initial.path,
    adapter: spec.full ? undefined : ctx.policy.adapter,
    refModel: reference.path,
    refAdapter: reference.adapter,
    full: spec.full,
    lora: { r: spec.lora.r, alpha: spec.lora.alpha, targets: spec.lora.target_modules },
    algorithm: spec.algorithm,
    loss: {
      lossType: spec.loss_type,
      beta: spec.beta,
      epsilon: spec.epsilon,
      epsilonHigh: spec.epsilon_high ?? spec.epsilon,
      importanceSamplingLevel: spec.importance_sampling_level,
      useBiasCorrectionKl: spec.use_bias_correction_kl,
      maxCompletionLength: spec.max_completion_length,
    },
    temperature: spec.temperature,
    numIterations: spec.num_iterations,
    scaleRewards: spec.scale_rewards,
    maskTruncatedCompletions: spec.mask_truncated_completions,
    rowsPerStep: spec.prompts_per_step * spec.num_generations,
    totalSteps,
    batchSize: spec.batch_size,
    gradAccum: Math.ceil((spec.prompts_per_step * spec.num_generations) / spec.batch_size),
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
    gradientCheckpointing: spec.gradient_checkpointing,
    seed: ctx.seedFor('rl-train', round),
    threads: ctx.spec.model.threads,
    device: ctx.spec.model.device,
  };
}

export const rlStage: Stage<RlStageSpec> = { kind: 'rl', run: runRlStage };
