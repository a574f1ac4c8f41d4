// Online RL in the loop (GRPO, RLOO, REINFORCE++): the round's prompts in seeded generation
// batches; per batch, a group of completions per prompt sampled from the policy as it trains
// (in the engine's worker), rewards from the stage's judges, num_iterations optimizer steps
// (loop.ts). Every sample is a ledger row; every step's metrics a train_steps row. A resumed
// stage starts again from its first batch: the seeds make it the same run.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../engine/index.js';
import type { RlStageSpec } from '../../spec/schema.js';
import { inputHash } from '../../store/hash.js';
import { adoptPolicy } from '../adopt-policy.js';
import type { RunContext } from '../context.js';
import type { Stage, StageInput, StageResult } from '../stage.js';
import { rlJobOf } from './job.js';
import { runRlLoop } from './loop.js';
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
  const reward = rewardFunction(ctx, spec, round);
  const out = join(ctx.runDir, `round-${round}`, 'policy');
  rmSync(out, { recursive: true, force: true }); // a resumed stage retrains from scratch, deterministically
  const reference = ctx.spec.reference === 'initial' ? ctx.initial : ctx.policy;
  store.upsertRound(round, { referenceCheckpointId: reference.checkpointId });
  store.clearTrainSteps(round);

  const start = ctx.policy;
  const totalSteps = spec.steps * spec.num_iterations;
  const session = await Engine.rl(
    rlJobOf(spec, {
      model: spec.full ? start.path : ctx.initial.path,
      adapter: spec.full ? undefined : start.adapter,
      refModel: reference.path,
      refAdapter: reference.adapter,
      seed: ctx.seedFor('rl-train', round),
      threads: ctx.spec.model.threads,
      device: ctx.spec.model.device,
    }),
  );
  let samples = 0;
  let lastReward = 0;
  let steps: number;
  try {
    const history = await runRlLoop(
      session,
      spec,
      prompts,
      reward,
      ctx.seedFor('rl-prompts', round),
      {
        stopped: () => ctx.stopped,
        seed: (step) => ctx.seedFor('rl', round, step),
        onStep: (m, batch) => {
          lastReward = batch.reward;
          store.addTrainStep({ round, step: m.step, stageIndex, metrics: { ...m, ...batch } });
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
            rl: { reward: batch.reward, kl: m.kl ?? null, entropy: m.entropy },
          });
        },
        onBatch: (step, seed, sampled, trained) => {
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
                text: s.completion.text,
                tokenIds: s.completion.tokenIds,
                finishReason: s.completion.finishReason,
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
        },
      },
    );
    steps = history.length;
    if (ctx.stopped) return { counts: { prompts: prompts.length, samples, steps } };
    await session.save(out, history);
  } finally {
    await session.close();
  }
  await adoptPolicy(ctx, round, out, spec.full);
  return {
    counts: {
      prompts: prompts.length,
      samples,
      steps,
      final_reward_pct: Math.round(100 * lastReward),
    },
  };
}

export const rlStage: Stage<RlStageSpec> = { kind: 'rl', run: runRlStage };
