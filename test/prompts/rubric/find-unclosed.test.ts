import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findUnclosed } from '../../../src/prompts/rubric/find-unclosed.js';

describe('findUnclosed', () => {
  test('everything closed: nothing to point at', () => {
    assert.equal(findUnclosed('Hi {{name}}.\n{{#if x}}{{x}}{{/if}} {{! note }}'), undefined);
    assert.equal(findUnclosed(''), undefined);
  });

  test('an unclosed {{!-- comment wins over anything after it', () => {
    assert.deepEqual(findUnclosed('line one\n  {{!-- never closed {{#if x}}'), {
      line: 2,
      col: 2,
      what: '"{{!--" comment is never closed with "--}}"',
    });
  });

  test('the last "{{" without "}}" is named with the rest of its line', () => {
    assert.deepEqual(findUnclosed('{{a}}\n{{#if b}}\nText {{c\nmore'), {
      line: 3,
      col: 5,
      what: '"{{c" is never closed with "}}"',
    });
  });

  test('braces inside closed comments neither open nor close anything', () => {
    assert.deepEqual(findUnclosed('{{!-- }} --}}{{x'), {
      line: 1,
      col: 13,
      what: '"{{x" is never closed with "}}"',
    });
    assert.equal(findUnclosed('{{! {{#if x}} }}done'), undefined);
  });

  test('with every tag closed, the innermost block never closed is named', () => {
    const body = '{{#each list}}\n  {{#if this}}{{this}}{{/if}}\n  {{#with item}}\n{{/each}}';
    assert.deepEqual(findUnclosed(body), {
      line: 3,
      col: 2,
      what: '{{#with}} is never closed with {{/with}}',
    });
  });

  test('inverse sections ({{^x}}) and whitespace control ({{~#x}}) count as openings', () => {
    assert.deepEqual(findUnclosed('{{~#if a}}x'), {
      line: 1,
      col: 0,
      what: '{{#if}} is never closed with {{/if}}',
    });
    assert.equal(findUnclosed('{{^ empty}}x')?.what, '{{#empty}} is never closed with {{/empty}}');
    assert.equal(findUnclosed('{{^x}}none{{/x}}'), undefined);
  });
});
