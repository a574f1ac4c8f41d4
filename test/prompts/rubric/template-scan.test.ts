import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hb } from '../../../src/prompts/rubric/sandbox.js';
import { scanTemplate, type Scan } from '../../../src/prompts/rubric/template-scan.js';
import { throwsCode } from '../helpers.js';

const scan = (body: string, lineOffset = 0): Scan =>
  scanTemplate(hb.parse(body), 'r.hbs', lineOffset);
const names = (s: Scan) => s.uses.map((u) => u.name);
const required = (s: Scan) => [...s.required].sort();

describe('scanTemplate: which variables', () => {
  test('top-level names in order of first use, each at its first position in the file (where the path starts)', () => {
    const s = scan('{{b}} {{a}}\n  {{b}} {{a.x}}', 4);
    assert.deepEqual(s.uses, [
      { name: 'b', line: 5, col: 3 },
      { name: 'a', line: 5, col: 9 },
    ]);
  });

  test('inside each/with/numbered a path is the item; ../ and @root reach the top level', () => {
    const s = scan(
      '{{#each list}}{{title}} {{../top}} {{@root.other.x}} {{this}} {{@index}}{{/each}}',
    );
    assert.deepEqual(names(s), ['list', 'top', 'other']);
    const w = scan('{{#with p}}{{#numbered items}}{{../../q}}{{name}}{{/numbered}}{{/with}}');
    assert.deepEqual(names(w), ['p', 'q']);
  });

  test('if and unless do not open a new context', () => {
    assert.deepEqual(names(scan('{{#if a}}{{b}}{{/if}}{{#unless c}}{{d}}{{/unless}}')), [
      'a',
      'b',
      'c',
      'd',
    ]);
  });

  test('pathAt maps each path (Handlebars line, 0-based column) to the path as written', () => {
    const s = scan('x\n  {{a.b}}{{#each l}}{{../c}}{{/each}}', 10);
    assert.equal(s.pathAt.get('2:4'), 'a.b');
    assert.equal(s.pathAt.get('2:22'), '../c');
  });
});

describe('scanTemplate: required or optional', () => {
  test('a plain {{#if x}} test makes x optional, and guards uses of x inside it', () => {
    const s = scan('{{#if x}}{{x}} {{x.y}}{{/if}}{{z}}');
    assert.deepEqual(required(s), ['z']);
  });

  test('the else of an if is not guarded; the else of an unless is', () => {
    assert.deepEqual(required(scan('{{#if x}}{{else}}{{x}}{{/if}}')), ['x']);
    assert.deepEqual(required(scan('{{#unless x}}{{x}}{{/unless}}')), ['x']);
    assert.deepEqual(required(scan('{{#unless x}}none{{else}}{{x}}{{/unless}}')), []);
  });

  test('{{#if x.y}} needs x (it throws on an absent x); one use outside a guard needs it', () => {
    assert.deepEqual(required(scan('{{#if x.y}}yes{{/if}}')), ['x']);
    assert.deepEqual(required(scan('{{#if x}}{{x}}{{/if}} {{x}}')), ['x']);
  });

  test('each/with/numbered need their list; a guard on the outer name covers it', () => {
    assert.deepEqual(required(scan('{{#each l}}{{/each}}{{#with w}}{{/with}}')), ['l', 'w']);
    assert.deepEqual(required(scan('{{#if l}}{{#numbered l}}{{this}}{{/numbered}}{{/if}}')), []);
  });
});

describe('scanTemplate: refusals point at file:line:col', () => {
  test('climbing above the top level', () => {
    throwsCode(
      () => scan('\n{{#each l}}{{../../x}}{{/each}}', 3),
      'E_RUBRIC_TEMPLATE',
      /^r\.hbs:5:14: "\.\.\/\.\.\/x" climbs above the top level$/,
    );
  });

  test('a path through a built-in property, written plainly or reached through a field', () => {
    throwsCode(() => scan('{{constructor}}'), 'E_RUBRIC_TEMPLATE', /^r\.hbs:1:3: "constructor" is/);
    throwsCode(
      () => scan('ok {{a.__proto__}}'),
      'E_RUBRIC_TEMPLATE',
      /^r\.hbs:1:6: "a\.__proto__" reaches "__proto__", which is a built-in/,
    );
  });

  test('block helpers with no or two variables, and block parameters', () => {
    throwsCode(
      () => scan('{{#each a b}}{{/each}}'),
      'E_RUBRIC_TEMPLATE',
      /takes exactly one variable/,
    );
    throwsCode(
      () => scan('{{#each a as |x|}}{{x}}{{/each}}'),
      'E_RUBRIC_TEMPLATE',
      /block parameters/,
    );
  });

  test('sub-expressions', () => {
    throwsCode(() => scan('{{#if (a)}}x{{/if}}'), 'E_RUBRIC_TEMPLATE', /sub-expressions/);
  });
});
