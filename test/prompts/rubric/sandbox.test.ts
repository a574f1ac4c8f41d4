import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COMPILE_OPTIONS,
  hb,
  RUNTIME_OPTIONS,
  templateVariables,
} from '../../../src/prompts/rubric/sandbox.js';
import { throwsCode } from '../helpers.js';

const render = (body: string, vars: Record<string, unknown>): string =>
  hb.compile(body, COMPILE_OPTIONS)(templateVariables(vars, 'r.hbs'), RUNTIME_OPTIONS);

describe('templateVariables', () => {
  test('copies data onto objects with no inherited members to read', () => {
    const input = { p: { title: 'T', tags: ['a', { b: 1 }] } };
    const data = templateVariables(input, 'r.hbs');
    const p = data.p as Record<string, unknown>;
    assert.notEqual(p, input.p);
    assert.equal(p.title, 'T');
    assert.equal('hasOwnProperty' in p, false);
    assert.equal(Object.getPrototypeOf(Object.getPrototypeOf(p)), null);
    assert.ok(Array.isArray(p.tags));
    assert.equal('constructor' in ((p.tags as unknown[])[1] as object), false);
  });

  test('undefined fields inside objects are dropped; the same object twice is not a cycle', () => {
    const shared = { x: 1 };
    const data = templateVariables({ o: { a: undefined, b: shared, c: shared } }, 'r.hbs');
    const o = data.o as Record<string, unknown>;
    assert.deepEqual(Object.keys(o), ['b', 'c']);
  });

  test('functions, symbols and cycles are refused with the path to them', () => {
    throwsCode(
      () => templateVariables({ p: { list: [1, () => 2] } }, 'r.hbs'),
      'E_RUBRIC_RENDER',
      /^r\.hbs: variable "p\.list\[1\]" is a function; rubric variables must be data$/,
    );
    throwsCode(
      () => templateVariables({ s: Symbol('s') }, 'r.hbs'),
      'E_RUBRIC_RENDER',
      /"s" is a symbol/,
    );
    const loop: Record<string, unknown> = {};
    loop.self = { back: loop };
    throwsCode(
      () => templateVariables({ loop }, 'r.hbs'),
      'E_RUBRIC_RENDER',
      /variable "loop\.self\.back" refers to itself/,
    );
  });
});

describe('the Handlebars instance', () => {
  test('no escaping, and strict about missing names', () => {
    assert.equal(render('{{a}}', { a: '<b>&' }), '<b>&');
    assert.throws(() => render('{{a}}', {}), /"a" not defined/);
  });

  test('numbered gives @number from 1 and @first/@last, over lists only', () => {
    const out = render('{{#numbered l}}{{@number}}.{{this}}{{#if @last}}!{{/if}} {{/numbered}}', {
      l: ['x', 'y'],
    });
    assert.equal(out, '1.x 2.y! ');
    assert.throws(
      () => render('{{#numbered l}}{{/numbered}}', { l: 'text' }),
      /numbered needs a list, got string/,
    );
  });

  test('lookup and log are gone: only the block helpers and numbered are registered', () => {
    assert.deepEqual(Object.keys(hb.helpers).sort(), [
      'blockHelperMissing',
      'each',
      'helperMissing',
      'if',
      'numbered',
      'unless',
      'with',
    ]);
    assert.throws(() => render('{{lookup a "b"}}', { a: { b: 1 } }));
  });
});
