import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPipelineError } from '../../src/core/errors.js';
import { FAMILIES, sampleTasks } from '../../src/sandbox/index.js';
import { splitOf } from '../../src/sandbox/hash.js';

test('the same seed gives the same tasks, another seed other tasks', () => {
  assert.deepEqual(sampleTasks(11, 200), sampleTasks(11, 200));
  const other = sampleTasks(12, 200).map((t) => t.prompt);
  const same = sampleTasks(11, 200).filter((t, i) => t.prompt === other[i]).length;
  assert.ok(same < 50, `${same} of 200 prompts equal across seeds`);
  // A longer list extends a shorter one, so asking for more never reshuffles what came before.
  assert.deepEqual(sampleTasks(11, 300).slice(0, 200), sampleTasks(11, 200));
});

test('train and probe never share a prompt text', () => {
  const train = sampleTasks(1, 5000, { split: 'train' });
  const probe = sampleTasks(2, 5000, { split: 'probe' });
  const trainTexts = new Set(train.map((t) => t.prompt));
  assert.equal(probe.filter((t) => trainTexts.has(t.prompt)).length, 0);
  assert.ok(train.every((t) => splitOf(t.prompt) === 'train'));
  assert.ok(probe.every((t) => splitOf(t.prompt) === 'probe'));
  // Every family can produce probe prompts, so a probe set measures all of them.
  assert.deepEqual(new Set(probe.map((t) => t.family)), new Set(FAMILIES));
});

test('every family appears, evenly, even in a short list', () => {
  const tasks = sampleTasks(5, FAMILIES.length * 3);
  for (const f of FAMILIES) assert.equal(tasks.filter((t) => t.family === f).length, 3, f);
  const ids = new Set(tasks.map((t) => t.id));
  assert.ok([...ids].every((id) => /^[a-z]+-[0-9a-f]{8}$/.test(id)));
});

test('a family filter restricts the draw; an unknown family is an error naming the known ones', () => {
  const tasks = sampleTasks(5, 50, { families: ['sort', 'count'] });
  assert.deepEqual(new Set(tasks.map((t) => t.family)), new Set(['sort', 'count']));
  assert.throws(
    () => sampleTasks(5, 3, { families: ['poetry'] }),
    (e) => isPipelineError(e) && e.code === 'E_SANDBOX_FAMILY' && /arithmetic/.test(e.hint ?? ''),
  );
  assert.throws(
    () => sampleTasks(5, -1),
    (e) => isPipelineError(e) && e.code === 'E_SANDBOX_COUNT',
  );
});
