import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as z from 'zod';
import { describedAs, expectation } from '../../src/spec/validate/expectation.js';

describe('expectation: what a schema accepts, in words', () => {
  test('numbers say their type and range', () => {
    assert.equal(expectation(z.number()), 'a number');
    assert.equal(expectation(z.int().min(1)), 'an integer >= 1');
    assert.equal(expectation(z.int().min(1).max(1000)), 'an integer from 1 to 1000');
    assert.equal(expectation(z.number().gt(0).max(1)), 'a number > 0 and <= 1');
    assert.equal(expectation(z.number().min(0).lt(1)), 'a number >= 0 and < 1');
  });

  test('wrappers (optional, default, pipe) are looked through', () => {
    assert.equal(expectation(z.int().min(1).default(4)), 'an integer >= 1');
    assert.equal(expectation(z.number().min(0).optional()), 'a number >= 0');
    assert.equal(
      expectation(z.string().transform((s) => s.length)),
      'a string',
      'a pipe is described by its input side',
    );
  });

  test('strings, URLs, booleans, names', () => {
    assert.equal(expectation(z.string().min(1)), 'a string');
    assert.equal(expectation(z.url()), 'an http:// or https:// URL');
    assert.equal(expectation(z.boolean()), 'true or false');
    assert.equal(expectation(z.enum(['cpu', 'cuda'])), 'one of: cpu, cuda');
    assert.equal(expectation(z.literal('judge')), 'one of: judge');
  });

  test('lists say what their items are and how many', () => {
    assert.equal(expectation(z.array(z.string())), 'a list of strings');
    assert.equal(
      expectation(z.array(z.number().min(0)).min(1)),
      'a list of numbers >= 0 (at least 1)',
    );
    assert.equal(expectation(z.array(z.int().min(1))), 'a list of integers >= 1');
    assert.equal(expectation(z.array(z.enum(['a', 'b']))), 'a list of names (a, b)');
    assert.equal(expectation(z.array(z.object({}))), 'a list of mappings');
  });

  test('mappings and records', () => {
    assert.equal(expectation(z.strictObject({})), 'a mapping (key: value lines or { key: value })');
    assert.equal(expectation(z.record(z.string(), z.number())), 'a mapping of names to settings');
  });

  test('a discriminated union lists its kinds in order', () => {
    const s = z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('pair') }),
      z.object({ kind: z.literal('train') }),
    ]);
    assert.equal(expectation(s), 'a mapping with kind: one of pair, train');
  });

  test('a name or a list of names reads as one alternative', () => {
    const name = z.enum(['sigmoid', 'sft']);
    assert.equal(
      expectation(z.union([name, z.array(name)])),
      'one of: sigmoid, sft, or a list of them',
    );
  });

  test('any other union lists each member', () => {
    assert.equal(expectation(z.union([z.number(), z.string()])), 'a number, or a string');
  });

  test('no schema (the path left the schema) asks for a valid value', () => {
    assert.equal(expectation(undefined), 'a valid value');
  });
});

describe('describedAs', () => {
  test("is the field's description without its full stop", () => {
    assert.equal(describedAs(z.string().describe('Judge name.')), ': Judge name');
    assert.equal(describedAs(z.string().describe('No stop')), ': No stop');
  });

  test('is empty without a description or a schema', () => {
    assert.equal(describedAs(z.string()), '');
    assert.equal(describedAs(undefined), '');
  });
});
