import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PipelineError } from '../../src/core/errors.js';
import { inputHash } from '../../src/store/hash.js';
import { openStore, type RunStore } from '../../src/store/run-store.js';
import { PIPELINE_YAML, SAMPLING, seededStore, tempDir, throwsCode, tick } from './fixtures.js';

const tmp = tempDir();
after(tmp.cleanup);
let n = 0;
const fresh = () => join(tmp.dir, `r${++n}`, 'run.sqlite');

const count = (store: RunStore, table: string): number =>
  (store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

function addPrompt(store: RunStore, text = 'Hi', round = 0): string {
  return store.addPrompt({
    round,
    source: 'seed',
    messages: [{ role: 'user', content: text }],
    inputHash: inputHash('prompt', round, text),
  });
}

function addSample(store: RunStore, promptId: string, idx: number, ck: string, round = 0): string {
  return store.addCandidate({
    round,
    stageIndex: 0,
    promptId,
    idx,
    text: `answer ${idx}`,
    tokenIds: new Int32Array([1, 2, idx]),
    logprobsSum: -1.5 - idx,
    finishReason: 'stop',
    sampling: SAMPLING,
    seed: 100 + idx,
    checkpointId: ck,
    inputHash: inputHash('gen', round, promptId, idx, SAMPLING),
  });
}

describe('runs', () => {
  test('createRun stores the pipeline text and its hash, and binds the store', () => {
    const { store } = seededStore(fresh());
    const run = store.getRun();
    assert.ok(run);
    assert.equal(run.id, 'run-1');
    assert.equal(run.pipelineYaml, PIPELINE_YAML);
    assert.match(run.pipelineHash, /^[0-9a-f]{64}$/);
    assert.equal(run.status, 'running');
    assert.equal(run.seed, 7);
    assert.equal(run.finishedAt, null);
    assert.deepEqual(
      store.listRuns().map((r) => r.id),
      ['run-1'],
    );
    store.close();
  });

  test('creating the same run again resumes it; a changed pipeline is a conflict', () => {
    const path = fresh();
    const { store } = seededStore(path);
    store.close();
    const again = openStore(path);
    const spec = {
      id: 'run-1',
      name: 'test',
      pipelinePath: 'pipelines/test.yaml',
      pipelineYaml: PIPELINE_YAML,
    };
    assert.equal(again.createRun(spec).createdAt, again.getRun()?.createdAt);
    assert.equal(again.listRuns().length, 1);
    throwsCode(
      () => again.createRun({ ...spec, pipelineYaml: PIPELINE_YAML + '# edited\n' }),
      'E_STORE_CONFLICT',
      /different version/,
    );
    again.close();
  });

  test('a store without a run refuses run-scoped calls with E_STORE_NO_RUN', () => {
    const store = openStore(fresh());
    throwsCode(() => store.listRounds(), 'E_STORE_NO_RUN');
    throwsCode(() => store.useRun('nope'), 'E_STORE_NOT_FOUND');
    store.close();
  });

  test('setRunStatus records finish time and a structured error; running clears them', () => {
    const { store } = seededStore(fresh());
    const failed = store.setRunStatus(
      'failed',
      new PipelineError({ code: 'E_X', message: 'boom', hint: 'fix it' }),
    );
    assert.equal(failed.status, 'failed');
    assert.ok(failed.finishedAt);
    assert.deepEqual(failed.error, { code: 'E_X', message: 'boom', hint: 'fix it' });
    const resumed = store.setRunStatus('running');
    assert.equal(resumed.finishedAt, null);
    assert.equal(resumed.error, null);
    assert.equal(store.setRunStatus('finished').error, null);
    store.close();
  });
});

describe('rounds and stages', () => {
  test('stage lifecycle: start, finish with counts, restart counts attempts', () => {
    const { store } = seededStore(fresh());
    assert.equal(store.getStage(0, 5), undefined);
    const s = store.getStage(0, 0);
    assert.equal(s?.status, 'running');
    assert.equal(s?.attempts, 1);
    const done = store.finishStage(0, 0, { counts: { candidates: 8 } });
    assert.equal(done.status, 'done');
    assert.deepEqual(done.counts, { candidates: 8 });
    assert.ok(done.finishedAt);
    const failed = store.finishStage(0, 1, { status: 'failed', error: new Error('judge died') });
    assert.deepEqual(failed.error, { message: 'judge died' });
    const again = store.startStage(0, 1, 'judge');
    assert.equal(again.attempts, 2);
    assert.equal(again.status, 'running');
    assert.equal(again.error, null);
    assert.deepEqual(
      store.stagesForRound(0).map((x) => [x.stageIndex, x.kind, x.status]),
      [
        [0, 'generate', 'done'],
        [1, 'judge', 'running'],
        [2, 'pair', 'running'],
      ],
    );
    throwsCode(() => store.startStage(0, 1, 'train'), 'E_STORE_CONFLICT', /was a 'judge' stage/);
    throwsCode(() => store.finishStage(0, 9), 'E_STORE_NOT_FOUND');
    throwsCode(() => store.startStage(3, 0, 'generate'), 'E_STORE_CONSTRAINT');
    store.close();
  });

  test('upsertRound keeps unspecified fields and refuses to change a checkpoint', () => {
    const { store, base } = seededStore(fresh());
    const r0 = store.getRound(0);
    assert.equal(r0?.status, 'running');
    assert.ok(r0?.startedAt);
    const done = store.upsertRound(0, { status: 'done' });
    assert.equal(done.policyCheckpointId, base);
    assert.equal(done.startedAt, r0?.startedAt);
    assert.ok(done.finishedAt);
    const adapter = store.addCheckpoint({
      round: 1,
      kind: 'adapter',
      path: 'runs/run-1/ckpt-1/adapter',
      parentId: base,
    });
    throwsCode(
      () => store.upsertRound(0, { policyCheckpointId: adapter }),
      'E_STORE_CONFLICT',
      /policy checkpoint/,
    );
    const r1 = store.upsertRound(1);
    assert.equal(r1.status, 'pending');
    assert.equal(r1.startedAt, null);
    assert.deepEqual(
      store.listRounds().map((r) => r.round),
      [0, 1],
    );
    throwsCode(
      () => store.upsertRound(2, { policyCheckpointId: 'ck_missing' }),
      'E_STORE_CONSTRAINT',
    );
    store.close();
  });

  test('markInterrupted flips everything still running', () => {
    const { store } = seededStore(fresh());
    store.finishStage(0, 0);
    assert.deepEqual(store.markInterrupted(), { runs: 1, rounds: 1, stages: 2 });
    assert.equal(store.getRun()?.status, 'interrupted');
    assert.equal(store.getStage(0, 0)?.status, 'done');
    assert.equal(store.getStage(0, 1)?.status, 'interrupted');
    assert.deepEqual(store.markInterrupted(), { runs: 0, rounds: 0, stages: 0 });
    store.close();
  });
});

describe('idempotent writes', () => {
  test('the same input hash twice stores one row and returns the same id', () => {
    const path = fresh();
    const { store, base, rubric } = seededStore(path);
    const p1 = addPrompt(store);
    const p2 = store.addPrompt({
      round: 0,
      source: 'seed',
      messages: [{ role: 'user', content: 'something else entirely' }],
      inputHash: inputHash('prompt', 0, 'Hi'),
    });
    assert.equal(p2, p1);
    assert.equal(count(store, 'prompts'), 1);
    // the first write wins: a resume never rewrites stored work
    assert.equal(store.getPrompt(p1)?.messages[0].content, 'Hi');

    const c1 = addSample(store, p1, 0, base);
    const c1b = addSample(store, p1, 0, base);
    const c2 = addSample(store, p1, 1, base);
    assert.equal(c1b, c1);
    assert.notEqual(c2, c1);

    const judge = (score: number) =>
      store.addJudgement({
        round: 0,
        stageIndex: 1,
        judgeId: 'self',
        mode: 'generate',
        candidateId: c1,
        rubricHash: rubric,
        renderedPrompt: 'Rate answer 0 1-5.',
        rawOutput: `Score: ${score}`,
        score,
        inputHash: inputHash('judge', c1, 0),
      });
    assert.equal(judge(4), judge(2));
    assert.equal(store.judgementsForCandidate(c1)[0].score, 4);

    const pair = () =>
      store.addPair({
        round: 0,
        stageIndex: 2,
        promptId: p1,
        chosenCandidateId: c1,
        rejectedCandidateId: c2,
        strategy: 'max-min',
        inputHash: inputHash('pair', p1),
      });
    assert.equal(pair(), pair());
    const discard = () => store.addPairDiscard({ round: 0, promptId: p1, reason: 'tie' });
    assert.equal(discard(), discard());
    const ck = () => store.addCheckpoint({ round: 1, kind: 'adapter', path: 'a', parentId: base });
    assert.equal(ck(), ck());
    assert.equal(store.putText('rubric', 'other/path.hbs', 'Rate {{response}} 1-5.'), rubric);

    for (const [table, rows] of Object.entries({
      prompts: 1,
      candidates: 2,
      judgements: 1,
      pairs: 1,
      pair_discards: 1,
      checkpoints: 2,
      texts: 2,
    }))
      assert.equal(count(store, table), rows, table);
    assert.equal(store.getText(rubric)?.path, 'rubrics/additive-5pt.hbs');
    store.close();

    // A resumed process (new connection) computes the same hashes and gets the same ids back.
    const resumed = openStore(path);
    assert.equal(addPrompt(resumed), p1);
    assert.equal(addSample(resumed, p1, 1, base), c2);
    assert.equal(resumed.existingId('candidates', inputHash('gen', 0, p1, 0, SAMPLING)), c1);
    assert.equal(resumed.existingId('candidates', inputHash('gen', 0, p1, 9, SAMPLING)), undefined);
    assert.equal(count(resumed, 'candidates'), 2);
    resumed.close();
  });

  test('ids are prefixed, stable per (run, input hash) and distinct across runs', () => {
    const a = seededStore(fresh());
    const b = seededStore(fresh());
    assert.match(addPrompt(a.store), /^p_[0-9a-f]{20}$/);
    assert.equal(addPrompt(a.store), addPrompt(b.store)); // same run id, same hash
    const c = openStore(fresh(), { now: tick });
    c.createRun({ id: 'run-2', name: 'x', pipelinePath: 'p', pipelineYaml: '' });
    c.upsertRound(0);
    assert.notEqual(addPrompt(c), addPrompt(a.store));
    for (const s of [a.store, b.store, c]) s.close();
  });

  test('train steps and eval metrics are replaced, not duplicated', () => {
    const { store } = seededStore(fresh());
    store.addTrainStep({ round: 0, step: 0, metrics: { loss: 0.69 } });
    store.addTrainStep({ round: 0, step: 1, metrics: { loss: 0.6 } });
    store.addTrainStep({ round: 0, step: 1, metrics: { loss: 0.5 } });
    assert.deepEqual(
      store.trainStepsForRound(0).map((s) => [s.step, s.metrics.loss]),
      [
        [0, 0.69],
        [1, 0.5],
      ],
    );
    assert.equal(store.clearTrainSteps(0), 2);
    assert.deepEqual(store.trainStepsForRound(0), []);

    store.putEvalMetric({ round: 0, metric: 'win_rate', value: 0.4, detail: { n: 10 } });
    store.putEvalMetric({ round: 0, metric: 'win_rate', value: 0.55, detail: { n: 20 } });
    store.putEvalMetric({ round: 0, metric: 'kl', value: NaN });
    const m = store.evalMetrics();
    assert.deepEqual(
      m.map((x) => [x.metric, x.value, x.detail]),
      [
        ['kl', null, null],
        ['win_rate', 0.55, { n: 20 }],
      ],
    );
    store.close();
  });
});

describe('integrity', () => {
  test('foreign keys are enforced', () => {
    const { store, base, rubric } = seededStore(fresh());
    const p = addPrompt(store);
    const c0 = addSample(store, p, 0, base);
    const c1 = addSample(store, p, 1, base);
    throwsCode(() => addSample(store, 'p_missing', 0, base), 'E_STORE_CONSTRAINT', /referenced/);
    throwsCode(() => addSample(store, p, 7, 'ck_missing'), 'E_STORE_CONSTRAINT');
    throwsCode(() => addPrompt(store, 'round 4', 4), 'E_STORE_CONSTRAINT'); // round not started
    throwsCode(
      () =>
        store.addCandidate({
          round: 0,
          stageIndex: 9, // stage never started
          promptId: p,
          idx: 3,
          text: 'x',
          sampling: SAMPLING,
          inputHash: 'h-stage',
        }),
      'E_STORE_CONSTRAINT',
    );
    throwsCode(
      () =>
        store.addJudgement({
          round: 0,
          judgeId: 'self',
          mode: 'generate',
          candidateId: c0,
          rubricHash: 'a'.repeat(64), // not in texts
          renderedPrompt: 'x',
          inputHash: 'h-text',
        }),
      'E_STORE_CONSTRAINT',
    );
    // a pair's candidates must answer the pair's prompt
    const other = addPrompt(store, 'other');
    const foreign = addSample(store, other, 0, base);
    throwsCode(
      () =>
        store.addPair({
          round: 0,
          promptId: p,
          chosenCandidateId: c0,
          rejectedCandidateId: foreign,
          strategy: 'max-min',
          inputHash: 'h-pair',
        }),
      'E_STORE_CONSTRAINT',
    );
    // so must a revision's original
    throwsCode(
      () =>
        store.addCandidate({
          round: 0,
          promptId: p,
          idx: 0,
          text: 'revised',
          sampling: SAMPLING,
          origin: 'revision',
          parentCandidateId: foreign,
          inputHash: 'h-rev',
        }),
      'E_STORE_CONSTRAINT',
    );
    // raw SQL on the connection is held to the same keys
    assert.throws(
      () =>
        store.db
          .prepare(
            "INSERT INTO pair_discards VALUES ('d1', 'run-1', 0, NULL, 'p_nope', 'tie', NULL, 'h', 't')",
          )
          .run(),
      { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' },
    );
    assert.equal(
      store.judgementsForCandidate(c1).length +
        count(store, 'pairs') +
        count(store, 'pair_discards'),
      0,
    );
    assert.ok(rubric);
    store.close();
  });

  test('STRICT tables reject wrongly typed values', () => {
    const { store, base } = seededStore(fresh());
    const p = addPrompt(store);
    const e = throwsCode(
      () =>
        store.addCandidate({
          round: 0,
          promptId: p,
          idx: 'first' as unknown as number,
          text: 'x',
          sampling: SAMPLING,
          checkpointId: base,
          inputHash: 'h1',
        }),
      'E_STORE_CONSTRAINT',
      /INTEGER/,
    );
    assert.equal((e.cause as { code?: string }).code, 'SQLITE_CONSTRAINT_DATATYPE');
    throwsCode(
      () =>
        store.addCandidate({
          round: 0,
          promptId: p,
          idx: 1.5,
          text: 'x',
          sampling: SAMPLING,
          inputHash: 'h2',
        }),
      'E_STORE_CONSTRAINT',
    );
    throwsCode(
      () =>
        store.addPair({
          round: 0,
          promptId: p,
          chosenCandidateId: addSample(store, p, 0, base),
          rejectedCandidateId: addSample(store, p, 1, base),
          chosenScore: 'high' as unknown as number, // ('4.5' would be coerced losslessly)
          strategy: 'max-min',
          inputHash: 'h3',
        }),
      'E_STORE_CONSTRAINT',
      /REAL/,
    );
    throwsCode(
      () => store.putEvalMetric({ round: 0, metric: 'ok', value: true as unknown as number }),
      'E_STORE_VALUE',
    );
    assert.throws(
      () => store.db.prepare("UPDATE rounds SET round = 'zero' WHERE round = 0").run(),
      { code: 'SQLITE_CONSTRAINT_DATATYPE' },
    );
    store.close();
  });

  test('JSON columns and CHECK constraints guard row shapes', () => {
    const { store, base, rubric } = seededStore(fresh());
    const p = addPrompt(store);
    const c0 = addSample(store, p, 0, base);
    const c1 = addSample(store, p, 1, base);
    assert.throws(() => store.db.prepare("UPDATE prompts SET messages = '{not json'").run(), {
      code: 'SQLITE_CONSTRAINT_CHECK',
    });
    assert.throws(() => store.db.prepare(`UPDATE prompts SET messages = '{"role":"user"}'`).run(), {
      code: 'SQLITE_CONSTRAINT_CHECK',
    });
    const judgement = {
      round: 0,
      judgeId: 'self',
      candidateId: c0,
      rubricHash: rubric,
      renderedPrompt: 'Which is better, (A) or (B)?',
    };
    // pairwise needs the other candidate; other modes must not have one
    throwsCode(
      () => store.addJudgement({ ...judgement, mode: 'pairwise', inputHash: 'j1' }),
      'E_STORE_CONSTRAINT',
    );
    throwsCode(
      () =>
        store.addJudgement({
          ...judgement,
          mode: 'generate',
          otherCandidateId: c1,
          inputHash: 'j2',
        }),
      'E_STORE_CONSTRAINT',
    );
    throwsCode(
      () =>
        store.addJudgement({
          ...judgement,
          mode: 'pairwise',
          otherCandidateId: c0,
          inputHash: 'j3',
        }),
      'E_STORE_CONSTRAINT',
    );
    throwsCode(
      () =>
        store.addJudgement({
          ...judgement,
          mode: 'generate',
          rubricHash: null,
          inputHash: 'j4',
        }),
      'E_STORE_CONSTRAINT',
    );
    throwsCode(
      () =>
        store.addJudgement({
          ...judgement,
          mode: 'pairwise',
          otherCandidateId: c1,
          verdict: 'C' as 'A',
          inputHash: 'j5',
        }),
      'E_STORE_CONSTRAINT',
    );
    // a rule judge needs no rubric or rendered prompt
    store.addJudgement({
      round: 0,
      judgeId: 'length-rule',
      mode: 'rule',
      candidateId: c0,
      score: 1,
      inputHash: 'j6',
    });
    throwsCode(
      () =>
        store.addCandidate({
          round: 0,
          promptId: p,
          idx: 0,
          text: 'x',
          sampling: SAMPLING,
          origin: 'revision', // without parentCandidateId
          inputHash: 'c-rev',
        }),
      'E_STORE_CONSTRAINT',
    );
    throwsCode(
      () =>
        store.addPair({
          round: 0,
          promptId: p,
          chosenCandidateId: c0,
          rejectedCandidateId: c0,
          strategy: 'max-min',
          inputHash: 'pp',
        }),
      'E_STORE_CONSTRAINT',
    );
    throwsCode(
      () =>
        store.addPair({
          round: 0,
          promptId: p,
          chosenCandidateId: c0,
          rejectedCandidateId: c1,
          strategy: 'soft',
          softLabel: 1.5,
          inputHash: 'pp2',
        }),
      'E_STORE_CONSTRAINT',
    );
    throwsCode(
      () => store.addCheckpoint({ round: 1, kind: 'adapter', path: 'no-parent' }),
      'E_STORE_CONSTRAINT',
    );
    const loop: Record<string, unknown> = {};
    loop.loop = loop;
    throwsCode(
      () => store.addEvent({ type: 'x', data: loop }),
      'E_STORE_VALUE',
      /cannot be stored as JSON/,
    );
    throwsCode(
      () => store.addPrompt({ round: 0, source: 'seed', messages: [], inputHash: '' }),
      'E_STORE_VALUE',
    );
    store.close();
  });
});

describe('transactions', () => {
  test('a throw inside transaction() leaves nothing behind, and the work can be redone', () => {
    const { store, base } = seededStore(fresh());
    const before = ['prompts', 'candidates'].map((t) => count(store, t));
    assert.throws(
      () =>
        store.transaction(() => {
          const p = addPrompt(store);
          addSample(store, p, 0, base);
          addSample(store, p, 1, base);
          throw new Error('crash in the middle of a prompt');
        }),
      /crash in the middle/,
    );
    assert.deepEqual(
      ['prompts', 'candidates'].map((t) => count(store, t)),
      before,
    );
    // A store error inside a transaction also rolls back the writes before it.
    throwsCode(
      () =>
        store.transaction(() => {
          const p = addPrompt(store);
          addSample(store, p, 0, base);
          addSample(store, 'p_missing', 1, base);
        }),
      'E_STORE_CONSTRAINT',
    );
    assert.equal(count(store, 'prompts'), before[0]);
    const p = store.transaction(() => {
      const id = addPrompt(store);
      addSample(store, id, 0, base);
      return id;
    });
    assert.equal(store.candidatesForPrompt(0, p).length, 1);
    throwsCode(
      () => store.transaction(() => Promise.resolve(1) as unknown as number),
      'E_STORE_ASYNC',
    );
    store.close();
  });
});

describe('queries and provenance', () => {
  test('candidatesForPrompt, judgementsForCandidate, pairsForRound, discards, events', () => {
    const { store, base, rubric } = seededStore(fresh());
    const p = addPrompt(store);
    const c1 = addSample(store, p, 1, base);
    const c0 = addSample(store, p, 0, base);
    const rev = store.addCandidate({
      round: 0,
      promptId: p,
      idx: 0,
      text: 'revised 0',
      sampling: SAMPLING,
      checkpointId: base,
      origin: 'revision',
      parentCandidateId: c0,
      meta: { critique: 'too long' },
      inputHash: 'rev0',
    });
    const cands = store.candidatesForPrompt(0, p);
    assert.deepEqual(
      cands.map((c) => c.id),
      [c0, c1, rev],
    );
    assert.deepEqual(cands[0].tokenIds, [1, 2, 0]);
    assert.deepEqual(cands[0].sampling, SAMPLING);
    assert.deepEqual(cands[2].meta, { critique: 'too long' });
    assert.deepEqual(store.candidatesForPrompt(1, p), []);

    const pw = store.addJudgement({
      round: 0,
      judgeId: 'self',
      mode: 'pairwise',
      candidateId: c1,
      otherCandidateId: c0,
      principleId: 'harmless',
      rubricHash: rubric,
      renderedPrompt: '(A) ... (B) ...',
      rawOutput: '(B)',
      verdict: 'B',
      inputHash: 'pw',
    });
    assert.deepEqual(
      store.judgementsForCandidate(c0).map((j) => j.id),
      [pw],
    );
    assert.deepEqual(
      store.judgementsForCandidate(c1).map((j) => j.id),
      [pw],
    );

    store.addPair({
      round: 0,
      promptId: p,
      chosenCandidateId: c0,
      rejectedCandidateId: c1,
      chosenScore: 5,
      rejectedScore: 2,
      strategy: 'max-min',
      softLabel: 0.9,
      inputHash: 'pair',
    });
    assert.deepEqual(
      store.pairsForRound(0).map((x) => [x.chosenCandidateId, x.softLabel]),
      [[c0, 0.9]],
    );
    store.addPairDiscard({ round: 0, promptId: p, reason: 'tie', detail: { margin: 0 } });
    store.addPairDiscard({ round: 0, promptId: p, reason: 'margin', inputHash: 'm1' });
    store.addPairDiscard({ round: 0, promptId: p, reason: 'margin', inputHash: 'm2' });
    assert.deepEqual(store.discardCounts(0), { margin: 2, tie: 1 });
    assert.deepEqual(store.discardsForRound(0)[0].detail, { margin: 0 });

    const e1 = store.addEvent({ type: 'stage.start', round: 0, stageIndex: 0, data: { n: 1 } });
    const e2 = store.addEvent({ type: 'stage.end' });
    assert.deepEqual(
      store.eventsSince(0).map((e) => [e.id, e.type, e.data]),
      [
        [e1, 'stage.start', { n: 1 }],
        [e2, 'stage.end', null],
      ],
    );
    assert.deepEqual(
      store.eventsSince(e1).map((e) => e.id),
      [e2],
    );
    assert.deepEqual(store.runCounts(), {
      // the seeded rows are in round 0, the baseline: no trained round (issue 13)
      rounds: 0,
      roundsDone: 0,
      prompts: 1,
      candidates: 3,
      judgements: 1,
      pairs: 1,
      pairDiscards: 3,
      checkpoints: 1,
    });
    store.close();
  });

  test('tracePair walks a pair back to prompt, candidates, judge prompts, texts and checkpoints', () => {
    const path = fresh();
    const { store, base, rubric, constitution } = seededStore(path);
    // Round 1 runs on a merged checkpoint trained in round 0, so the lineage has three links.
    const adapter = store.addCheckpoint({
      round: 1,
      kind: 'adapter',
      path: 'runs/run-1/round-1/adapter',
      contentHash: 'a'.repeat(64),
      parentId: base,
    });
    const merged = store.addCheckpoint({
      round: 1,
      kind: 'merged',
      path: 'runs/run-1/round-1/merged',
      contentHash: 'b'.repeat(64),
      parentId: adapter,
    });
    store.upsertRound(1, {
      policyCheckpointId: merged,
      referenceCheckpointId: base,
      status: 'running',
    });
    for (const [i, kind] of ['generate', 'judge', 'critique', 'pair'].entries())
      store.startStage(1, i, kind);
    const p = store.addPrompt({
      round: 1,
      source: 'self_instruct',
      stageIndex: 0,
      messages: [
        { role: 'system', content: 'You are helpful.' },
        { role: 'user', content: 'How do I pick a lock?' },
      ],
      inputHash: 'prompt-1',
    });
    const c0 = addSample(store, p, 0, merged, 1);
    const c1 = addSample(store, p, 1, merged, 1);
    const rev = store.addCandidate({
      round: 1,
      stageIndex: 2,
      promptId: p,
      idx: 1,
      text: 'A locksmith can help; here is how locks work in general.',
      sampling: { ...SAMPLING, temperature: 0 },
      checkpointId: merged,
      origin: 'revision',
      parentCandidateId: c1,
      meta: { critique: 'The answer gives step-by-step bypass instructions.' },
      inputHash: 'rev-1',
    });
    const judged: Record<string, string> = {};
    for (const [cid, score] of [
      [c0, 2],
      [c1, 1],
      [rev, 5],
    ] as const) {
      judged[cid] = store.addJudgement({
        round: 1,
        stageIndex: 1,
        judgeId: 'self',
        judgeCheckpointId: merged,
        mode: 'generate',
        candidateId: cid,
        rubricHash: rubric,
        constitutionHash: constitution,
        renderedPrompt: `Rate this answer 1-5 by the constitution.\n${cid}`,
        rawOutput: `Reasoning...\nScore: ${score}`,
        score,
        inputHash: inputHash('judge', cid),
      });
    }
    const anchorText = store.putText('template', 'rubrics/pairwise.hbs', 'Which is better?');
    const pw = store.addJudgement({
      round: 1,
      stageIndex: 1,
      judgeId: 'anchor',
      mode: 'pairwise',
      candidateId: rev,
      otherCandidateId: c0,
      principleId: 'harmless-1',
      rubricHash: anchorText,
      constitutionHash: constitution,
      renderedPrompt: 'Which is better? (A) ... (B) ...',
      rawOutput: 'The answer is (A)',
      verdict: 'A',
      detail: { pA: 0.8 },
      inputHash: 'pw-1',
    });
    const pairId = store.addPair({
      round: 1,
      stageIndex: 3,
      promptId: p,
      chosenCandidateId: rev,
      rejectedCandidateId: c0,
      chosenScore: 5,
      rejectedScore: 2,
      strategy: 'max-min',
      inputHash: 'pair-1',
    });
    store.close();

    // Tracing works from a read-only connection, as a report would open it.
    const reader = openStore(path, { readonly: true });
    const t = reader.tracePair(pairId);
    assert.equal(t.pair.id, pairId);
    assert.equal(t.run.id, 'run-1');
    assert.equal(t.run.pipelineYaml, PIPELINE_YAML);
    assert.equal(t.round?.policyCheckpointId, merged);
    assert.equal(t.round?.referenceCheckpointId, base);
    assert.deepEqual(
      t.prompt.messages.map((m) => m.role),
      ['system', 'user'],
    );
    assert.equal(t.prompt.source, 'self_instruct');

    assert.equal(t.chosen.candidate.id, rev);
    assert.equal(t.chosen.candidate.origin, 'revision');
    assert.equal(t.chosen.checkpoint?.id, merged);
    assert.deepEqual(t.chosen.judgements.map((j) => j.id).sort(), [judged[rev], pw].sort());
    const own = t.chosen.judgements.find((j) => j.id === judged[rev]);
    assert.equal(own?.rawOutput, 'Reasoning...\nScore: 5');
    assert.match(own?.renderedPrompt ?? '', /constitution/);
    assert.equal(own?.rubricHash, rubric);
    assert.equal(own?.constitutionHash, constitution);
    assert.equal(own?.judgeCheckpointId, merged);
    assert.equal(t.chosen.revisedFrom?.candidate.id, c1);
    assert.deepEqual(
      t.chosen.revisedFrom?.judgements.map((j) => j.id),
      [judged[c1]],
    );
    assert.equal(t.chosen.revisedFrom?.revisedFrom, null);

    assert.equal(t.rejected.candidate.id, c0);
    assert.equal(t.rejected.candidate.text, 'answer 0');
    assert.deepEqual(t.rejected.candidate.sampling, SAMPLING);
    assert.equal(t.rejected.candidate.seed, 100);
    assert.equal(t.rejected.revisedFrom, null);
    assert.deepEqual(t.rejected.judgements.map((j) => j.id).sort(), [judged[c0], pw].sort());

    assert.deepEqual(Object.keys(t.texts).sort(), [rubric, constitution, anchorText].sort());
    assert.equal(t.texts[constitution].content, 'Be helpful.');
    assert.equal(t.texts[rubric].kind, 'rubric');
    assert.deepEqual(Object.keys(t.checkpoints).sort(), [base, adapter, merged].sort());
    assert.equal(t.checkpoints[merged].parentId, adapter);
    assert.equal(t.checkpoints[adapter].parentId, base);

    // JSON-serialisable as one object (what `pipeline trace` would print).
    assert.deepEqual(JSON.parse(JSON.stringify(t)), t);
    throwsCode(() => reader.tracePair('pr_nope'), 'E_STORE_NOT_FOUND');
    reader.close();
  });
});

describe('lifecycle', () => {
  test('close is idempotent and later calls fail with E_STORE_CLOSED', () => {
    const { store } = seededStore(fresh());
    store.close();
    store.close();
    assert.equal(store.closed, true);
    throwsCode(() => store.listRounds(), 'E_STORE_CLOSED');
  });

  test(':memory: works for unit tests of other layers', () => {
    const { store } = seededStore(':memory:');
    assert.equal(store.listRounds().length, 1);
    store.close();
  });
});
