// The ledger side of issue 13's resume checks: pinned inputs and accepted changes, and what a
// `--from-round` reset sets aside (kept, but out of the rounds' working sets).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { inputHash } from '../../src/store/hash.js';
import type { RunStore } from '../../src/store/run-store.js';
import { SAMPLING, seededStore, tempDir } from './fixtures.js';

const tmp = tempDir();
after(tmp.cleanup);
let n = 0;
const fresh = () => seededStore(join(tmp.dir, `r${++n}`, 'run.sqlite'));

function sample(store: RunStore, promptId: string, idx: number, ck: string): string {
  return store.addCandidate({
    round: 0,
    stageIndex: 0,
    promptId,
    idx,
    text: `answer ${idx} by ${ck}`,
    sampling: SAMPLING,
    checkpointId: ck,
    inputHash: inputHash('gen', promptId, idx, ck),
  });
}

test('inputs: pinned once, an accepted change is recorded and re-pins the file', () => {
  const { store } = fresh();
  const f = { path: '/p/prompts.jsonl', ref: 'prompts.file', contentHash: 'a'.repeat(64) };
  assert.equal(store.pinInputs([f]), 1);
  assert.equal(store.pinInputs([{ ...f, contentHash: 'b'.repeat(64) }]), 0, 'a pin is not moved');
  store.acceptChangedInput({
    path: f.path,
    oldHash: 'a'.repeat(64),
    newHash: 'c'.repeat(64),
    by: 'me@host',
  });
  assert.equal(store.pinnedInputs()[0].contentHash, 'c'.repeat(64));
  assert.deepEqual(
    store.inputChanges().map((c) => [c.oldHash[0], c.newHash[0], c.acceptedBy]),
    [['a', 'c', 'me@host']],
  );
  store.close();
});

test('a reset sets a checkpoint aside: its candidates and pairs leave the round, rows stay', () => {
  const { store, base } = fresh();
  const p = store.addPrompt({
    round: 0,
    source: 'seed',
    messages: [{ role: 'user', content: 'Hi' }],
    inputHash: inputHash('prompt', 'Hi'),
  });
  const old = store.addCheckpoint({
    round: 1,
    kind: 'adapter',
    path: 'round-1/policy',
    contentHash: '1'.repeat(64),
    parentId: base,
  });
  const [c0, c1] = [0, 1].map((i) => sample(store, p, i, old));
  store.addPair({
    round: 0,
    stageIndex: 2,
    promptId: p,
    chosenCandidateId: c0,
    rejectedCandidateId: c1,
    strategy: 'max-min',
    inputHash: 'pair',
  });
  assert.equal(store.candidatesForPrompt(0, p).length, 2);
  assert.equal(store.pairsForRound(0).length, 1);

  store.resetRounds({
    fromRound: 1,
    fromStage: 0,
    by: 'me@host',
    discards: [{ checkpointId: old, reason: 'altered' }],
  });
  assert.deepEqual([...store.discardedCheckpoints()], [old]);
  assert.equal(
    store.candidatesForPrompt(0, p).length,
    0,
    'set-aside candidates are not judged again',
  );
  assert.equal(store.pairsForRound(0).length, 0, 'set-aside pairs are not trained on');
  assert.ok(store.getCandidate(c0), 'but the rows are kept');
  const redone = store.addCheckpoint({
    round: 1,
    kind: 'adapter',
    path: 'round-1/policy',
    contentHash: '2'.repeat(64),
    parentId: base,
  });
  sample(store, p, 0, redone);
  assert.equal(store.candidatesForPrompt(0, p).length, 1);
  // retrained to the very bytes: the set-aside checkpoint counts again
  assert.equal(store.restoreCheckpoint(old), true);
  assert.equal(store.candidatesForPrompt(0, p).length, 3);
  store.close();
});
