import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeValue, formatPath, quote, where } from '../../src/spec/validate/words.js';

describe('formatPath', () => {
  test('writes paths as a reader would index them', () => {
    assert.equal(formatPath(['stages', 2, 'temperature']), 'stages[2].temperature');
    assert.equal(formatPath(['judges', 'anchor', 'rules', 0]), 'judges.anchor.rules[0]');
    assert.equal(formatPath(['loss_weights', 1]), 'loss_weights[1]');
  });

  test('quotes keys that are not identifiers', () => {
    assert.equal(formatPath(['judges', '1bad']), 'judges["1bad"]');
    assert.equal(formatPath(['judges', 'a b', 'kind']), 'judges["a b"].kind');
  });

  test('the empty path is the file', () => {
    assert.equal(formatPath([]), 'the pipeline file');
  });
});

describe('where', () => {
  const raw = { stages: [{ kind: 'judge' }, { kind: 'jugde' }] };

  test('names a stage by its kind when the kind is known', () => {
    assert.equal(where(raw, ['stages', 0]), 'the judge stage at stages[0]');
    assert.equal(where(raw, ['stages', 1]), 'stages[1]');
  });

  test('names judges and the top level', () => {
    assert.equal(where(raw, ['judges', 'anchor']), "judge 'anchor'");
    assert.equal(where(raw, []), 'the top level');
    assert.equal(where(raw, ['model']), 'model');
  });
});

describe('describeValue', () => {
  test('says what kind of value was written', () => {
    assert.equal(describeValue(undefined), 'nothing');
    assert.equal(describeValue(null), 'an empty value');
    assert.equal(describeValue(3), 'number 3');
    assert.equal(describeValue(false), 'boolean false');
    assert.equal(describeValue([1]), 'a list');
    assert.equal(describeValue({ a: 1 }), 'a mapping');
    assert.equal(describeValue('hot'), "the string 'hot'");
  });

  test('shortens long strings to 40 characters', () => {
    const long = 'x'.repeat(41);
    assert.equal(describeValue(long), `the string '${'x'.repeat(37)}...'`);
    assert.equal(describeValue('x'.repeat(40)), `the string '${'x'.repeat(40)}'`);
  });
});

describe('quote', () => {
  test('quotes strings only', () => {
    assert.equal(quote('a'), "'a'");
    assert.equal(quote(1), '1');
  });
});
