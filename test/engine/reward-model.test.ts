// Reward models (TRL RewardTrainer): the rewards, loss, metrics and gradients of the step graph
// against TRL's own compute_loss on hf-tiny (test/fixtures/rm-parity.json, from
// scripts/make-rm-parity.py), full and LoRA, with and without margins and reward centering; TRL's
// tokenization of conversational, plain-text and implicit-prompt rows; and the head reading the
// last non-pad token whatever the padding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, type LoadedModel } from '../../src/engine/model/load-model.js';
import { loadLoraAdapter } from '../../src/engine/model/peft-adapter.js';
import { DEFAULT_LORA_TARGETS } from '../../src/engine/train/lora.js';
import { SCORE_WEIGHT } from '../../src/engine/train/reward-model/rewards.js';
import { RewardTrainer } from '../../src/engine/train/reward-model/rm-trainer.js';
import { saveRewardModel } from '../../src/engine/train/reward-model/rm-save.js';
import { RewardModelScorer } from '../../src/engine/train/reward-model/rm-scorer.js';
import { tokenizeRewardRows } from '../../src/engine/train/reward-model/rm-rows.js';
import { asRewardModel } from '../../src/engine/train/reward-model/score-head.js';
import type { RewardTrainerOptions } from '../../src/engine/train/reward-model/rm-trainer.js';
import type { TrainMode } from '../../src/engine/train/train-graph.js';
import { fixture } from '../helpers/fixtures.js';
import { repoRoot } from '../helpers/paths.js';
import { compareGrad, type GradSummary } from '../helpers/grad-summary.js';

interface Case {
  loss: number;
  rewards: number[];
  metrics: Record<string, number>;
  input_ids: number[][];
  attention_mask: number[][];
  grads: Record<string, GradSummary>;
  score_grad: number[];
}
interface Parity {
  pad_token_id: number;
  score_weight: number[];
  margins: number[];
  center_rewards_coefficient: number;
  lora: { r: number; alpha: number; targets: string[] };
  cases: Record<'full' | 'full_margin_center' | 'lora' | 'lora_margin_center', Case>;
  text_rows: unknown[];
  text_ids: { chosen_ids: number[]; rejected_ids: number[] }[];
}

const parity = JSON.parse(
  readFileSync(join(repoRoot, 'test', 'fixtures', 'rm-parity.json'), 'utf8'),
) as Parity;

function rmOptions(
  mode: TrainMode,
  over: Partial<RewardTrainerOptions> = {},
): RewardTrainerOptions {
  return {
    mode,
    optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 },
    learningRate: 1e-3,
    lrSchedule: 'constant',
    warmupSteps: 0,
    epochs: 1,
    batchSize: 2,
    gradAccum: 1,
    seed: 0,
    ...over,
  };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

/** hf-tiny's tiny-llama as TRL's reward model: its decoder and the fixture's score head. */
function tinyRewardModel(root: string): { base: LoadedModel; rm: LoadedModel } {
  const base = loadModel(join(root, 'tiny-llama'));
  const rm = asRewardModel(base, parity.pad_token_id, 0);
  const score = Float32Array.from(parity.score_weight);
  const weights = {
    get: (key: string) =>
      key === SCORE_WEIGHT ? { dims: [1, score.length], data: score } : rm.weights.get(key),
  };
  return { base, rm: { ...rm, weights } };
}

const pairRows = (root: string, margins: boolean): unknown[] =>
  readFileSync(join(root, 'pairs.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => ({
      ...(JSON.parse(l) as object),
      ...(margins ? { margin: parity.margins[i] } : {}),
    }));

for (const name of ['full', 'full_margin_center', 'lora', 'lora_margin_center'] as const) {
  test(`${name}: rewards, loss, metrics and gradients match TRL's RewardTrainer`, async (t) => {
    const root = fixture(t, 'hf-tiny');
    if (!root) return;
    const ref = parity.cases[name];
    const lora = name.startsWith('lora');
    const centered = name.endsWith('center');
    const { base, rm } = tinyRewardModel(root);
    const { pairs, dropped } = tokenizeRewardRows(
      base.tokenizer,
      pairRows(root, centered),
      [],
      1024,
    );
    assert.deepEqual(dropped, []);
    // The same token ids as TRL's tokenization, so what follows compares the math.
    const unpadded = ref.input_ids.map((ids, r) => ids.filter((_, i) => ref.attention_mask[r][i]));
    assert.deepEqual(
      [...pairs.map((p) => p.chosenIds), ...pairs.map((p) => p.rejectedIds)],
      unpadded,
    );
    const mode: TrainMode = lora
      ? {
          kind: 'lora',
          lora: { r: parity.lora.r, alpha: parity.lora.alpha, targets: DEFAULT_LORA_TARGETS },
        }
      : { kind: 'full' };
    const adapter = lora
      ? loadLoraAdapter(join(root, 'dpo', 'tiny-llama', 'lora-adapter'))
      : undefined;
    const trainer = await RewardTrainer.create(
      rm,
      rmOptions(
        mode,
        centered ? { centerRewardsCoefficient: parity.center_rewards_coefficient } : {},
      ),
      parity.pad_token_id,
      adapter,
    );
    try {
      const g = await trainer.gradients(pairs);
      assert.ok(rel(g.loss, ref.loss) < 1e-4, `loss ${g.loss} vs ${ref.loss}`);
      ref.rewards.forEach((r, i) =>
        assert.ok(rel(g.rewards[i], r) < 1e-4, `reward ${i}: ${g.rewards[i]} vs ${r}`),
      );
      for (const k of ['accuracy', 'margin', 'min_reward', 'mean_reward', 'max_reward'])
        assert.ok(
          Math.abs(g.metrics[k] - ref.metrics[k]) <= 1e-4 * Math.max(1, Math.abs(ref.metrics[k])),
          `${k}: ${g.metrics[k]} vs ${ref.metrics[k]}`,
        );
      let worst = 0;
      for (const [n, s] of Object.entries(ref.grads))
        worst = Math.max(worst, compareGrad(n, g.grads.get(n), s, 1e-3));
      const score = g.grads.get(SCORE_WEIGHT)!;
      const scoreMax = Math.max(...ref.score_grad.map(Math.abs));
      const scoreDiff = Math.max(...ref.score_grad.map((v, i) => Math.abs(score[i] - v)));
      assert.ok(scoreDiff / scoreMax < 1e-3, `score.weight: ${scoreDiff} of ${scoreMax}`);
      t.diagnostic(
        `loss rel ${rel(g.loss, ref.loss).toExponential(2)}, worst grad ${Math.max(worst, scoreDiff / scoreMax).toExponential(2)}`,
      );
    } finally {
      await trainer.close();
      base.close();
    }
  });
}

test("plain-text and implicit-prompt rows tokenize as TRL's RewardTrainer does", (t) => {
  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  const base = loadModel(join(root, 'tiny-llama'));
  try {
    const { pairs } = tokenizeRewardRows(base.tokenizer, parity.text_rows, []);
    assert.deepEqual(
      pairs.map((p) => ({ chosen_ids: p.chosenIds, rejected_ids: p.rejectedIds })),
      parity.text_ids,
    );
  } finally {
    base.close();
  }
});

test('the saved checkpoint scores as TRL does: any padding, and a trailing pad id skipped as transformers does', async (t) => {
  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  const { base, rm } = tinyRewardModel(root);
  const dir = join(mkdtempSync(join(tmpdir(), 'rlaif-rm-save-')), 'rm');
  saveRewardModel(dir, rm, { kind: 'full' }, new Map());
  base.close();
  const scorer = await RewardModelScorer.open(dir, { batchSize: 4 });
  try {
    assert.equal(scorer.padId, parity.pad_token_id);
    const ref = parity.cases.full;
    const seqs = ref.input_ids.map((ids, r) => ids.filter((_, i) => ref.attention_mask[r][i]));
    const together = await scorer.scoreIds(seqs);
    together.forEach((x, i) =>
      assert.ok(rel(x, ref.rewards[i]) < 1e-4, `${x} vs ${ref.rewards[i]}`),
    );
    // Alone (no padding at all), each sequence gets the reward it got in the padded batch.
    for (const [i, ids] of seqs.entries()) {
      const [alone] = await scorer.scoreIds([ids]);
      assert.ok(Math.abs(alone - together[i]) < 1e-5, `row ${i}: ${alone} vs ${together[i]}`);
    }
    // transformers reads the last id that is not pad_token_id: a trailing pad token (pad = eos
    // and a text ending in eos) leaves the reward of the sequence without it.
    const [withPad] = await scorer.scoreIds([[...seqs[3], parity.pad_token_id]]);
    assert.ok(Math.abs(withPad - together[3]) < 1e-5, `${withPad} vs ${together[3]}`);
  } finally {
    await scorer.close();
  }
});

test('two micro-batches of one pair make the same step as one batch of two', async (t) => {
  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  const { base, rm } = tinyRewardModel(root);
  const { pairs } = tokenizeRewardRows(base.tokenizer, pairRows(root, true), []);
  const stepOf = async (over: Partial<RewardTrainerOptions>, micro: (typeof pairs)[]) => {
    const opts = rmOptions({ kind: 'full' }, { centerRewardsCoefficient: 0.1, ...over });
    const trainer = await RewardTrainer.create(rm, opts, parity.pad_token_id);
    try {
      const m = await trainer.step(micro, 1, 1);
      return { m, embed: Float32Array.from(trainer.params.get('model.embed_tokens.weight')!) };
    } finally {
      await trainer.close();
    }
  };
  try {
    const one = await stepOf({}, [pairs]);
    const two = await stepOf({ batchSize: 1, gradAccum: 2 }, [[pairs[0]], [pairs[1]]]);
    for (const k of [
      'loss',
      'grad_norm',
      'accuracy',
      'margin',
      'min_reward',
      'mean_reward',
      'max_reward',
    ])
      assert.ok(
        Math.abs(one.m[k] - two.m[k]) < 1e-5 * Math.max(1, Math.abs(one.m[k])),
        `${k}: ${one.m[k]} vs ${two.m[k]}`,
      );
    assert.equal(one.m.num_tokens, two.m.num_tokens);
    let diff = 0;
    for (let i = 0; i < one.embed.length; i++)
      diff = Math.max(diff, Math.abs(one.embed[i] - two.embed[i]));
    assert.ok(diff < 1e-6, `updated weights differ by ${diff}`);
  } finally {
    base.close();
  }
});
