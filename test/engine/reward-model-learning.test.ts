// A reward model must learn: on builtin:tiny (random weights, a new score head), LoRA training on
// a separable preference (chosen answers are polite, rejected ones rude, in several phrasings)
// ranks held-out pairs about unseen topics correctly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LORA_TARGETS } from '../../src/engine/train/lora.js';
import { runRewardModelTraining } from '../../src/engine/train/reward-model/run-rm-training.js';

// prettier-ignore
const TOPICS = [
  'cats', 'dogs', 'rain', 'music', 'tea', 'trains', 'maps', 'boats', 'bread', 'clocks', 'snow',
  'paint', 'rivers', 'bees', 'chess', 'kites', 'soup', 'bikes', 'stars', 'ships', 'lamps', 'roses',
  'tents', 'drums', 'wolves', 'apples', 'hills', 'pens', 'owls', 'gold', 'sand', 'wind', 'frogs',
  'caves', 'socks', 'pianos',
];

// Polite (chosen) and rude (rejected) answers, three phrasings: the rule is the tone, not a template.
const FORMS: [(t: string) => string, (t: string) => string][] = [
  [(t) => ` ${t} are lovely, thank you.`, (t) => ` ${t} are awful, go away.`],
  [(t) => ` Thank you for asking about ${t}.`, (t) => ` I will not talk about ${t}.`],
  [(t) => ` Happy to help: ${t} are fun.`, (t) => ` No. ${t} are boring.`],
];

const rows = (topics: string[]) =>
  topics.map((t, i) => {
    const [chosen, rejected] = FORMS[i % FORMS.length];
    return { prompt: `Tell me about ${t}.`, chosen: chosen(t), rejected: rejected(t) };
  });

test('LoRA reward model on builtin:tiny ranks held-out pairs about unseen topics (accuracy ≥ 0.9)', async (t) => {
  const train = rows(TOPICS.slice(0, 24));
  const heldOut = rows(TOPICS.slice(24));
  const t0 = performance.now();
  const outcome = await runRewardModelTraining({
    model: 'builtin:tiny',
    rows: train,
    labels: [],
    evalRows: heldOut,
    out: join(mkdtempSync(join(tmpdir(), 'rlaif-rm-learn-')), 'rm'),
    full: false,
    lora: { r: 8, alpha: 16, targets: DEFAULT_LORA_TARGETS },
    maxLength: 1024,
    optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 },
    learningRate: 1e-3,
    lrSchedule: 'constant',
    warmupSteps: 0,
    epochs: 1,
    maxSteps: 15,
    batchSize: 8,
    gradAccum: 1,
    seed: 0,
  });
  const first = outcome.steps[0];
  const last = outcome.steps[outcome.steps.length - 1];
  // A new head on random features: the first loss is about log 2, a coin flip.
  assert.ok(Math.abs(first.loss - Math.log(2)) < 0.1, `first loss ${first.loss}`);
  assert.ok(last.loss < 0.1, `last loss ${last.loss}`);
  assert.equal(last.accuracy, 1);
  assert.ok(outcome.eval, 'held-out metrics');
  assert.equal(outcome.eval.eval_pairs, heldOut.length);
  assert.ok(outcome.eval.eval_accuracy >= 0.9, `held-out accuracy ${outcome.eval.eval_accuracy}`);
  assert.ok(
    outcome.check.maxAbsDiff < 1e-4,
    `checkpoint rewards differ by ${outcome.check.maxAbsDiff}`,
  );
  t.diagnostic(
    `held-out accuracy ${outcome.eval.eval_accuracy} (margin ${outcome.eval.eval_margin.toFixed(2)}) after ${outcome.steps.length} steps, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
});
