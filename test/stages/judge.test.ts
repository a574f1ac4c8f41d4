import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { PipelineEvent } from '../../src/events.js';
import { judgeSchema, type JudgeStageSpec, type PipelineSpec } from '../../src/spec/schema.js';
import { RunContext } from '../../src/stages/context.js';
import { EnginePool } from '../../src/stages/engine-pool.js';
import { judgeStage } from '../../src/stages/judge/index.js';
import { inputHash } from '../../src/store/hash.js';
import { repoRoot } from '../helpers/paths.js';
import { SAMPLING, seededStore, tempDir } from '../store/fixtures.js';

const tmp = tempDir();
after(tmp.cleanup);

// A rule judge needs no model, so the judge stage runs end to end on a real store in milliseconds.
test('judge stage: a rule judge scores every candidate once; a second run reuses them', async () => {
  const { store } = seededStore(join(tmp.dir, 'run.sqlite'));
  const promptId = store.addPrompt({
    round: 0,
    source: 'seed',
    messages: [{ role: 'user', content: 'hi' }],
    inputHash: inputHash('prompt'),
  });
  ['ok', 'far too long'].forEach((text, idx) =>
    store.addCandidate({
      round: 0,
      stageIndex: 0,
      inputHash: inputHash('candidate', idx),
      promptId,
      idx,
      text,
      sampling: SAMPLING,
    }),
  );
  const spec = {
    seed: 7,
    judges: { short: judgeSchema.parse({ kind: 'rule', rules: [{ kind: 'length', max: 5 }] }) },
  } as unknown as PipelineSpec;
  const events: PipelineEvent[] = [];
  const ctx = new RunContext(
    spec,
    repoRoot,
    'run-1',
    tmp.dir,
    store,
    new EnginePool(),
    (e) => events.push(e),
    new AbortController().signal,
  );
  const stage = {
    kind: 'judge',
    judges: ['short'],
    rubric: 'rubrics/additive-5pt.hbs',
    mode: 'generate',
    samples: 1,
    temperature: 0,
    max_new_tokens: 8,
    combine: 'mean',
  } as JudgeStageSpec;
  const input = { spec: stage, round: 0, index: 1, prompts: [store.getPrompt(promptId)!] };

  const first = await judgeStage.run(ctx, input);
  assert.deepEqual(first.counts, { judgements: 2, reused: 0, parse_failures: 0, inconsistent: 0 });
  const rows = store
    .candidatesForPrompt(0, promptId)
    .map((c) => store.judgementsForCandidate(c.id));
  assert.deepEqual(
    rows.map((js) => js.map((j) => [j.judgeId, j.mode, j.score, j.rubricHash, j.stageIndex])),
    [[['short', 'rule', 1, null, 1]], [['short', 'rule', 0, null, 1]]],
  );
  const judged = events.filter((e) => e.type === 'judgement');
  assert.deepEqual(
    judged.map((e) => e.score),
    [1, 0],
  );
  assert.deepEqual(
    events
      .filter((e) => e.type === 'stage-progress')
      .map((e) => e.type === 'stage-progress' && e.done),
    [1],
  );

  const again = await judgeStage.run(ctx, input);
  assert.deepEqual(again.counts, { judgements: 0, reused: 2, parse_failures: 0, inconsistent: 0 });
  store.close();
});
