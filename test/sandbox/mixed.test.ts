import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import {
  FAMILIES,
  gradeAnswer,
  justification,
  MAX_POINTS,
  mixedAnswers,
  sampleTasks,
} from '../../src/sandbox/index.js';

test('mixed answers hold the canonical one and spread over at least 3 grades per family', () => {
  // Pairs for preference training need a chosen and a rejected of different quality.
  for (const family of FAMILIES) {
    const rng = new Rng(9);
    const points = new Set<number>();
    for (const task of sampleTasks(4, 20, { families: [family] })) {
      const mixed = mixedAnswers(task, rng);
      const canonical = mixed.find((m) => m.answer === task.answer);
      assert.equal(canonical?.grade.points, MAX_POINTS, task.prompt);
      assert.ok(
        mixed.some((m) => m.grade.points < MAX_POINTS),
        task.prompt,
      );
      for (const m of mixed) {
        // The label must be what gradeAnswer says, or training targets and probes disagree.
        assert.deepEqual(m.grade, gradeAnswer(task.prompt, m.answer));
        assert.ok(Number.isInteger(m.grade.points) && m.grade.points >= 0);
        assert.ok(m.grade.points <= MAX_POINTS);
        points.add(m.grade.points);
      }
    }
    assert.ok(points.size >= 3, `${family}: grades ${[...points].join(', ')}`);
  }
});

test('mixed answers are deterministic given the rng seed', () => {
  const [task] = sampleTasks(1, 1, { families: ['sort'] });
  assert.deepEqual(mixedAnswers(task, new Rng(3)), mixedAnswers(task, new Rng(3)));
});

test('a justification is one short line that tells right from wrong', () => {
  const seen = new Set<string>();
  for (const task of sampleTasks(6, 200))
    for (const m of mixedAnswers(task, new Rng(1))) {
      const line = justification(m.grade);
      assert.ok(line.length <= 50 && !line.includes('\n'), line);
      // The fallback line means a reason the table does not know: a grader and table drifted.
      assert.notEqual(line, 'The reply has problems.', m.grade.reason);
      if (m.grade.points === MAX_POINTS) assert.match(line, /correct/);
      else assert.doesNotMatch(line, /correct and concise/);
      seen.add(line);
    }
  assert.ok(seen.size >= 10, [...seen].join(' | '));
});
