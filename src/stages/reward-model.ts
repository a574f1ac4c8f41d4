// A reward model trained in the loop (RLHF's second step, InstructGPT §3.5; TRL RewardTrainer):
// the round's preference pairs as TRL conversational rows, a seeded share held out, a
// Bradley-Terry model trained in the engine's worker and written to round-<r>/reward-model,
// where the judges with `trained: true` read it (an rl stage's rewards). Its held-out accuracy,
// margin and loss are the round's eval metrics `reward_model/*`, so drift and the report show
// how well the model that rewards the policy ranks pairs it never saw.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, shuffled } from '../core/rng.js';
import { Engine, type RewardModelJob } from '../engine/index.js';
import type { RewardModelStageSpec } from '../spec/schema.js';
import type { RunContext } from './context.js';
import { REWARD_MODEL_DIR } from './judge-setup.js';
import type { Stage, StageInput, StageResult } from './stage.js';

async function runRewardModelStage(
  ctx: RunContext,
  { spec, round, index: stageIndex }: StageInput<RewardModelStageSpec>,
): Promise<StageResult> {
  const store = ctx.store;
  const pairs = store.pairsForRound(round);
  const rows = pairs.map((p) => ({
    prompt: store.getPrompt(p.promptId)!.messages,
    chosen: [{ role: 'assistant', content: store.getCandidate(p.chosenCandidateId)!.text }],
    rejected: [{ role: 'assistant', content: store.getCandidate(p.rejectedCandidateId)!.text }],
  }));
  const labels = pairs.map((p) => `pair ${p.id}`);
  const order = shuffled(new Rng(ctx.seedFor('reward-model-split', round)), [...rows.keys()]);
  const nHeld = rows.length >= 2 ? Math.floor(rows.length * spec.held_out) : 0;
  const held = new Set(order.slice(0, nHeld));
  const train = [...rows.keys()].filter((i) => !held.has(i));
  if (train.length === 0) {
    ctx.emit({
      type: 'warning',
      round,
      message: `round ${round}: no preference pairs to train the reward model on, skipped`,
    });
    return { counts: { pairs: rows.length, steps: 0 } };
  }
  const out = join(ctx.runDir, `round-${round}`, REWARD_MODEL_DIR);
  rmSync(out, { recursive: true, force: true }); // a resumed stage retrains, deterministically
  const job: RewardModelJob = {
    model: spec.model ? ctx.path(spec.model) : ctx.initial.path,
    rows: train.map((i) => rows[i]),
    labels: train.map((i) => labels[i]),
    evalRows: [...held].map((i) => rows[i]),
    evalLabels: [...held].map((i) => labels[i]),
    out,
    full: spec.full,
    lora: { r: spec.lora.r, alpha: spec.lora.alpha, targets: spec.lora.target_modules },
    maxLength: spec.max_length,
    centerRewardsCoefficient: spec.center_rewards_coefficient,
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
    seed: ctx.seedFor('reward-model', round),
    threads: ctx.spec.model.threads,
    device: ctx.spec.model.device,
  };
  let total = 0;
  const outcome = await Engine.trainRewardModel(job, (e) => {
    if (e.type !== 'step') return;
    total = e.totalSteps;
    ctx.emit({
      type: 'stage-progress',
      round,
      stage: stageIndex,
      kind: 'reward_model',
      done: e.metrics.step,
      total,
      unit: 'steps',
    });
  });
  const last = outcome.steps[outcome.steps.length - 1];
  const metrics: Record<string, number | undefined> = {
    'reward_model/train_accuracy': last?.accuracy as number | undefined,
    'reward_model/eval_accuracy': outcome.eval?.eval_accuracy,
    'reward_model/eval_margin': outcome.eval?.eval_margin,
    'reward_model/eval_loss': outcome.eval?.eval_loss,
  };
  for (const [metric, value] of Object.entries(metrics)) {
    if (value === undefined) continue;
    store.putEvalMetric({ round, metric, value, stageIndex });
    ctx.emit({ type: 'eval-metric', round, metric, value });
  }
  return {
    counts: {
      pairs: rows.length,
      held_out: held.size,
      dropped: outcome.dropped,
      steps: outcome.steps.length,
      ...(outcome.eval ? { eval_accuracy_pct: Math.round(100 * outcome.eval.eval_accuracy) } : {}),
    },
  };
}

export const rewardModelStage: Stage<RewardModelStageSpec> = {
  kind: 'reward_model',
  run: runRewardModelStage,
};
