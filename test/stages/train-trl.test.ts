// The TRL trainer backend against the real TRL (scripts/trl/train_dpo.py in .venv-trl, built by
// scripts/trl-venv.sh): its first step equals the in-process trainer's on the same pairs (loss,
// rewards, log-probs), the adapter it saves loads and generates in our engine, and its failures
// are clear errors (a python without TRL, a launcher that exits non-zero).
//
// Parity setup (TRL launched by `accelerate launch`): both backends continue the fixture's PEFT adapter (B non-zero, so the first step's
// log-probs are not the base's) against the initial model as reference, one step over both pairs
// in one batch (TRL shuffles with its own sampler; a mean over the whole batch does not depend on
// the order). Tokenization follows the engine's convention in both (scripts/trl/train_dpo.py).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPipelineError } from '../../src/core/errors.js';
import { Engine, type StepMetrics, type TrainJob } from '../../src/engine/index.js';
import { runTraining } from '../../src/engine/train/run-training.js';
import { TRL_DEFAULTS } from '../../src/spec/schema.js';
import { trainWithTrl } from '../../src/stages/train-trl/run-trl.js';
import { checkTrlPython } from '../../src/stages/train-trl/trl-python.js';
import { fixture } from '../helpers/fixtures.js';
import { accelerateLaunch, trlPython } from '../helpers/trl.js';

const tmp = mkdtempSync(join(tmpdir(), 'train-trl-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const COMPARED = [
  'loss',
  'rewards/chosen',
  'rewards/rejected',
  'rewards/margins',
  'rewards/accuracies',
  'logps/chosen',
  'logps/rejected',
  'learning_rate',
];

function job(root: string, out: string): TrainJob {
  const rows = readFileSync(join(root, 'pairs.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);
  return {
    model: join(root, 'tiny-llama'),
    adapter: join(root, 'dpo', 'tiny-llama', 'lora-adapter'),
    refModel: join(root, 'tiny-llama'),
    rows,
    labels: rows.map((_, i) => `pairs.jsonl:${i + 1}`),
    out,
    full: false,
    lora: { r: 4, alpha: 8, targets: ['q_proj'] }, // the adapter's own shape wins
    losses: ['sigmoid'],
    lossWeights: [1],
    lossOptions: {
      beta: 0.1,
      labelSmoothing: 0,
      simpoGamma: 0.5,
      desirableWeight: 1,
      undesirableWeight: 1,
    },
    optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 },
    learningRate: 1e-3,
    lrSchedule: 'constant',
    warmupSteps: 0,
    epochs: 1,
    maxSteps: 1,
    batchSize: 2,
    gradAccum: 1,
    maxLength: 512,
    seed: 3,
    merge: false,
    threads: 2,
  };
}

describe('TRL backend on the hf-tiny fixtures', () => {
  let python: string | undefined;
  let root: string | undefined;
  let trl: { steps: StepMetrics[]; out: string; events: number } | undefined;
  let engine: { steps: StepMetrics[]; out: string } | undefined;

  test('first step: loss, rewards and log-probs equal the in-process trainer within 1e-4', async (t) => {
    python = trlPython(t);
    root = fixture(t, 'hf-tiny');
    if (!python || !root) return;
    const trlOut = join(tmp, 'trl-policy');
    let events = 0;
    const t0 = Date.now();
    const outcome = await trainWithTrl(
      job(root, trlOut),
      // through `accelerate launch`, as on a cluster (the other tests run the python directly)
      {
        trl: { ...TRL_DEFAULTS, python, launch: accelerateLaunch(python) },
        baseDir: tmp,
        dir: join(tmp, 'trl'),
      },
      (e) => {
        if (e.type === 'step') events++;
      },
    );
    const trlMs = Date.now() - t0;
    trl = { steps: outcome.steps, out: trlOut, events };
    const mine = await runTraining(job(root, join(tmp, 'engine-policy')));
    engine = { steps: mine.steps, out: mine.out };
    t.diagnostic(`TRL launch ${trlMs} ms`);
    assert.equal(trl.steps.length, 1);
    assert.equal(events, 1, 'the step streamed while TRL ran');
    const [a, b] = [trl.steps[0], engine.steps[0]];
    t.diagnostic(`TRL ${JSON.stringify(a)}`);
    t.diagnostic(`engine ${JSON.stringify(b)}`);
    for (const k of COMPARED) {
      assert.equal(typeof a[k], 'number', `TRL logged ${k}`);
      const tol = 1e-4 * Math.max(1, Math.abs(b[k]));
      assert.ok(Math.abs(a[k] - b[k]) <= tol, `${k}: TRL ${a[k]} vs engine ${b[k]}`);
    }
    // the gradient norm comes from the backward passes, which sum in a different order
    assert.ok(
      Math.abs(a.grad_norm - b.grad_norm) <= 1e-3 * b.grad_norm,
      `grad_norm: TRL ${a.grad_norm} vs engine ${b.grad_norm}`,
    );
    assert.ok(a['rewards/chosen'] !== 0, 'the adapter moved the policy away from the reference');
    const logged = readFileSync(join(trlOut, 'train_metrics.jsonl'), 'utf8').trim().split('\n');
    assert.equal(logged.length, 1, 'train_metrics.jsonl as the in-process trainer writes it');
  });

  test('the adapter TRL saved loads in our engine, scores like the in-process one, and generates', async (t) => {
    if (!trl || !engine || !root) return t.skip('needs the parity test');
    assert.ok(existsSync(join(trl.out, 'adapter_model.safetensors')));
    assert.ok(existsSync(join(trl.out, 'adapter_config.json')));
    const base = join(root, 'tiny-llama');
    const pair = JSON.parse(readFileSync(join(root, 'pairs.jsonl'), 'utf8').split('\n')[0]) as {
      prompt: { role: string; content: string }[];
      chosen: { role: string; content: string }[];
    };
    const text = { messages: [...pair.prompt, ...pair.chosen] };
    const sum = async (adapter?: string) => {
      const e = await Engine.open(base, { adapter, threads: 2 });
      try {
        const [lp] = await e.promptLogprobs([text]);
        const gen = await e.generate([{ messages: pair.prompt }], {
          n: 1,
          maxNewTokens: 8,
          seed: 1,
          temperature: 0,
          topP: 1,
          topK: 0,
          greedy: true,
          stopStrings: [],
          ignoreEos: true,
        });
        assert.equal(gen.results[0].completions[0].tokenIds.length, 8);
        return lp.logprobs.reduce<number>((s, x) => s + (x ?? 0), 0);
      } finally {
        await e.close();
      }
    };
    const [viaTrl, viaEngine, start] = [
      await sum(trl.out),
      await sum(engine.out),
      await sum(join(root, 'dpo', 'tiny-llama', 'lora-adapter')),
    ];
    t.diagnostic(`sum log p: TRL adapter ${viaTrl}, engine adapter ${viaEngine}, start ${start}`);
    assert.ok(Math.abs(viaTrl - start) > 1e-3, 'the step changed the adapter');
    assert.ok(
      Math.abs(viaTrl - viaEngine) <= 1e-3 * Math.abs(viaEngine),
      'one AdamW step in TRL and in the engine land in the same place',
    );
  });
});

test('full fine-tune: the first step equals the in-process one, the checkpoint loads in the engine', async (t) => {
  const python = trlPython(t);
  const root = fixture(t, 'hf-tiny');
  if (!python || !root) return;
  // every weight trains, from the fixture's perturbed policy, against tiny-llama as reference:
  // not TRL's implicit reference (a copy of the policy), so the script passes ref_model
  const full = (out: string): TrainJob => ({
    ...job(root, out),
    model: join(root, 'dpo', 'tiny-llama', 'policy'),
    adapter: undefined,
    full: true,
    learningRate: 1e-4,
  });
  const trlOut = join(tmp, 'trl-full');
  const a = await trainWithTrl(full(trlOut), {
    trl: { ...TRL_DEFAULTS, python },
    baseDir: tmp,
    dir: join(tmp, 'trl-full-work'),
  });
  const b = await runTraining(full(join(tmp, 'engine-full')));
  for (const k of COMPARED) {
    const tol = 1e-4 * Math.max(1, Math.abs(b.steps[0][k]));
    assert.ok(
      Math.abs(a.steps[0][k] - b.steps[0][k]) <= tol,
      `${k}: TRL ${a.steps[0][k]} vs engine ${b.steps[0][k]}`,
    );
  }
  const expected = JSON.parse(
    readFileSync(join(root, 'dpo', 'tiny-llama', 'expected.json'), 'utf8'),
  ) as { full: { loss: number } };
  assert.ok(Math.abs(a.steps[0].loss - expected.full.loss) < 1e-5, "the fixture's PyTorch loss");
  assert.equal(a.checkpointDir, trlOut);
  const pair = JSON.parse(readFileSync(join(root, 'pairs.jsonl'), 'utf8').split('\n')[0]) as {
    prompt: { role: string; content: string }[];
    chosen: { role: string; content: string }[];
  };
  const sum = async (dir: string) => {
    const e = await Engine.open(dir, { threads: 2 });
    try {
      const [lp] = await e.promptLogprobs([{ messages: [...pair.prompt, ...pair.chosen] }]);
      return lp.logprobs.reduce<number>((s, x) => s + (x ?? 0), 0);
    } finally {
      await e.close();
    }
  };
  const [viaTrl, viaEngine] = [await sum(trlOut), await sum(b.out)];
  t.diagnostic(`sum log p after one step: TRL ${viaTrl}, engine ${viaEngine}`);
  assert.ok(Math.abs(viaTrl - viaEngine) <= 1e-4 * Math.abs(viaEngine));
});

describe('TRL backend failures', () => {
  test('a python without TRL: a clear error with the install hint', (t) => {
    const python = trlPython(t);
    if (!python) return;
    // the same interpreter without site-packages: Python runs, the packages are missing
    const bare = join(tmp, 'bare-python');
    writeFileSync(bare, `#!/bin/sh\nexec "${python}" -S "$@"\n`);
    chmodSync(bare, 0o755);
    assert.throws(
      () => checkTrlPython(bare, tmp),
      (e: unknown) =>
        isPipelineError(e) &&
        e.code === 'E_TRL_MISSING' &&
        /lacks torch, transformers, trl, peft/.test(e.message) &&
        /requirements-trl\.txt/.test(e.hint ?? ''),
    );
    assert.throws(
      () => checkTrlPython('no-such-python-here', tmp),
      (e: unknown) => isPipelineError(e) && e.code === 'E_TRL_PYTHON' && /ENOENT/.test(e.message),
    );
  });

  test('a launcher that exits non-zero: the error shows its last 20 stderr lines; one that cannot start says so', async (t) => {
    const python = trlPython(t);
    const root = fixture(t, 'hf-tiny');
    if (!python || !root) return;
    const out = join(tmp, 'failed-policy');
    const script = 'for i in $(seq 1 30); do echo "trl line $i" >&2; done; exit 3';
    await assert.rejects(
      trainWithTrl(job(root, out), {
        trl: { ...TRL_DEFAULTS, python, launch: ['sh', '-c', script, 'launcher'] },
        baseDir: tmp,
        dir: join(tmp, 'failed-trl'),
      }),
      (e: unknown) => {
        assert.ok(isPipelineError(e));
        assert.equal(e.code, 'E_TRL_FAILED');
        assert.match(e.message, /exit 3/);
        assert.match(e.message, /trl line 11\n[^]*trl line 30$/);
        assert.doesNotMatch(e.message, /trl line 10\n/);
        assert.match(e.hint ?? '', /train\.log/);
        return true;
      },
    );
    assert.ok(!existsSync(join(out, 'adapter_model.safetensors')), 'nothing adopted');
    await assert.rejects(
      trainWithTrl(job(root, out), {
        trl: { ...TRL_DEFAULTS, python, launch: ['./no-such-launcher', 'launch'] },
        baseDir: tmp,
        dir: join(tmp, 'failed-trl'),
      }),
      (e: unknown) =>
        isPipelineError(e) &&
        e.code === 'E_TRL_LAUNCH' &&
        /no-such-launcher: ENOENT/.test(e.message),
    );
  });
});
