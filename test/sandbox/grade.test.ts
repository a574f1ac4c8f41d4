import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FAMILIES, gradeAnswer, MAX_POINTS, sampleTasks } from '../../src/sandbox/index.js';

/** The grade of `reply` to `prompt`, which must be a sandbox prompt. */
function grade(prompt: string, reply: string) {
  const g = gradeAnswer(prompt, reply);
  assert.ok(g, `not parsed as a sandbox prompt: ${prompt}`);
  return g;
}

/** [reply, most points it may get, a word the reason must contain] for one prompt. */
type Case = [string, number, RegExp];

function expectAll(prompt: string, canonical: string, cases: Case[]) {
  assert.deepEqual(grade(prompt, canonical), { points: MAX_POINTS, reason: 'correct' });
  for (const [reply, most, why] of cases) {
    const g = grade(prompt, reply);
    assert.ok(g.points <= most, `${JSON.stringify(reply)} got ${g.points}: ${g.reason}`);
    assert.match(g.reason, why, JSON.stringify(reply));
  }
}

describe('every rendered template parses back and its canonical answer gets full marks', () => {
  // The trainer only sees prompt text; a template whose regex drifted from its rendering would
  // silently drop out of grading, so every family is rendered many times from many seeds.
  for (const family of FAMILIES)
    test(family, () => {
      for (const task of sampleTasks(7, 500, { families: [family] })) {
        assert.equal(task.family, family);
        const g = grade(task.prompt, task.answer);
        assert.equal(g.points, MAX_POINTS, `${task.prompt} -> ${task.answer}: ${g.reason}`);
        // Short enough for a few-million-parameter model trained for minutes.
        assert.ok(task.prompt.length <= 60, task.prompt);
        assert.ok(task.answer.length <= 30, task.answer);
      }
    });
});

test('text that is not a sandbox prompt is not graded', () => {
  assert.equal(gradeAnswer('What is the capital of Canada?', 'Ottawa'), undefined);
  // Near misses: the right template with values outside the world's tables or ranges.
  assert.equal(gradeAnswer('What is 99 plus 1?', '100'), undefined);
  assert.equal(gradeAnswer('In one word, what color is a spaceship?', 'silver'), undefined);
  assert.equal(gradeAnswer('List exactly three cars.', 'a, b, c'), undefined);
  assert.equal(gradeAnswer('How do I bake bread?', 'Knead it.'), undefined);
});

test('arithmetic: wrong sums and differences lose the content points and say the number', () => {
  expectAll('What is 6 plus 7?', '13', [
    ['12', 2, /wrong sum: 12 \(want 13\)/],
    ['The answer is 13, hope this helps!', 4, /chatter/],
    ['6 + 7 = 13', 1, /several numbers/],
    ['', 0, /empty/],
    ['thirteen', 0, /no number/],
  ]);
  expectAll('Subtract 4 from 9.', '5', [['13', 2, /wrong difference: 13 \(want 5\)/]]);
  // Lenient normalization: a trailing period and spaces do not matter.
  assert.equal(grade('Compute 3 - 3.', ' 0. ').points, MAX_POINTS);
});

test('sort: one adjacent swap earns partial credit, any other order none', () => {
  expectAll('Sort 3 1 2 ascending.', '1 2 3', [
    ['2 1 3', 4, /one swap/],
    ['3 2 1', 2, /wrong order/],
    ['1 2', 1, /2 numbers \(want 3\)/],
    ['1 2 4', 2, /digits changed/],
    ['Sorted: 1 2 3', 4, /chatter/],
  ]);
  assert.equal(grade('Sort these digits, smallest first: 7, 0, 5', '0, 5, 7').points, MAX_POINTS);
});

test('reverse: the unreversed word and wrong letters score low', () => {
  expectAll('Spell lemon backwards.', 'nomel', [
    ['lemon', 2, /not reversed/],
    ['nomle', 4, /one swap/],
    ['nome', 1, /no rearrangement/],
    ['It is nomel.', 4, /chatter/],
  ]);
});

test('count: a wrong count says what it got and wanted', () => {
  expectAll('How many times does the letter p appear in pepper?', '3', [
    ['2', 2, /wrong count: 2 \(want 3\)/],
    ['There are 3.', 4, /chatter/],
  ]);
});

test('one word: two words cost the form point, a wrong word the content', () => {
  expectAll('In one word, what color is the sky?', 'blue', [
    ['green', 2, /wrong color: green \(want blue\)/],
    ['light blue', 3, /2 words \(want one\)/],
  ]);
  expectAll('Give the opposite of hot in one word.', 'cold', [
    ['warm', 2, /wrong opposite/],
    ['The opposite is cold.', 3, /words \(want one\)/],
  ]);
  // Every accepted word is right, not only the canonical one.
  assert.equal(grade('What color is an elephant? Answer in one word.', 'Grey').points, MAX_POINTS);
});

test('list: any three members are right; four, two, outsiders and repeats are not', () => {
  const prompt = 'List exactly three fruits.';
  expectAll(prompt, 'apple, banana, pear', [
    ['apple, banana, pear, plum', 3, /4 items \(want 3\)/],
    ['apple, banana', 3, /2 items/],
    ['apple, banana, dog', 4, /not fruits: dog/],
    ['apple, apple, pear', 4, /repeated/],
    ['car, bus, van', 2, /not fruits/],
    ['Here you go: mango, plum and grape!', 4, /chatter/],
    ["I don't know any.", 0, /no fruits named/],
  ]);
  assert.equal(grade(prompt, 'Peaches, plums and grapes').points, MAX_POINTS);
});
