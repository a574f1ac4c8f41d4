// `pipeline train-rm` end to end: it trains on a tiny dataset, writes a checkpoint whose config is
// what transformers' AutoModelForSequenceClassification expects, and that checkpoint, loaded back
// with RewardModelScorer, gives the rewards the trained graph gave. Bad inputs fail with a code,
// a message and a hint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPipelineError } from '../../src/core/errors.js';
import { RewardModelScorer, type RewardModelOutcome } from '../../src/engine/index.js';
import { loadModel } from '../../src/engine/model/load-model.js';
import { SafetensorsFile } from '../../src/engine/model/safetensors.js';
import { modelTensorNames } from '../../src/engine/model/tensor-layout.js';
import { tokenizeRewardRows } from '../../src/engine/train/reward-model/rm-rows.js';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';

const env = { RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')) };

const TOPICS = ['cats', 'rain', 'tea', 'maps', 'bread', 'snow', 'bees', 'kites'];
const rows = (topics: string[]) =>
  topics.map((t) => ({
    prompt: [{ role: 'user', content: `Tell me about ${t}.` }],
    chosen: [{ role: 'assistant', content: `${t} are lovely, thank you.` }],
    rejected: [{ role: 'assistant', content: `${t} are awful, go away.` }],
  }));

function jsonl(dir: string, name: string, values: unknown[]): string {
  const file = join(dir, name);
  writeFileSync(file, values.map((v) => JSON.stringify(v)).join('\n') + '\n');
  return file;
}

async function rejectsWith(p: Promise<unknown>, code: string, mention: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isPipelineError(e), `expected a PipelineError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, mention);
    assert.ok(e.hint, 'every error carries a hint');
    return true;
  });
}

test('train-rm writes a LlamaForSequenceClassification checkpoint that reloads to the trained rewards', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-rm-cli-'));
  const train = rows(TOPICS.slice(0, 6));
  const data = jsonl(dir, 'pairs.jsonl', train);
  const held = jsonl(dir, 'held.jsonl', rows(TOPICS.slice(6)));
  const out = join(dir, 'rm');
  const args = ['train-rm', '--data', data, '--eval-data', held, '--out', out];
  const flags = ['--max-steps', '4', '--batch-size', '3', '--learning-rate', '1e-3', '--json'];
  const r = runCli([...args, ...flags, '--center-rewards-coefficient', '0.01'], { env });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const steps = lines.filter((l) => 'step' in l);
  assert.equal(steps.length, 4);
  for (const k of ['loss', 'accuracy', 'margin', 'min_reward', 'mean_reward', 'max_reward'])
    assert.equal(typeof steps[0][k], 'number', k);
  const evalLine = lines.find((l) => 'eval_accuracy' in l)!;
  assert.equal(evalLine.eval_pairs, 2);
  const { outcome } = lines[lines.length - 1] as { outcome: RewardModelOutcome };
  assert.equal(outcome.kind, 'lora');
  assert.ok(existsSync(join(out, 'adapter', 'adapter_model.safetensors')));

  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  assert.deepEqual(config.architectures, ['LlamaForSequenceClassification']);
  assert.equal(config.num_labels, 1);
  assert.deepEqual(config.id2label, { '0': 'LABEL_0' });
  assert.deepEqual(config.label2id, { LABEL_0: 0 });
  assert.equal(config.pad_token_id, 0);
  const adapter = JSON.parse(readFileSync(join(out, 'adapter', 'adapter_config.json'), 'utf8')) as {
    task_type: string;
    modules_to_save: string[];
  };
  assert.equal(adapter.task_type, 'SEQ_CLS');
  assert.deepEqual(adapter.modules_to_save, ['score']);

  // The first batch's rewards from the trainer's graph after the last step, against the
  // checkpoint loaded back here.
  const scorer = await RewardModelScorer.open(out);
  try {
    const { pairs } = tokenizeRewardRows(scorer.model.tokenizer, train.slice(0, 3), []);
    const { chosen, rejected } = await scorer.scorePairs(pairs);
    const loaded = [...chosen, ...rejected];
    outcome.check.trained.forEach((x, i) =>
      assert.ok(Math.abs(loaded[i] - x) < 1e-4, `reward ${i}: ${loaded[i]} vs ${x}`),
    );
    // Scoring prompt-completion rows reads the same sequences as the pairs' chosen sides.
    const viaRows = await scorer.scoreRows(
      train.slice(0, 3).map((p) => ({ prompt: p.prompt, completion: p.chosen })),
    );
    viaRows.forEach((x, i) => assert.ok(Math.abs(x - chosen[i]) < 1e-6));
  } finally {
    await scorer.close();
  }
});

test('train-rm --full writes every weight and score.weight; rows without chosen/rejected fail at file:line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-rm-cli-'));
  const out = join(dir, 'rm');
  const data = jsonl(dir, 'pairs.jsonl', rows(TOPICS.slice(0, 2)));
  const r = runCli(['train-rm', '--data', data, '--out', out, '--full', '--max-steps', '1'], {
    env,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /step 1\/1 {2}loss \S+ {2}accuracy/);
  assert.ok(!existsSync(join(out, 'adapter')));
  const file = SafetensorsFile.open(join(out, 'model.safetensors'));
  try {
    const rm = loadModel(out);
    assert.deepEqual(file.names().sort(), modelTensorNames(rm.config).sort());
    assert.ok(file.names().includes('score.weight'));
    assert.ok(!file.names().includes('lm_head.weight'));
    rm.close();
  } finally {
    file.close();
  }

  const bad = jsonl(dir, 'bad.jsonl', [
    ...rows(['tea']),
    { prompt: 'Tell me about tea.', completion: 'Tea is nice.' },
  ]);
  const e = runCli(['train-rm', '--data', bad, '--out', join(dir, 'x'), '--max-steps', '1'], {
    env,
  });
  assert.notEqual(e.status, 0);
  assert.match(e.stderr, /bad\.jsonl:2: missing 'chosen'/);
  assert.match(e.stderr, /prompt-completion|preference rows/);
  assert.doesNotMatch(e.stderr, /at .*\.js:\d+/, 'no stack trace without --debug');
});

test('the scorer refuses a causal LM, and a classifier config whose checkpoint has no score.weight', async (t) => {
  const root = fixture(t, 'hf-tiny');
  if (!root) return;
  await rejectsWith(
    RewardModelScorer.open(join(root, 'tiny-llama')),
    'E_RM_NO_SCORE_HEAD',
    /without a score head, not a reward model/,
  );
  const dir = join(mkdtempSync(join(tmpdir(), 'rlaif-rm-noscore-')), 'm');
  cpSync(join(root, 'tiny-llama'), dir, { recursive: true });
  const cfgPath = join(dir, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(
    cfgPath,
    JSON.stringify({ ...cfg, architectures: ['LlamaForSequenceClassification'], num_labels: 1 }),
  );
  await rejectsWith(RewardModelScorer.open(dir), 'E_CHECKPOINT_MISMATCH', /score\.weight/);
  assert.throws(
    () => loadModel(dir),
    (e: unknown) => isPipelineError(e) && /score\.weight/.test(e.hint ?? ''),
  );
});
