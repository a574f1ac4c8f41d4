import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fromRoot } from '../helpers/paths.js';
import { loadConstitution } from '../../src/prompts/constitution.js';
import {
  checkRubricUse,
  checkRubricVariables,
  loadRubric,
  missingRubricVariables,
  parseRubric,
  RUBRIC_MODES,
  STAGE_VARIABLES,
  type Rubric,
} from '../../src/prompts/rubric.js';
import { ANSWER_FORMAT_NAMES } from '../../src/prompts/answer-formats.js';
import { scratch, throwsCode } from './helpers.js';

const constitution = loadConstitution(fromRoot('constitutions/helpful-harmless.md'));
const principle = constitution.principles[0];

/** A value for every variable a shipped rubric may use, each recognisable in the output. */
const ALL_VARS: Record<string, unknown> = {
  prompt: 'PROMPT-TEXT',
  response: 'RESPONSE-TEXT',
  response_a: 'RESPONSE-A-TEXT',
  response_b: 'RESPONSE-B-TEXT',
  principle,
  critique: 'CRITIQUE-TEXT',
  constitution: constitution.principles,
  examples: ['EXAMPLE-ONE', 'EXAMPLE-TWO'],
  judge_prompt: 'JUDGE-PROMPT-TEXT',
  judgement_a: 'JUDGEMENT-A-TEXT',
  judgement_b: 'JUDGEMENT-B-TEXT',
};

const FM = '---\nanswer_format: score-line\nscale: [0, 5]\nmode: pointwise\n---\n';
const rubric = (body: string, fm = FM): Rubric => parseRubric(fm + body, 'inline.hbs');

const shipped = readdirSync(fromRoot('rubrics'))
  .filter((f) => f.endsWith('.hbs'))
  .sort();

describe('shipped rubrics', () => {
  test('the five rubrics the pipeline expects are there', () => {
    for (const name of [
      'additive-5pt.hbs',
      'pairwise-principle.hbs',
      'critique.hbs',
      'revision.hbs',
      'self-instruct.hbs',
    ]) {
      assert.ok(shipped.includes(name), `rubrics/${name} is missing`);
    }
  });

  for (const file of shipped) {
    test(`${file} compiles, declares a known format, and renders with its variables`, () => {
      const path = fromRoot('rubrics', file);
      const r = loadRubric(path);
      assert.ok((ANSWER_FORMAT_NAMES as readonly string[]).includes(r.format.name));
      assert.ok((RUBRIC_MODES as readonly string[]).includes(r.mode));
      assert.equal(r.hash, createHash('sha256').update(readFileSync(path, 'utf8')).digest('hex'));
      assert.ok(r.variables.length > 0);
      const vars = Object.fromEntries(r.variables.map((v) => [v, ALL_VARS[v]]));
      for (const v of r.variables)
        assert.ok(v in ALL_VARS, `${file} uses unexpected variable ${v}`);
      const out = r.render(vars);
      assert.ok(!out.includes('{{'), `${file} left a mustache in its output`);
      assert.ok(!out.startsWith('---'), 'front matter is not part of the prompt');
      for (const v of [
        'prompt',
        'response',
        'response_a',
        'response_b',
        'critique',
        'judge_prompt',
        'judgement_a',
        'judgement_b',
      ] as const) {
        if (r.variables.includes(v))
          assert.ok(out.includes(String(ALL_VARS[v])), `${v} not rendered`);
      }
      // The rubric must tell the judge the answer format its parser expects.
      const cue: Record<string, string> = {
        'score-line': 'Score:',
        'json-score': '"score"',
        'ab-choice': '(A)',
        'instruction-line': 'Instruction:',
      };
      // (The sandbox rubric does not: its model learned "Score: N" from its evaluation data, and
      // the text it was trained on is what it must keep seeing.)
      if (cue[r.format.name] && file !== 'sandbox-5pt.hbs')
        assert.ok(out.includes(cue[r.format.name]), `${file} does not name its answer format`);
      // Rendering only the required variables also works (optional parts drop out).
      r.render(Object.fromEntries(r.requiredVariables.map((v) => [v, ALL_VARS[v]])));
    });
  }

  test('additive-5pt: pointwise score-line on [0, 5], constitution optional', () => {
    const r = loadRubric(fromRoot('rubrics/additive-5pt.hbs'));
    assert.equal(r.format.name, 'score-line');
    assert.deepEqual(r.scale, [0, 5]);
    assert.equal(r.mode, 'pointwise');
    assert.deepEqual([...r.requiredVariables].sort(), ['prompt', 'response']);
    assert.deepEqual(r.optionalVariables, ['constitution']);
    const withC = r.render({ prompt: 'p', response: 'r', constitution: constitution.principles });
    assert.match(withC, new RegExp(`^1\\. ${principle.title}: `, 'm'));
    assert.match(withC, new RegExp(`^${constitution.principles.length}\\. `, 'm'));
    const without = r.render({ prompt: 'p', response: 'r' });
    assert.ok(!without.includes(principle.title));
    if (r.format.kind === 'score') assert.equal(r.format.logprob().prefix, 'Score: ');
  });

  test('pairwise-principle, critique, revision and self-instruct declare the right modes', () => {
    const modes = Object.fromEntries(
      ['pairwise-principle', 'critique', 'revision', 'self-instruct'].map((n) => {
        const r = loadRubric(fromRoot(`rubrics/${n}.hbs`));
        return [n, `${r.mode}/${r.format.name}`];
      }),
    );
    assert.deepEqual(modes, {
      'pairwise-principle': 'pairwise/ab-choice',
      critique: 'critique/free-text',
      revision: 'revision/free-text',
      'self-instruct': 'self-instruct/instruction-line',
    });
    const pw = loadRubric(fromRoot('rubrics/pairwise-principle.hbs'));
    assert.deepEqual([...pw.variables].sort(), ['principle', 'prompt', 'response_a', 'response_b']);
    const rev = loadRubric(fromRoot('rubrics/revision.hbs'));
    assert.deepEqual([...rev.variables].sort(), ['critique', 'principle', 'prompt', 'response']);
  });

  test('each shipped rubric fits the variables its stage provides (checkRubricUse)', () => {
    for (const file of shipped) {
      const r = loadRubric(fromRoot('rubrics', file));
      checkRubricUse(r, r.mode);
      for (const v of r.variables) assert.ok(STAGE_VARIABLES[r.mode].includes(v), `${file}: ${v}`);
    }
    const pw = loadRubric(fromRoot('rubrics/pairwise-principle.hbs'));
    throwsCode(
      () => checkRubricUse(pw, 'pointwise'),
      'E_RUBRIC_MODE',
      /pairwise-principle\.hbs:1:1: .*"mode: pairwise" but is used where a pointwise rubric is needed/,
    );
    const odd = rubric('{{prompt}} {{rating_guide}}');
    throwsCode(() => checkRubricUse(odd, 'pointwise'), 'E_RUBRIC_VARIABLE', /"rating_guide"/);
  });

  test('critique and revision use the principle-specific instruction when there is one', () => {
    const crit = loadRubric(fromRoot('rubrics/critique.hbs'));
    const withOwn = { ...principle, critique: 'OWN-CRITIQUE-INSTRUCTION' };
    assert.ok(
      crit.render({ ...ALL_VARS, principle: withOwn }).includes('OWN-CRITIQUE-INSTRUCTION'),
    );
    const { critique: _c, revision: _r, ...bare } = principle;
    const generic = crit.render({ ...ALL_VARS, principle: bare });
    assert.ok(generic.includes(principle.text));
  });
});

describe('variables', () => {
  test('top-level variables come from the AST, not from block contexts', () => {
    const r = rubric(
      '{{prompt}} {{#each items}}{{name}} {{@index}} {{../response}}{{/each}} {{@root.extra}}' +
        '{{#with obj}}{{inner}}{{/with}}{{!-- {{commented}} --}}',
    );
    assert.deepEqual(r.variables, ['prompt', 'items', 'response', 'extra', 'obj']);
    assert.deepEqual(r.optionalVariables, []);
  });

  test('variables used only under {{#if name}} are optional', () => {
    const r = rubric(
      '{{a}}{{#if b}}[{{b}}]{{/if}}{{#unless c}}none{{else}}{{c}}{{/unless}}{{#if d.e}}x{{/if}}',
    );
    assert.deepEqual(r.variables, ['a', 'b', 'c', 'd']);
    assert.deepEqual(r.optionalVariables, ['b', 'c']);
    assert.deepEqual(r.requiredVariables, ['a', 'd']);
    assert.equal(r.render({ a: 1, d: {} }), '1none');
    assert.equal(r.render({ a: 1, b: 2, c: 3, d: { e: true } }), '1[2]3x');
  });

  test('a missing variable at render time names it and the rubric, at file:line:col', () => {
    const path = scratch('missing.hbs', FM + 'Request:\n  {{prompt}}\nReply: {{response}}\n');
    const r = loadRubric(path);
    throwsCode(
      () => r.render({ prompt: 'p' }),
      'E_RUBRIC_VARIABLE',
      /"response"/,
      new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:8:10:`),
    );
    // undefined counts as missing: it would render as an empty string otherwise.
    throwsCode(
      () => r.render({ prompt: 'p', response: undefined }),
      'E_RUBRIC_VARIABLE',
      /"response"/,
    );
  });

  test('a missing nested field is reported by strict mode with the rubric path', () => {
    const path = scratch('nested.hbs', FM + 'Principle: {{principle.text}}\n');
    const r = loadRubric(path);
    throwsCode(
      () => r.render({ principle: { title: 'x' } }),
      'E_RUBRIC_VARIABLE',
      /"text" \(in \{\{principle\.text\}\}\) is not defined/,
      /nested\.hbs:6:14:/,
    );
  });

  test('checkRubricVariables reports a missing variable before any work starts', () => {
    const r = loadRubric(fromRoot('rubrics/additive-5pt.hbs'));
    checkRubricVariables(r, ['prompt', 'response']);
    checkRubricVariables(r, ['prompt', 'response', 'constitution', 'unused']);
    throwsCode(
      () => checkRubricVariables(r, ['prompt']),
      'E_RUBRIC_VARIABLE',
      /additive-5pt\.hbs:\d+:\d+: the rubric uses "response" but it is not provided/,
    );
    const missing = missingRubricVariables(r, []);
    assert.deepEqual(missing.map((m) => m.name).sort(), ['prompt', 'response']);
    const src = readFileSync(fromRoot('rubrics/additive-5pt.hbs'), 'utf8').split('\n');
    for (const m of missing) {
      assert.equal(src[m.line - 1].slice(m.col - 1, m.col - 1 + m.name.length), m.name);
    }
  });
});

describe('template errors', () => {
  test('a syntax error points at file:line:col of the rubric file', () => {
    const path = scratch('syntax.hbs', FM + 'line one\nline two {{prompt\n');
    throwsCode(
      () => loadRubric(path),
      'E_RUBRIC_TEMPLATE',
      /syntax\.hbs:7:10: the template does not compile: "\{\{prompt" is never closed/,
    );
    const mid = scratch('mid.hbs', FM + 'a {{prompt}}\nb {{response}}}\nc\n');
    throwsCode(() => loadRubric(mid), 'E_RUBRIC_TEMPLATE', /mid\.hbs:7:\d+: .*syntax error/);
    const lex = scratch('lex.hbs', FM + 'ok\n{{!-- never ends\n');
    throwsCode(() => loadRubric(lex), 'E_RUBRIC_TEMPLATE', /lex\.hbs:7:\d+:/);
  });

  test('an unclosed block is a compile error with its line', () => {
    const path = scratch('unclosed.hbs', FM + 'a\n{{#if x}}{{#each y}}{{/each}}\nb\n');
    throwsCode(
      () => loadRubric(path),
      'E_RUBRIC_TEMPLATE',
      /unclosed\.hbs:7:1: the template does not compile: \{\{#if\}\} is never closed/,
    );
    const mismatch = scratch('mismatch.hbs', FM + 'a\n{{#if x}}b{{/each}}\n');
    throwsCode(
      () => loadRubric(mismatch),
      'E_RUBRIC_TEMPLATE',
      /mismatch\.hbs:7:4: .*if doesn't match each/,
    );
  });

  test('helpers, partials, sections and decorators are rejected with their position', () => {
    throwsCode(
      () => rubric('x {{lookup this "a"}}'),
      'E_RUBRIC_TEMPLATE',
      /inline\.hbs:6:3: .*calls a helper/,
    );
    throwsCode(() => rubric('{{> header}}'), 'E_RUBRIC_TEMPLATE', /partials/);
    throwsCode(() => rubric('{{#prompt}}x{{/prompt}}'), 'E_RUBRIC_TEMPLATE', /not a block helper/);
    throwsCode(() => rubric('{{^prompt}}x{{/prompt}}'), 'E_RUBRIC_TEMPLATE', /not a block helper/);
    throwsCode(
      () => rubric('{{#each xs as |x|}}{{x}}{{/each}}'),
      'E_RUBRIC_TEMPLATE',
      /block parameters/,
    );
    throwsCode(() => rubric('{{#if (eq a b)}}x{{/if}}'), 'E_RUBRIC_TEMPLATE', /sub-expressions/);
    throwsCode(() => rubric('{{../prompt}}'), 'E_RUBRIC_TEMPLATE', /climbs above/);
  });
});

describe('prototype access', () => {
  for (const body of [
    '{{constructor}}',
    '{{constructor.name}}',
    '{{__proto__}}',
    '{{prompt.constructor.constructor}}',
    '{{#with prompt}}{{__proto__.toString}}{{/with}}',
    '{{#each items}}{{constructor}}{{/each}}',
    '{{prompt.__defineGetter__}}',
    '{{@root.constructor}}',
    '{{#with constructor}}{{name}}{{/with}}',
  ]) {
    test(`${body} is refused when the rubric loads`, () => {
      throwsCode(() => rubric(body), 'E_RUBRIC_TEMPLATE', /built-in property of every object/);
    });
  }

  test('values are rendered, never executed, and are not HTML-escaped', () => {
    const r = rubric('{{prompt}}|{{{response}}}');
    assert.equal(
      r.render({ prompt: '{{constructor}} <b>&', response: '\'"' }),
      '{{constructor}} <b>&|\'"',
    );
  });

  test('inherited properties of a variable are not visible, and functions are refused', () => {
    const r = rubric('{{#with obj}}[{{name}}]{{/with}}');
    const obj = Object.create({ name: 'inherited' }) as object;
    throwsCode(() => r.render({ obj }), 'E_RUBRIC_VARIABLE', /"name"/);
    assert.equal(r.render({ obj: { name: 'own' } }), '[own]');
    throwsCode(
      () => r.render({ obj: { name: () => 'called' } }),
      'E_RUBRIC_RENDER',
      /obj\.name" is a function/,
    );
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    throwsCode(() => r.render({ obj: cyclic }), 'E_RUBRIC_RENDER', /refers to itself/);
  });
});

describe('front matter', () => {
  test('a rubric without front matter is an error at line 1', () => {
    throwsCode(
      () => parseRubric('{{prompt}}', 'nofm.hbs'),
      'E_RUBRIC_FRONT_MATTER',
      /nofm\.hbs:1:1:/,
    );
    throwsCode(
      () => parseRubric('---\nanswer_format: score-line\n{{prompt}}', 'open.hbs'),
      'E_RUBRIC_FRONT_MATTER',
      /never closed/,
    );
  });

  test('unknown answer_format names the known ones', () => {
    throwsCode(
      () => rubric('x', '---\nanswer_format: stars\nmode: pointwise\n---\n'),
      'E_RUBRIC_FORMAT',
      /inline\.hbs:2:\d+: unknown answer_format "stars"/,
    );
  });

  test('bad front matter is reported at its line', () => {
    const cases: [string, RegExp][] = [
      ['---\nanswer_format: score-line\nmode: pointwise\n---\n', /no scale|needs a scale/],
      [
        '---\nanswer_format: score-line\nscale: [5, 0]\nmode: pointwise\n---\n',
        /:3:\d+: scale must be/,
      ],
      ['---\nanswer_format: score-line\nscale: 5\nmode: pointwise\n---\n', /:3:\d+: scale must be/],
      ['---\nanswer_format: score-line\nscale: [0, 5]\n---\n', /no mode/],
      [
        '---\nanswer_format: score-line\nscale: [0, 5]\nmode: listwise\n---\n',
        /:4:\d+: unknown mode "listwise"/,
      ],
      ['---\nanswer_format: ab-choice\nmode: pointwise\n---\n', /does not fit mode "pointwise"/],
      [
        '---\nanswer_format: ab-choice\nscale: [0, 5]\nmode: pairwise\n---\n',
        /:3:\d+: scale has no meaning/,
      ],
      [
        '---\nanswer_format: score-line\nscale: [0, 5]\nmode: pointwise\nanswer-format: x\n---\n',
        /:5:\d+: unknown front-matter key "answer-format"/,
      ],
      ['---\nanswer_format: score-line\nscale: [0, 5\nmode: pointwise\n---\n', /not valid YAML/],
      ['---\n- a\n- b\n---\n', /:2:1: front matter must be a YAML mapping/],
      [
        '---\nanswer_format: score-line\nanswer_format: json-score\nscale: [0, 5]\nmode: pointwise\n---\n',
        /not valid YAML/,
      ],
      [
        '---\nanswer_format: score-line\nscale: [0, 5]\nmode: pointwise\nlabel: X\n---\n',
        /label is only used/,
      ],
    ];
    for (const [fm, pattern] of cases) {
      throwsCode(() => rubric('{{prompt}}', fm), 'E_RUBRIC_FRONT_MATTER', pattern);
    }
  });

  test('the template starts after the front matter and hashes cover the whole file', () => {
    const r = rubric('Hello {{prompt}}\n\n');
    assert.equal(r.body, 'Hello {{prompt}}\n\n');
    assert.equal(r.render({ prompt: 'there' }), 'Hello there');
    assert.equal(
      r.hash,
      createHash('sha256')
        .update(FM + 'Hello {{prompt}}\n\n')
        .digest('hex'),
    );
    assert.notEqual(rubric('Hello  {{prompt}}').hash, r.hash);
  });

  test('a missing rubric file is a not-found error', () => {
    throwsCode(
      () => loadRubric(fromRoot('rubrics/does-not-exist.hbs')),
      'E_RUBRIC_NOT_FOUND',
      /does-not-exist/,
    );
  });
});

describe('numbered helper', () => {
  test('numbers items from 1 and renders {{else}} for an empty list', () => {
    const r = rubric(
      '{{#numbered xs}}{{@number}}/{{@index}}:{{this}}{{#if @last}}.{{else}}, {{/if}}{{else}}none{{/numbered}}',
    );
    assert.equal(r.render({ xs: ['a', 'b', 'c'] }), '1/0:a, 2/1:b, 3/2:c.');
    assert.equal(r.render({ xs: [] }), 'none');
    throwsCode(() => r.render({ xs: 'abc' }), 'E_RUBRIC_RENDER', /numbered needs a list/);
  });
});
