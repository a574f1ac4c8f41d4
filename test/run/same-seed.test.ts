// Issue 13, "same file, same seed, same judgements": two fresh runs of one pipeline file with a
// sampled self-judge store the same judgements. On 4034049 the judge seeds were derived from
// run-scoped ids, so every sampled judgement differed between the runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

const env = { RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')) };

/** Every judgement by content (prompt, candidate text, sample, verdict), without ids or times. */
function judgements(root: string): unknown[] {
  const [id] = readdirSync(root);
  const db = new Database(join(root, id, 'run.sqlite'), { readonly: true });
  try {
    return db
      .prepare(
        `SELECT p.messages, c.idx, c.text, j.sample_idx, j.rendered_prompt, j.raw_output,
            j.score, j.parse_error
         FROM judgements j JOIN candidates c ON c.id = j.candidate_id
           JOIN prompts p ON p.id = c.prompt_id
         ORDER BY p.messages, c.idx, j.sample_idx`,
      )
      .all();
  } finally {
    db.close();
  }
}

test('same file, same seed: two fresh runs store identical sampled self-judgements', () => {
  const roots = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'rlaif-same-')));
  for (const root of roots) {
    const r = runCli(['run', fromRoot('test/fixtures/same-seed.yaml'), '--root', root], {
      env,
      timeoutMs: 300_000,
    });
    assert.equal(r.status, 0, r.stderr);
  }
  const [a, b] = roots.map(judgements);
  assert.equal(a.length, 3 * 2 * 2, '3 prompts x 2 candidates x 2 samples');
  // the judge samples at temperature 1: identical texts mean identical seeds, not greedy decoding
  assert.deepEqual(a, b);
});
