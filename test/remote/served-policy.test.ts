// Issue 14, the policy backend: one pipeline run in-process and again with model.backend: openai
// against `pipeline serve` (the stand-in for vLLM: same completions API, same runtime LoRA API),
// started here. Every candidate, judgement, pair, training step and evaluation metric the two
// runs store must be the same: prompts go to the server as the token ids the engine would feed,
// samples come back as ids with their log-probs, and seeds travel per request, so every text and
// token id agrees exactly. Numbers agree to 1e-6 relative, not to the last digit, for two
// reasons: the served policy sends a stage's prompts concurrently and the server decodes them in
// one batch, whose float32 rounding differs from a lone prompt's (~1e-8); and it reads log-probs
// through echo, i.e. the server's full-sequence log-prob graph, where the in-process log-prob judge
// reads the decoder's last logits (~1e-7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Engine } from '../../src/engine/index.js';
import { startServer } from '../../src/serve/server.js';
import { runCliAsync } from '../helpers/cli.js';
import { fromRoot, repoRoot } from '../helpers/paths.js';
import { servedFixture } from '../helpers/served-fixture.js';

const FIXTURE = fromRoot('test/fixtures/served-policy.yaml');
const env = { RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')) };

const TOL = 1e-6;

/** Equal, numbers to TOL relative (also inside JSON text), everything else exactly. */
function assertClose(a: unknown, b: unknown, at = '$'): void {
  if (typeof a === 'number' && typeof b === 'number') {
    assert.ok(
      Math.abs(a - b) <= TOL * Math.max(1, Math.abs(a), Math.abs(b)),
      `${at}: ${a} vs ${b}`,
    );
    return;
  }
  if (typeof a === 'string' && typeof b === 'string' && a !== b && /^[[{]/.test(a)) {
    return assertClose(JSON.parse(a), JSON.parse(b), at);
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    assert.deepEqual(Object.keys(b), Object.keys(a), `${at}: keys`);
    for (const k of Object.keys(a))
      assertClose(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        `${at}.${k}`,
      );
    return;
  }
  assert.equal(b, a, at);
}

/** What a run stored, by content: no ids, times or paths. */
function stored(root: string) {
  const [id] = readdirSync(root);
  const db = new Database(join(root, id, 'run.sqlite'), { readonly: true });
  const all = (sql: string) => db.prepare(sql).all();
  try {
    return {
      candidates: all(
        `SELECT c.round, p.messages, c.idx, c.origin, c.text, c.token_ids, c.logprobs_sum,
           c.finish_reason, c.seed
         FROM candidates c JOIN prompts p ON p.id = c.prompt_id
         ORDER BY c.round, p.messages, c.origin, c.idx`,
      ),
      judgements: all(
        `SELECT j.round, c.text, j.judge_id, j.mode, j.score, j.raw_output, j.detail
         FROM judgements j JOIN candidates c ON c.id = j.candidate_id
         ORDER BY j.round, c.text, j.judge_id, j.sample_idx`,
      ),
      pairs: all(
        `SELECT p.round, ch.text AS chosen, rj.text AS rejected, p.chosen_score, p.rejected_score
         FROM pairs p JOIN candidates ch ON ch.id = p.chosen_candidate_id
           JOIN candidates rj ON rj.id = p.rejected_candidate_id
         ORDER BY p.round, chosen, rejected`,
      ),
      // without the step's speed, which no two runs share
      steps: all(`SELECT round, step, metrics FROM train_steps ORDER BY round, step`).map((r) => {
        const row = r as { metrics: string };
        const m = JSON.parse(row.metrics) as Record<string, unknown>;
        for (const k of Object.keys(m)) if (/per_s|_ms$|seconds|runtime/.test(k)) delete m[k];
        return { ...row, metrics: m };
      }),
      metrics: all(`SELECT round, metric, value FROM eval_metrics ORDER BY round, metric`),
    };
  } finally {
    db.close();
  }
}

test('a served policy stores what the in-process policy stores', async () => {
  // threads as the pipeline's own engines use them (the default), so the numbers can agree
  const open = (adapter?: string) => Engine.open('builtin:tiny', { adapter });
  const loaded: string[] = [];
  const server = await startServer(
    {
      engine: await open(),
      modelName: 'tiny',
      openAdapter: (p) => {
        loaded.push(p);
        return open(p);
      },
    },
    { host: '127.0.0.1', port: 0 },
  );
  try {
    const roots = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'rlaif-served-run-')));
    const local = await runCliAsync(['run', FIXTURE, '--root', roots[0]], env, 300_000);
    assert.equal(local.status, 0, local.stderr);
    const file = servedFixture(`${server.url}/v1`);
    const served = await runCliAsync(
      ['run', file, '--root', roots[1], '--allow-path', repoRoot],
      env,
      300_000,
    );
    assert.equal(served.status, 0, served.stderr);

    const [a, b] = roots.map(stored);
    assert.ok(a.candidates.length > 0 && a.pairs.length > 0 && a.steps.length > 0);
    assert.ok(a.metrics.some((m) => (m as { metric: string }).metric === 'kl'));
    assertClose(a.candidates, b.candidates, 'candidates');
    assertClose(a.judgements, b.judgements, 'judgements');
    assertClose(a.pairs, b.pairs, 'pairs');
    assertClose(a.steps, b.steps, 'steps');
    assertClose(a.metrics, b.metrics, 'metrics');
    // round 1's adapter was loaded into the server for round 2 and its evaluation
    assert.ok(
      loaded.some((p) => p.endsWith(join('round-1', 'policy'))),
      loaded.join(', '),
    );
    // and unloaded when the run ended: only the base model is left
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as {
      data: { id: string }[];
    };
    assert.deepEqual(
      models.data.map((m) => m.id),
      ['tiny'],
    );
  } finally {
    await server.drain();
  }
});
