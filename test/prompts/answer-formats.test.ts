import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ANSWER_FORMAT_NAMES, answerFormat } from '../../src/prompts/answer-formats.js';
import {
  parseAbChoice,
  parseFreeText,
  parseInstructionLine,
  parseJsonScore,
  parseScoreLine,
  type ScoreParse,
  type VerdictParse,
} from '../../src/prompts/answer-parsers.js';
import { throwsCode } from './helpers.js';

const SCALE = [0, 5] as const;

function score(r: ScoreParse): number {
  assert.ok(r.ok, `expected a score, got failure: ${r.ok ? '' : r.reason}`);
  return r.score;
}
function failure(r: { ok: boolean; reason?: string }, pattern?: RegExp): void {
  assert.equal(r.ok, false, `expected a parse failure, got ${JSON.stringify(r)}`);
  if (pattern) assert.match(r.reason ?? '', pattern);
}
function verdict(r: VerdictParse): string {
  assert.ok(r.ok, `expected a verdict, got failure: ${r.ok ? '' : r.reason}`);
  return r.verdict;
}

describe('score-line', () => {
  test('reads the final "Score: n" line, integer or decimal', () => {
    assert.equal(score(parseScoreLine('The reply is on topic.\nScore: 4', SCALE)), 4);
    assert.equal(score(parseScoreLine('ok\nScore: 3.5\n', SCALE)), 3.5);
    assert.equal(score(parseScoreLine('Score: 0', SCALE)), 0);
    assert.equal(score(parseScoreLine('Score: 5.', SCALE)), 5);
    assert.equal(score(parseScoreLine('score:2', SCALE)), 2);
  });

  test('tolerates markdown around the label and value, not inside the number', () => {
    assert.equal(score(parseScoreLine('**Score:** 4', SCALE)), 4);
    assert.equal(score(parseScoreLine('**Score: 3**', SCALE)), 3);
    assert.equal(score(parseScoreLine('> Score: 2', SCALE)), 2);
    assert.equal(score(parseScoreLine('## Score: 1', SCALE)), 1);
    failure(parseScoreLine('Score: 4*2', SCALE), /not a number/);
  });

  test('the last Score line wins over earlier ones', () => {
    const answer =
      'The format is "Score: <n>".\nScore: 2\nOn reflection it deserves more.\nScore: 4';
    assert.equal(score(parseScoreLine(answer, SCALE)), 4);
  });

  test('never falls back to an earlier line when the last one is malformed', () => {
    failure(parseScoreLine('Score: 3\nScore: 4/5', SCALE), /"4\/5", not a number/);
    failure(parseScoreLine('Score: four', SCALE), /not a number/);
    failure(parseScoreLine('Score: 4 points', SCALE), /not a number/);
    failure(parseScoreLine('Score:', SCALE), /not a number/);
  });

  test('fails when there is no Score line', () => {
    failure(parseScoreLine('I would give it a 4.', SCALE), /no "Score: <n>" line/);
    failure(parseScoreLine('Final score: 4', SCALE), /no "Score: <n>" line/);
    failure(parseScoreLine('', SCALE));
  });

  test('out-of-scale scores fail instead of being clamped', () => {
    failure(parseScoreLine('Score: 6', SCALE), /outside the scale \[0, 5\]/);
    failure(parseScoreLine('Score: -1', SCALE), /outside the scale/);
    failure(parseScoreLine('Score: 5.5', SCALE), /outside the scale/);
    assert.equal(score(parseScoreLine('Score: 10', [1, 10])), 10);
  });

  test('long runs of spaces or markup around labels parse correctly', () => {
    // Judge output is untrusted; these inputs made the earlier regex parsers backtrack for seconds.
    const pad = ' '.repeat(50_000);
    failure(parseScoreLine(pad + 'x\n' + 'Score:' + pad + 'x', SCALE), /not a number/);
    failure(parseInstructionLine(pad + 'x' + '*'.repeat(50_000)));
    failure(parseAbChoice('(' + pad + 'x'));
    assert.equal(score(parseScoreLine('Score:' + pad + '3' + pad, SCALE)), 3);
  });

  test('keeps the matched line for provenance', () => {
    const r = parseScoreLine('blah\n  Score: 3  \n', SCALE);
    assert.ok(r.ok);
    assert.equal(r.matched, 'Score: 3');
  });
});

describe('json-score', () => {
  test('reads {"score": n} in prose or a code fence', () => {
    assert.equal(score(parseJsonScore('{"score": 4}', SCALE)), 4);
    assert.equal(
      score(parseJsonScore('Reasoning...\n```json\n{"score": 2.5, "why": "ok"}\n```', SCALE)),
      2.5,
    );
    assert.equal(score(parseJsonScore('{"notes": {"a": "}"}, "score": 1}', SCALE)), 1);
  });

  test('the last object with a score key wins; others are ignored', () => {
    assert.equal(score(parseJsonScore('{"score": 1} then {"score": 3}', SCALE)), 3);
    assert.equal(score(parseJsonScore('{"score": 2} and {"other": 9}', SCALE)), 2);
  });

  test('invalid, missing and non-numeric scores fail', () => {
    failure(parseJsonScore('Score: 4', SCALE), /no JSON object/);
    failure(parseJsonScore('{"score": 4', SCALE), /no JSON object/);
    failure(parseJsonScore("{'score': 4}", SCALE), /no JSON object/);
    failure(parseJsonScore('{"score": "4"}', SCALE), /not a number/);
    failure(parseJsonScore('{"score": null}', SCALE), /not a number/);
    failure(parseJsonScore('{"rating": 4}', SCALE), /no JSON object/);
  });

  test('out-of-scale scores fail', () => {
    failure(parseJsonScore('{"score": 7}', SCALE), /outside the scale/);
  });
});

describe('ab-choice', () => {
  test('reads the verdict on the final line', () => {
    assert.equal(verdict(parseAbChoice('Reply A is kinder.\nVerdict: (A)')), 'A');
    assert.equal(verdict(parseAbChoice('Verdict: (B)\n\n')), 'B');
    assert.equal(verdict(parseAbChoice('(B)')), 'B');
    assert.equal(verdict(parseAbChoice('**Verdict: ( A )**')), 'A');
    // Letters mentioned earlier do not matter; only the final line decides.
    assert.equal(verdict(parseAbChoice('(A) lectures, (B) helps.\nVerdict: (B)')), 'B');
  });

  test('both, neither and hedged verdicts fail', () => {
    failure(parseAbChoice('Verdict: (A) or (B)'), /both/);
    failure(parseAbChoice('(A) and (B) are equally good.'), /both/);
    failure(parseAbChoice('Neither (A) is acceptable.'), /hedges/);
    failure(parseAbChoice('It is a tie between them, (A)'), /hedges/);
    failure(parseAbChoice('The answer is not (A)'), /hedges/);
    failure(parseAbChoice('Both replies are fine.'), /neither \(A\) nor \(B\)/);
    failure(parseAbChoice('Verdict: A'), /neither/);
    failure(parseAbChoice('Verdict: (a)'), /neither/);
    failure(parseAbChoice('(A) is better.\nThanks for asking!'), /neither/);
    failure(parseAbChoice('   \n'), /empty/);
  });
});

describe('instruction-line', () => {
  test('reads one Instruction line', () => {
    const r = parseInstructionLine('Instruction: Write a haiku about rain.');
    assert.deepEqual(r, { ok: true, text: 'Write a haiku about rain.' });
    const q = parseInstructionLine('Sure!\n**Instruction:** "Explain tides to a child."');
    assert.deepEqual(q, { ok: true, text: 'Explain tides to a child.' });
  });

  test('missing, empty and several different instructions fail', () => {
    failure(parseInstructionLine('Write a haiku about rain.'), /no "Instruction/);
    failure(parseInstructionLine('Instruction:   '), /empty/);
    failure(parseInstructionLine('Instruction: one\nInstruction: two'), /2 different/);
    assert.ok(parseInstructionLine('Instruction: same\nInstruction: same').ok);
  });
});

describe('free-text', () => {
  test('trims, drops an echoed label, fails on empty', () => {
    assert.deepEqual(parseFreeText('  hello \n'), { ok: true, text: 'hello' });
    assert.deepEqual(parseFreeText('Revision: new text', 'Revision'), {
      ok: true,
      text: 'new text',
    });
    assert.deepEqual(parseFreeText('**Revision:** new', 'Revision'), { ok: true, text: 'new' });
    assert.deepEqual(parseFreeText('Revision: kept', undefined), {
      ok: true,
      text: 'Revision: kept',
    });
    const code = 'Revision:\n```python\nprint(1)\n```';
    assert.deepEqual(parseFreeText(code, 'Revision'), {
      ok: true,
      text: '```python\nprint(1)\n```',
    });
    assert.deepEqual(parseFreeText('* one\n* two **', 'Revision'), {
      ok: true,
      text: '* one\n* two **',
    });
    failure(parseFreeText(' \n '), /empty/);
    failure(parseFreeText('Critique:  ', 'Critique'), /empty/);
  });
});

describe('answerFormat()', () => {
  test('builds every named format', () => {
    for (const name of ANSWER_FORMAT_NAMES) {
      const f = answerFormat(name, { scale: [0, 5] });
      assert.equal(f.name, name);
      assert.ok(f.describe.length > 0);
    }
  });

  test('unknown names and bad scales are errors', () => {
    throwsCode(
      () => answerFormat('score-lines'),
      'E_ANSWER_FORMAT',
      /unknown answer format "score-lines"/,
    );
    throwsCode(() => answerFormat('score-line'), 'E_ANSWER_FORMAT', /needs a scale/);
    throwsCode(() => answerFormat('json-score', { scale: [5, 0] }), 'E_ANSWER_FORMAT', /min < max/);
  });

  test('pointwise formats expose the log-prob prefix and score strings', () => {
    const line = answerFormat('score-line', { scale: [0, 5] });
    assert.equal(line.kind, 'score');
    if (line.kind !== 'score') return;
    const spec = line.logprob();
    assert.equal(spec.prefix, 'Score: ');
    assert.deepEqual(
      spec.options.map((o) => o.text),
      ['0', '1', '2', '3', '4', '5'],
    );
    assert.deepEqual(
      spec.options.map((o) => o.value),
      [0, 1, 2, 3, 4, 5],
    );
    // The prefix followed by any option is itself a valid answer of the format.
    for (const o of spec.options) assert.equal(score(line.parse(spec.prefix + o.text)), o.value);

    const json = answerFormat('json-score', { scale: [1, 3] });
    if (json.kind !== 'score') return assert.fail('json-score is a score format');
    const js = json.logprob();
    assert.equal(js.prefix, '{"score": ');
    for (const o of js.options) assert.equal(score(json.parse(js.prefix + o.text + '}')), o.value);
  });

  test('log-prob judging refuses scales that are not whole numbers', () => {
    const f = answerFormat('score-line', { scale: [0, 2.5] });
    if (f.kind !== 'score') return assert.fail('score-line is a score format');
    throwsCode(() => f.logprob(), 'E_ANSWER_FORMAT', /cannot be judged by log-probabilities/);
    assert.equal(score(f.parse('Score: 2.5')), 2.5);
  });

  test('ab-choice exposes its log-prob prefix and choices', () => {
    const f = answerFormat('ab-choice');
    if (f.kind !== 'verdict') return assert.fail('ab-choice is a verdict format');
    const spec = f.logprob();
    for (const o of spec.options)
      assert.equal(verdict(f.parse(spec.prefix + o.text + ')')), o.value);
  });
});
