import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fromRoot } from '../helpers/paths.js';
import { Rng } from '../../src/core/rng.js';
import {
  loadConstitution,
  parseConstitution,
  PRINCIPLE_ID,
  samplePrinciple,
} from '../../src/prompts/constitution.js';
import { scratch, throwsCode } from './helpers.js';

describe('shipped constitutions', () => {
  test('helpful-harmless.md has 12-20 principles with unique, stable ids and text', () => {
    const c = loadConstitution(fromRoot('constitutions/helpful-harmless.md'));
    const n = c.principles.length;
    assert.ok(n >= 12 && n <= 20, `expected 12-20 principles, got ${n}`);
    const ids = c.principles.map((p) => p.id);
    assert.equal(new Set(ids).size, n);
    ids.forEach((id, i) => {
      assert.match(id, PRINCIPLE_ID);
      assert.ok(id.startsWith(`hhh-${String(i + 1).padStart(2, '0')}-`), id);
    });
    for (const p of c.principles) {
      assert.ok(p.title.length > 0 && p.text.length > 40, p.id);
      // Hard-wrapped markdown paragraphs become flowing text for the judge prompt.
      assert.ok(!p.text.includes('\n'), `${p.id} text should be one paragraph`);
    }
    assert.ok(c.principles.some((p) => p.critique && p.revision));
    assert.equal(c.title, 'Helpful, honest and harmless');
    assert.match(c.hash, /^[0-9a-f]{64}$/);
  });

  test('every shipped constitution parses', () => {
    for (const f of readdirSync(fromRoot('constitutions')).filter((f) => f.endsWith('.md'))) {
      assert.ok(loadConstitution(fromRoot('constitutions', f)).principles.length > 0, f);
    }
  });
});

describe('parseConstitution', () => {
  const text = [
    '# My constitution',
    '',
    'Prose before the first principle is a description.',
    '',
    '## p-1: First',
    'Be honest',
    'and kind.',
    '',
    'Second paragraph.',
    'critique: Find the',
    'dishonest parts.',
    'Revision: Make it honest.',
    '',
    '<!--',
    '## p-2: Switched off',
    'Hidden.',
    '-->',
    '## p.3_x: Third ##',
    '- item one',
    '- item two',
    '```',
    '## not-a-heading: inside a fence',
    '```',
  ].join('\n');

  test('reads ids, titles, unwrapped text, critique and revision lines', () => {
    const c = parseConstitution(text, 'c.md');
    assert.equal(c.title, 'My constitution');
    assert.deepEqual(
      c.principles.map((p) => p.id),
      ['p-1', 'p.3_x'],
    );
    const [p1, p3] = c.principles;
    assert.equal(p1.title, 'First');
    assert.equal(p1.text, 'Be honest and kind.\n\nSecond paragraph.');
    assert.equal(p1.critique, 'Find the dishonest parts.');
    assert.equal(p1.revision, 'Make it honest.');
    assert.equal(p1.line, 5);
    assert.equal(p3.title, 'Third');
    assert.equal(p3.text, '- item one\n- item two\n```\n## not-a-heading: inside a fence\n```');
    assert.equal(p3.critique, undefined);
    assert.equal(p3.line, 18, 'comments keep line numbers true');
  });

  test('CRLF line endings parse the same', () => {
    const c = parseConstitution(text.replace(/\n/g, '\r\n'), 'c.md');
    assert.equal(c.principles[0].text, 'Be honest and kind.\n\nSecond paragraph.');
  });

  test('duplicate ids are an error at the second heading, naming the first', () => {
    throwsCode(
      () => parseConstitution('## a: x\ntext\n\n## a: y\ntext', 'dup.md'),
      'E_CONSTITUTION_DUPLICATE_ID',
      /dup\.md:4: principle id "a" is already used at line 1/,
    );
  });

  test('a principle without text is an error at its heading', () => {
    throwsCode(
      () => parseConstitution('## a: x\ntext\n## b: empty\n\n## c: z\ntext', 'e.md'),
      'E_CONSTITUTION_EMPTY_PRINCIPLE',
      /e\.md:3: principle "b" has no text/,
    );
    throwsCode(
      () => parseConstitution('## a: x\ncritique: only a critique', 'e.md'),
      'E_CONSTITUTION_EMPTY_PRINCIPLE',
    );
  });

  test('malformed headings are errors at file:line', () => {
    const cases: [string, RegExp][] = [
      ['## Honesty\ntext', /h\.md:1: malformed principle heading "## Honesty"/],
      ['## a:\ntext', /h\.md:1: malformed/],
      ['##a: x\ntext', /h\.md:1: malformed/],
      ['## a b: x\ntext', /h\.md:1: malformed/],
      ['\n\n## HHH-01: x\ntext', /h\.md:3: principle id "HHH-01" is not allowed/],
      ['## a--b: x\ntext', /principle id "a--b"/],
      ['## a: x\ntext\n# Another title', /h\.md:3: a level-1 heading/],
    ];
    for (const [src, pattern] of cases)
      throwsCode(() => parseConstitution(src, 'h.md'), 'E_CONSTITUTION_HEADING', pattern);
  });

  test('repeated or empty critique/revision lines are errors', () => {
    throwsCode(
      () => parseConstitution('## a: x\ntext\ncritique: one\n\ncritique: two', 'f.md'),
      'E_CONSTITUTION_FIELD',
      /f\.md:5: principle "a" has a second "critique:" line \(the first is at line 3\)/,
    );
    throwsCode(
      () => parseConstitution('## a: x\ntext\nrevision:   ', 'f.md'),
      'E_CONSTITUTION_FIELD',
      /f\.md:3: "revision:" of principle "a" is empty/,
    );
  });

  test('a file without principles is an error', () => {
    throwsCode(
      () => parseConstitution('# Title\n\nJust prose.', 'none.md'),
      'E_CONSTITUTION_EMPTY',
      /none\.md: no principles/,
    );
    throwsCode(() => parseConstitution('', 'empty.md'), 'E_CONSTITUTION_EMPTY');
  });

  test('loadConstitution reads a file and reports a missing one', () => {
    const p = scratch('c.md', '## only-one: Only\nThe one principle.\n');
    assert.equal(loadConstitution(p).principles[0].id, 'only-one');
    throwsCode(() => loadConstitution(p + '.missing'), 'E_CONSTITUTION_NOT_FOUND', /not found/);
  });
});

describe('samplePrinciple', () => {
  const c = parseConstitution(
    ['## a: A', 'x', '## b: B', 'x', '## c: C', 'x', '## d: D', 'x'].join('\n'),
    'four.md',
  );

  test('maps [0, 1) uniformly onto the principles, including the edges', () => {
    const at = (u: number) => samplePrinciple(c, { nextFloat: () => u }).id;
    assert.equal(at(0), 'a');
    assert.equal(at(0.2499), 'a');
    assert.equal(at(0.25), 'b');
    assert.equal(at(0.75), 'd');
    assert.equal(at(0.999999999), 'd');
    assert.equal(at(1), 'd', 'a generator returning 1 must not index past the end');
  });

  test('is deterministic for a seeded Rng and reaches every principle', () => {
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 400 }, () => samplePrinciple(c, rng).id);
    };
    assert.deepEqual(draw(7), draw(7));
    const counts = new Map<string, number>();
    for (const id of draw(7)) counts.set(id, (counts.get(id) ?? 0) + 1);
    assert.equal(counts.size, 4);
    for (const n of counts.values()) assert.ok(n > 60 && n < 140, `skewed counts ${[...counts]}`);
  });

  test('an empty constitution cannot be sampled', () => {
    throwsCode(
      () => samplePrinciple({ path: 'x.md', hash: '', principles: [] }, { nextFloat: () => 0 }),
      'E_CONSTITUTION_EMPTY',
    );
  });
});
