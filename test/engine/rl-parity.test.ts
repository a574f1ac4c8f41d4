// Online RL against TRL itself: the loss, metrics and gradients of our GRPO step graph (every
// loss_type, β = 0, GSPO's sequence-level ratio, the KL without TRL's bias correction, truncated
// completions masked) and of RLOO's sequence-level loss, full and LoRA, on hf-tiny — equal to
// what TRL 1.13's GRPOTrainer / RLOOTrainer._compute_loss computed in float64
// (test/fixtures/rl-parity.json, from scripts/make-rl-parity.py; conventions in
// docs/rl-conventions.md). Also the advantages (group / batch / none scaling, RLOO's KL-shaped
// leave-one-out) against TRL's numbers, and the rollout metrics of the stage's batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/engine/model/load-model.js';
import { loadLoraAdapter } from '../../src/engine/model/peft-adapter.js';
import {
  grpoAdvantages,
  klShapedRewards,
  rlooAdvantages,
} from '../../src/engine/train/advantages.js';
import { DEFAULT_LORA_TARGETS } from '../../src/engine/train/lora.js';
import type { PgLossType } from '../../src/engine/train/losses/policy-gradient.js';
import { RlTrainer, type RlTrainerOptions } from '../../src/engine/train/rl-trainer.js';
import { batchMetrics } from '../../src/stages/rl/batch-metrics.js';
import { fixture } from '../helpers/fixtures.js';
import { repoRoot } from '../helpers/paths.js';
import { compareGrad, type GradSummary } from '../helpers/grad-summary.js';

interface Result {
  loss: number;
  normalizer?: number | string;
  metrics: Record<string, number>;
  grads: Record<string, GradSummary>;
}
interface Case {
  name: string;
  loss_type: PgLossType;
  beta: number;
  epsilon: number;
  epsilon_high: number;
  importance_sampling_level: 'token' | 'sequence';
  use_bias_correction_kl: boolean;
  mask_truncated_completions: boolean;
  full: Result;
  lora: Result;
}
interface RlooRun extends Result {
  old_logps: number[];
  advantages: number[];
}
interface Parity {
  temperature: number;
  prompt_ids: number[][];
  completion_ids: number[][];
  completion_prompt: number[];
  group_size: number;
  eos_token_id: number;
  max_completion_length: number;
  rewards: number[];
  advantages: number[];
  advantages_by_scale_rewards: Record<'group' | 'batch' | 'none', number[]>;
  rollout_metrics: Record<string, number>;
  policy_per_token_logps: Record<'full' | 'lora', number[][]>;
  old_per_token_logps: Record<'full' | 'lora', number[][]>;
  ref_per_token_logps: number[][];
  cases: Case[];
  rloo: {
    beta: number;
    epsilon: number;
    epsilon_high: number;
    off_policy_old_logps_offset: number[];
    full: Record<'on_policy' | 'off_policy', RlooRun>;
    lora: Record<'on_policy' | 'off_policy', RlooRun>;
  };
}

const parity = JSON.parse(
  readFileSync(join(repoRoot, 'test', 'fixtures', 'rl-parity.json'), 'utf8'),
) as Parity;

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

function options(
  kind: 'full' | 'lora',
  over: Partial<RlTrainerOptions> & Pick<RlTrainerOptions, 'algorithm' | 'loss'>,
): RlTrainerOptions {
  return {
    mode:
      kind === 'full'
        ? { kind: 'full' }
        : { kind: 'lora', lora: { r: 4, alpha: 8, targets: DEFAULT_LORA_TARGETS } },
    temperature: parity.temperature,
    numIterations: 1,
    scaleRewards: 'group',
    maskTruncatedCompletions: false,
    rowsPerStep: 4,
    totalSteps: 1,
    batchSize: 4,
    gradAccum: 1,
    optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 },
    learningRate: 1e-6,
    lrSchedule: 'constant',
    warmupSteps: 0,
    seed: 0,
    ...over,
  };
}

/** A trainer on TRL's policy: dpo/tiny-llama/policy (full), or tiny-llama + its LoRA adapter. */
async function trainer(root: string, kind: 'full' | 'lora', opts: RlTrainerOptions) {
  const base = loadModel(join(root, kind === 'full' ? 'dpo/tiny-llama/policy' : 'tiny-llama'));
  const adapter =
    kind === 'lora' ? loadLoraAdapter(join(root, 'dpo', 'tiny-llama', 'lora-adapter')) : undefined;
  return { base, t: await RlTrainer.create(base, opts, base, adapter) };
}

const seqs = (masked: boolean[] = []) =>
  parity.completion_ids.map((c, i) => ({
    promptIds: parity.prompt_ids[parity.completion_prompt[i]],
    responseIds: masked[i] ? [] : c,
  }));

/** Completion i is truncated when its last id is not end-of-sequence (TRL's test). */
const truncated = parity.completion_ids.map((c) => c[c.length - 1] !== parity.eos_token_id);

for (const kind of ['full', 'lora'] as const) {
  test(`rl parity (${kind}): the policy's token log-probs at temperature ${parity.temperature} equal TRL's`, async (t) => {
    const root = fixture(t, 'hf-tiny');
    if (!root) return;
    const { base, t: tr } = await trainer(root, kind, options(kind, grpo(parity.cases[0])));
    try {
      const ours = await tr.tokenLogps('policy', seqs());
      ours.forEach((row, i) =>
        row.forEach((v, k) => {
          const want = parity.policy_per_token_logps[kind][i][k];
          assert.ok(Math.abs(v - want) < 2e-4, `completion ${i} token ${k}: ${v} vs ${want}`);
        }),
      );
    } finally {
      await tr.close();
      base.close();
    }
  });

  test(`rl parity (${kind}): GRPO loss, metrics and gradients equal TRL's for every case`, async (t) => {
    const root = fixture(t, 'hf-tiny');
    if (!root) return;
    for (const c of parity.cases) {
      const want = c[kind];
      const masked = truncated.map((x) => x && c.mask_truncated_completions);
      const { base, t: tr } = await trainer(root, kind, options(kind, grpo(c)));
      try {
        const s = seqs(masked);
        const tokens = s.reduce((a, x) => a + x.responseIds.length, 0);
        const feeds = tr.feeds(
          s,
          parity.old_per_token_logps[kind],
          parity.ref_per_token_logps,
          s.map((x, i) => x.responseIds.map(() => parity.advantages[i])),
          tokens,
        );
        const got = await tr.gradients(feeds);
        assert.ok(
          rel(got.loss, want.loss) < 1e-4,
          `${c.name}: loss ${got.loss} vs TRL ${want.loss}`,
        );
        for (const name of [
          'entropy',
          'kl',
          'clip_ratio/low_mean',
          'clip_ratio/high_mean',
          'clip_ratio/region_mean',
        ]) {
          if (!(name in want.metrics)) continue;
          const v = got.metrics[name];
          assert.ok(
            Math.abs(v - want.metrics[name]) < 1e-4 * Math.max(1, Math.abs(want.metrics[name])),
            `${c.name}: ${name} ${v} vs TRL ${want.metrics[name]}`,
          );
        }
        for (const [name, ref] of Object.entries(want.grads))
          compareGrad(`${c.name} ${name}`, got.grads.get(name), ref, 1e-4);
      } finally {
        await tr.close();
        base.close();
      }
    }
  });

  test(`rl parity (${kind}): RLOO's sequence-level loss and gradients equal TRL's, on and off policy`, async (t) => {
    const root = fixture(t, 'hf-tiny');
    if (!root) return;
    const r = parity.rloo;
    const { base, t: tr } = await trainer(
      root,
      kind,
      options(kind, {
        algorithm: 'rloo',
        loss: {
          lossType: 'grpo',
          beta: r.beta,
          epsilon: r.epsilon,
          epsilonHigh: r.epsilon_high,
          importanceSamplingLevel: 'token',
          useBiasCorrectionKl: true,
          maxCompletionLength: parity.max_completion_length,
        },
      }),
    );
    try {
      const s = seqs();
      const own = await tr.tokenLogps('policy', s);
      const ref = parity.ref_per_token_logps;
      for (const mode of ['on_policy', 'off_policy'] as const) {
        const want = r[kind][mode];
        // RLOO reads only Σ_t old: put TRL's sequence sums on the first token
        const old = own.map((row, i) =>
          row.map((v, k) =>
            k === 0 ? want.old_logps[i] - (row.reduce((a, b) => a + b, 0) - v) : v,
          ),
        );
        // the advantages from the on-policy sums, as TRL computed them before the step
        const adv = rlooAdvantages(
          klShapedRewards(parity.rewards, own, ref, r.beta),
          parity.group_size,
        );
        adv.forEach((a, i) =>
          assert.ok(
            Math.abs(a - want.advantages[i]) < 1e-4,
            `advantage ${i}: ${a} vs ${want.advantages[i]}`,
          ),
        );
        const got = await tr.gradients(
          tr.feeds(
            s,
            old,
            undefined,
            s.map((x, i) => x.responseIds.map(() => adv[i])),
            1,
          ),
        );
        assert.ok(
          Math.abs(got.loss - want.loss) < 1e-4 * Math.max(1, Math.abs(want.loss)),
          `${mode}: loss ${got.loss} vs TRL ${want.loss}`,
        );
        assert.ok(
          Math.abs(got.metrics['clip_ratio/region_mean'] - want.metrics['clip_ratio/region_mean']) <
            1e-6,
          `${mode}: clip_ratio/region_mean`,
        );
        for (const [name, g] of Object.entries(want.grads))
          compareGrad(`rloo ${mode} ${name}`, got.grads.get(name), g, 1e-4);
      }
    } finally {
      await tr.close();
      base.close();
    }
  });
}

test("rl parity: GRPO advantages with each scale_rewards equal TRL's", () => {
  for (const scale of ['group', 'batch', 'none'] as const) {
    const ours = grpoAdvantages(parity.rewards, parity.group_size, scale);
    ours.forEach((a, i) => {
      const want = parity.advantages_by_scale_rewards[scale][i];
      // TRL computes them in float32
      assert.ok(Math.abs(a - want) < 1e-6, `${scale} advantage ${i}: ${a} vs ${want}`);
    });
  }
});

test("rl parity: the stage's rollout metrics equal TRL's for the same batch", () => {
  const got = batchMetrics(
    parity.completion_ids.map((c, i) => ({
      tokens: c.length,
      truncated: truncated[i],
      reward: parity.rewards[i],
      perJudge: { fixed_reward: parity.rewards[i] },
    })),
    parity.group_size,
  );
  for (const name of [
    'reward',
    'reward_std',
    'rewards/fixed_reward/mean',
    'completions/mean_length',
    'completions/clipped_ratio',
    'frac_reward_zero_std',
  ])
    assert.ok(
      Math.abs(got[name] - parity.rollout_metrics[name]) < 1e-6,
      `${name}: ${got[name]} vs TRL ${parity.rollout_metrics[name]}`,
    );
});

function grpo(c: Case): Pick<RlTrainerOptions, 'algorithm' | 'loss' | 'maskTruncatedCompletions'> {
  return {
    algorithm: 'grpo',
    maskTruncatedCompletions: c.mask_truncated_completions,
    loss: {
      lossType: c.loss_type,
      beta: c.beta,
      epsilon: c.epsilon,
      epsilonHigh: c.epsilon_high,
      importanceSamplingLevel: c.importance_sampling_level,
      useBiasCorrectionKl: c.use_bias_correction_kl,
      maxCompletionLength: parity.max_completion_length,
    },
  };
}
