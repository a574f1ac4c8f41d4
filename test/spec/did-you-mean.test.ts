import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { didYouMean, editDistance, suggest } from '../../src/spec/validate/did-you-mean.js';

describe('editDistance (optimal string alignment)', () => {
  test('counts insertions, deletions and substitutions', () => {
    assert.equal(editDistance('abc', 'abc'), 0);
    assert.equal(editDistance('abc', ''), 3);
    assert.equal(editDistance('abc', 'abxc'), 1);
    assert.equal(editDistance('abc', 'ac'), 1);
    assert.equal(editDistance('abc', 'axc'), 1);
  });

  test('an adjacent transposition is one edit, not two', () => {
    assert.equal(editDistance('ab', 'ba'), 1);
    assert.equal(editDistance('jugde', 'judge'), 1);
  });

  test('is symmetric', () => {
    for (const [a, b] of [
      ['temprature', 'temperature'],
      ['lr', 'learning_rate'],
      ['ca', 'abc'],
    ])
      assert.equal(editDistance(a, b), editDistance(b, a));
  });
});

describe('suggest', () => {
  test('picks the closest candidate, wherever it is in the list', () => {
    const strategies = ['all-pairs-above-margin', 'max-random', 'max-min'];
    assert.equal(suggest('max-mn', strategies), 'max-min');
    assert.equal(suggest('max-randon', strategies), 'max-random');
  });

  test('on a tie the first candidate wins', () => {
    assert.equal(suggest('bet', ['bat', 'bit']), 'bat');
    assert.equal(suggest('bet', ['bit', 'bat']), 'bit');
  });

  test('ignores case but returns the candidate as written', () => {
    assert.equal(suggest('TEMPERATURE', ['top_p', 'temperature']), 'temperature');
    assert.equal(suggest('beta', ['Beta']), 'Beta');
  });

  test('allows 1 edit up to 4 letters, 2 up to 8, 3 beyond', () => {
    assert.equal(suggest('bta', ['beta']), 'beta');
    assert.equal(suggest('abcd', ['abxy']), undefined);
    assert.equal(suggest('abcdef', ['abxyef']), 'abxyef');
    assert.equal(suggest('abcdef', ['axyzef']), undefined);
    assert.equal(suggest('abcdefghi', ['abcxyzghi']), 'abcxyzghi');
    assert.equal(suggest('abcdefghi', ['wxyzefghi']), undefined);
  });

  test('no candidates, no suggestion', () => {
    assert.equal(suggest('judge', []), undefined);
  });
});

describe('didYouMean', () => {
  test('is a message suffix, or empty when nothing is close', () => {
    assert.equal(didYouMean('jugde', ['judge', 'pair']), " (did you mean 'judge'?)");
    assert.equal(didYouMean('xyz', ['judge', 'pair']), '');
  });

  test('suggests nothing for a value that is not a string', () => {
    assert.equal(didYouMean(1, ['1', 'one']), '');
    assert.equal(didYouMean(undefined, ['undefined']), '');
  });
});
