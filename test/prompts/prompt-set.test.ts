import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fromRoot } from '../helpers/paths.js';
import {
  findPhrases,
  loadPhraseList,
  normalizeForPhraseMatch,
} from '../../src/prompts/phrase-list.js';
import { loadPromptSet } from '../../src/prompts/prompt-set.js';
import { scratch, throwsCode } from './helpers.js';

describe('shipped prompt sets', () => {
  test('seed.jsonl: about 100 prompts with unique seed-NNN ids', () => {
    const rows = loadPromptSet(fromRoot('prompts/seed.jsonl'));
    assert.ok(rows.length >= 90 && rows.length <= 120, `got ${rows.length} seed prompts`);
    assert.equal(new Set(rows.map((r) => r.id)).size, rows.length);
    for (const r of rows) {
      assert.match(r.id, /^seed-\d{3}$/);
      assert.equal(r.messages.at(-1)?.role, 'user');
    }
    assert.ok(
      rows.some((r) => r.messages.length > 1),
      'some rows are multi-turn or have a system prompt',
    );
    const texts = new Set(rows.map((r) => r.messages.at(-1)?.content));
    assert.equal(texts.size, rows.length, 'no repeated prompts');
  });

  test('probes.jsonl: 24 fixed probes probe-01.. with reference answers', () => {
    const rows = loadPromptSet(fromRoot('prompts/probes.jsonl'));
    assert.equal(rows.length, 24);
    rows.forEach((r, i) => {
      assert.equal(r.id, `probe-${String(i + 1).padStart(2, '0')}`);
      assert.ok(r.reference && r.reference.length > 0, `${r.id} has a reference`);
    });
  });

  test('phrase lists load, skip comments and match refusals and boilerplate', () => {
    const refusals = loadPhraseList(fromRoot('prompts/refusal-phrases.txt'));
    const boiler = loadPhraseList(fromRoot('prompts/boilerplate-phrases.txt'));
    assert.ok(refusals.length >= 10 && boiler.length >= 10);
    assert.ok(![...refusals, ...boiler].some((p) => p.startsWith('#')));
    assert.ok(findPhrases('I’m sorry, but I can’t help with that.', refusals).length > 0);
    assert.deepEqual(findPhrases('Paris is the capital of France.', refusals), []);
    assert.ok(findPhrases('Great question! I hope this helps.', boiler).length >= 2);
    // The probes' reference refusals are recognised as refusals; the helpful ones are not.
    const probes = loadPromptSet(fromRoot('prompts/probes.jsonl'));
    const refused = probes.filter((p) => findPhrases(p.reference ?? '', refusals).length > 0);
    assert.ok(
      refused.length >= 3 && refused.length < probes.length / 2,
      `${refused.map((p) => p.id)}`,
    );
  });
});

describe('loadPromptSet', () => {
  test('accepts messages or a plain string, derives missing ids as <file>-<line>', () => {
    const p = scratch(
      'mixed.jsonl',
      [
        '{"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], "id": "x1"}',
        '',
        '{"prompt": "Plain string prompt", "reference": "ref"}',
        '{"prompt": "ignored TRL columns", "chosen": "a", "rejected": "b"}',
      ].join('\n') + '\n',
    );
    const rows = loadPromptSet(p);
    assert.deepEqual(rows, [
      {
        id: 'x1',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
        ],
      },
      {
        id: 'mixed-3',
        messages: [{ role: 'user', content: 'Plain string prompt' }],
        reference: 'ref',
      },
      { id: 'mixed-4', messages: [{ role: 'user', content: 'ignored TRL columns' }] },
    ]);
  });

  test('bad rows are errors at file:line', () => {
    const cases: [string, string, RegExp][] = [
      ['{"prompt": "ok"}\n{"prompt": ', 'E_PROMPTS_JSON', /:2: invalid JSON/],
      ['["prompt"]', 'E_PROMPTS_ROW', /:1: expected a JSON object, got an array/],
      ['{"id": "a"}', 'E_PROMPTS_ROW', /:1: missing "prompt"/],
      ['{"prompt": ""}', 'E_PROMPTS_ROW', /"prompt" is empty/],
      ['{"prompt": []}', 'E_PROMPTS_ROW', /no messages/],
      ['{"prompt": 42}', 'E_PROMPTS_ROW', /must be a list of messages or a string/],
      [
        '{"prompt": [{"role": "robot", "content": "x"}]}',
        'E_PROMPTS_ROW',
        /prompt\[0\]\.role must be one of/,
      ],
      [
        '{"prompt": [{"role": "user", "content": 5}]}',
        'E_PROMPTS_ROW',
        /prompt\[0\]\.content must be a non-empty string/,
      ],
      [
        '{"prompt": [{"role": "user", "content": "x", "name": "n"}]}',
        'E_PROMPTS_ROW',
        /unknown field "name"/,
      ],
      [
        '{"prompt": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}',
        'E_PROMPTS_ROW',
        /must end with a user message/,
      ],
      ['{"prompt": "x", "id": 7}', 'E_PROMPTS_ROW', /"id" must be a non-empty string/],
      ['{"prompt": "x", "id": " a"}', 'E_PROMPTS_ROW', /"id" must be/],
      [
        '{"prompt": "x", "reference": ""}',
        'E_PROMPTS_ROW',
        /"reference" must be a non-empty string/,
      ],
      ['{"prompt": "x", "refrence": "typo"}', 'E_PROMPTS_ROW', /unknown field "refrence"/],
    ];
    cases.forEach(([text, code, pattern], i) => {
      const p = scratch(`bad-${i}.jsonl`, text);
      throwsCode(() => loadPromptSet(p), code, new RegExp(`bad-${i}\\.jsonl:\\d+`), pattern);
    });
  });

  test('duplicate ids are an error naming both lines, explicit or derived', () => {
    const p = scratch('dup.jsonl', '{"prompt": "a", "id": "s"}\n{"prompt": "b", "id": "s"}\n');
    throwsCode(
      () => loadPromptSet(p),
      'E_PROMPTS_DUPLICATE_ID',
      /dup\.jsonl:2: id "s" is already used at line 1/,
    );
    const q = scratch('d.jsonl', '{"prompt": "a", "id": "d-2"}\n{"prompt": "b"}\n');
    throwsCode(() => loadPromptSet(q), 'E_PROMPTS_DUPLICATE_ID', /d\.jsonl:2: id "d-2"/);
  });

  test('an empty file or a missing file is an error', () => {
    throwsCode(
      () => loadPromptSet(scratch('empty.jsonl', '')),
      'E_PROMPTS_EMPTY',
      /empty\.jsonl: no prompts/,
    );
    throwsCode(() => loadPromptSet(scratch('blank.jsonl', '\n  \n')), 'E_PROMPTS_EMPTY');
    throwsCode(
      () => loadPromptSet(fromRoot('prompts/nope.jsonl')),
      'E_PROMPTS_NOT_FOUND',
      /nope\.jsonl/,
    );
  });

  test('a UTF-8 byte-order mark and CRLF line endings are accepted', () => {
    const p = scratch('bom.jsonl', '\uFEFF{"prompt": "a"}\r\n{"prompt": "b"}\r\n');
    assert.deepEqual(
      loadPromptSet(p).map((r) => r.messages[0].content),
      ['a', 'b'],
    );
  });
});

describe('loadPhraseList', () => {
  test('trims, skips blanks and comments, keeps the first of repeated phrases', () => {
    const p = scratch('phr.txt', '# comment\n  I cannot  \n\nI CANNOT\nAs an AI\n');
    assert.deepEqual(loadPhraseList(p), ['I cannot', 'As an AI']);
  });

  test('a list with no phrases is an error', () => {
    throwsCode(
      () => loadPhraseList(scratch('none.txt', '# only a comment\n\n')),
      'E_PHRASES_EMPTY',
      /none\.txt/,
    );
    throwsCode(() => loadPhraseList(fromRoot('prompts/nope.txt')), 'E_PHRASES_NOT_FOUND');
  });

  test('matching folds case, typographic apostrophes and whitespace', () => {
    assert.equal(normalizeForPhraseMatch('I’m  NOT\nable'), "i'm not able");
    assert.deepEqual(findPhrases('WELL, I can’t\thelp with that', ["I can't help"]), [
      "I can't help",
    ]);
  });
});
