// The sandbox grader as a rule: the score is the grader's points / 5 for the request the answer
// replies to, weighted with the other rules like any rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuleJudge } from '../../src/judges/rule-judge.js';
import { sampleTasks, gradeAnswer } from '../../src/sandbox/index.js';

const judge = (rules: ConstructorParameters<typeof RuleJudge>[0]) => new RuleJudge(rules, (p) => p);

test('a sandbox rule scores points / 5, passing only at full points', () => {
  const j = judge([{ kind: 'sandbox', weight: 1 }]);
  for (const t of sampleTasks(5, 16)) {
    const best = j.judge(t.answer, t.prompt);
    assert.equal(best.score, 1, t.prompt);
    assert.equal(best.outcomes[0].passed, true);
    const wrong = 'Sure! I hope this helps you a lot.';
    const v = j.judge(wrong, t.prompt);
    assert.equal(v.score, gradeAnswer(t.prompt, wrong)!.points / 5);
    assert.ok(v.score < 1, `${t.prompt}: ${v.outcomes[0].why}`);
    assert.equal(v.outcomes[0].passed, false);
  }
});

test('a request that is not a sandbox task scores 0 and says so', () => {
  const v = judge([{ kind: 'sandbox', weight: 1 }]).judge(
    'Ottawa',
    'What is the capital of Canada?',
  );
  assert.equal(v.score, 0);
  assert.match(v.outcomes[0].why, /not a sandbox task/);
});

test('graded and pass/fail rules combine by weight', () => {
  const [t] = sampleTasks(3, 1, { families: ['arithmetic'] });
  const chatty = `Sure! The answer is ${t.answer}, I hope this helps you a lot.`;
  const points = gradeAnswer(t.prompt, chatty)!.points; // right but wordy: 4 of 5
  const v = judge([
    { kind: 'sandbox', weight: 3 },
    { kind: 'length', unit: 'chars', max: 10, weight: 1 },
  ]).judge(chatty, t.prompt);
  // (3 · points/5 + 1 · 0) / 4
  assert.equal(v.score, (3 * (points / 5)) / 4);
});
