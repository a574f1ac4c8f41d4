// Issue 13 end to end on builtin:tiny (real processes, real SQLite): the drift KL is the k3
// estimate (never negative), the summary's parse failures are the judge stage's (every sample
// of a K-sample judge), and resuming a finished run shows its results and its verdict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/run-store.js';
import { runCli } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

const env = { RLAIF_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rlaif-cache-')) };

test('k3 KL, the judge stage count in the summary, and a resumed finished run', () => {
  const root = mkdtempSync(join(tmpdir(), 'rlaif-honest-'));
  const file = fromRoot('test/fixtures/honest.yaml');
  const r = runCli(['run', file, '--root', root], { env, timeoutMs: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const [id] = readdirSync(root);
  const store = openStore(join(root, id, 'run.sqlite'), { readonly: true });
  const kl = store.evalMetrics().find((m) => m.metric === 'kl' && m.round === 1)!;
  const judge = store.stagesForRound(1).find((s) => s.kind === 'judge')!;
  store.close();
  assert.ok(kl.value! >= 0, `kl ${kl.value}`);
  assert.equal(kl.detail?.estimator, 'k3');
  const failures = judge.counts!.parse_failures;
  // two samples per candidate: the self judge's unparseable answers are counted per sample
  assert.ok(failures > 0, 'the tiny self judge fails to parse');
  assert.match(
    r.stdout,
    new RegExp(
      `^round 1: .*parse_failures ${failures} of ${judge.counts!.judgements} judgements`,
      'm',
    ),
  );
  assert.match(r.stdout, /^(IMPROVED|UNCHANGED|WORSE): mean_score \(anchor judge rules\)/);

  const again = runCli(['run', file, '--root', root, '--resume', id], { env, timeoutMs: 120_000 });
  assert.equal(again.status, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /no results/);
  assert.match(again.stdout, /^round 1: pairs \d+\/\d+ kept; loss /m);
  assert.match(again.stdout, new RegExp(`parse_failures ${failures} of`));
  assert.match(again.stdout, /^(IMPROVED|UNCHANGED|WORSE): mean_score/);
});
