// Text input: bytes that are not UTF-8 are an error at file:line:col in every text file a
// pipeline reads (never a silent U+FFFD), and an error about a file that failed to parse shows
// only a short excerpt of it, with control characters escaped.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPipelineError } from '../../src/core/errors.js';
import { excerpt } from '../../src/core/excerpt.js';
import { loadConstitution } from '../../src/prompts/constitution.js';
import { loadPhraseList } from '../../src/prompts/phrase-list.js';
import { loadPromptSet } from '../../src/prompts/prompt-set.js';
import { loadRubric } from '../../src/prompts/rubric.js';
import { readPipelineFile } from '../../src/spec/read-file.js';

const dir = mkdtempSync(join(tmpdir(), 'rlaif-text-'));
let n = 0;
function file(content: string | Buffer, ext = 'txt'): string {
  const p = join(dir, `f${n++}.${ext}`);
  writeFileSync(p, content);
  return p;
}

/** "caf\xE9" as Latin-1 writes it: one byte that is not UTF-8. */
const latin1 = (before: string, after = '') =>
  Buffer.concat([Buffer.from(before), Buffer.from([0xe9]), Buffer.from(after)]);

function rejectsAt(load: () => unknown, path: string, line: number, col: number): void {
  assert.throws(load, (e: unknown) => {
    assert.ok(isPipelineError(e), String(e));
    assert.equal(e.code, 'E_TEXT_ENCODING');
    assert.ok(e.message.startsWith(`${path}:${line}:${col}: byte 0xE9 is not UTF-8`), e.message);
    assert.ok(!e.message.includes('\uFFFD'));
    return true;
  });
}

describe('non-UTF-8 bytes', () => {
  test('a prompt file: the line and column of the first bad byte', () => {
    const p = file(latin1('{"prompt": "hi"}\n{"prompt": "ok"}\n{"prompt": "caf', '"}\n'));
    rejectsAt(() => loadPromptSet(p), p, 3, 16);
  });

  test('a constitution, a rubric, a phrase list and the pipeline file itself', () => {
    const c = file(latin1('# C\n\n## kind: be kind to the caf', '\n'), 'md');
    rejectsAt(() => loadConstitution(c), c, 3, 28);
    const r = file(
      latin1('---\nanswer_format: score-line\nmode: pointwise\n---\nRate ', ' {{response}}'),
    );
    rejectsAt(() => loadRubric(r), r, 5, 6);
    const ph = file(latin1('I cannot\nd', 'sol\n'));
    rejectsAt(() => loadPhraseList(ph), ph, 2, 2);
    const y = file(latin1('name: caf', '\n'), 'yaml');
    rejectsAt(() => readPipelineFile(y), y, 1, 10);
  });

  test('a truncated multi-byte character and a lone continuation byte are found too', () => {
    const p = file(Buffer.concat([Buffer.from('I cannot\n\u00e9t'), Buffer.from([0xe2, 0x82])]));
    assert.throws(() => loadPhraseList(p), /:2:3: byte 0xE2 is not UTF-8/);
    const q = file(Buffer.concat([Buffer.from('ab'), Buffer.from([0x80]), Buffer.from('c')]));
    assert.throws(() => loadPhraseList(q), /:1:3: byte 0x80 is not UTF-8/);
  });

  test('valid UTF-8 loads as before: a BOM is dropped, a real U+FFFD is kept', () => {
    const p = file('\uFEFFI cannot\nreplacement \uFFFD char\n');
    assert.deepEqual(loadPhraseList(p), ['I cannot', 'replacement \uFFFD char']);
  });
});

describe('error excerpts', () => {
  const ESC = '\u001b';

  test('excerpt caps the length and escapes control and bidi characters', () => {
    assert.equal(excerpt(`a${ESC}[31mb\u202Ec`), 'a\\x1b[31mb\\u202ec');
    const long = excerpt('x'.repeat(1000));
    assert.equal(long, `${'x'.repeat(60)}…`);
  });

  test('a prompt row that is not an object shows a short, escaped excerpt of it', () => {
    const big = JSON.stringify(`${ESC}]0;pwned${'\u0007'}${'A'.repeat(100_000)}`);
    const p = file(`${big}\n`, 'jsonl');
    assert.throws(
      () => loadPromptSet(p),
      (e: unknown) => {
        assert.ok(isPipelineError(e));
        assert.ok(e.message.length < 400, `message of ${e.message.length} characters`);
        assert.ok(!e.message.includes(ESC) && !e.message.includes('\u0007'));
        return true;
      },
    );
  });

  test('invalid JSON and a malformed heading never put a raw escape sequence in the message', () => {
    const p = file(`{"prompt": ${ESC}[2J${'B'.repeat(5000)}\n`, 'jsonl');
    assert.throws(
      () => loadPromptSet(p),
      (e: unknown) => {
        assert.ok(isPipelineError(e) && e.code === 'E_PROMPTS_JSON');
        assert.ok(!e.message.includes(ESC) && e.message.length < 400, e.message);
        return true;
      },
    );
    const c = file(`# C\n\n##${ESC}[2J ${'H'.repeat(5000)}\n`, 'md');
    assert.throws(
      () => loadConstitution(c),
      (e: unknown) => {
        assert.ok(isPipelineError(e) && e.code === 'E_CONSTITUTION_HEADING', String(e));
        assert.ok(!e.message.includes(ESC) && e.message.length < 400, e.message);
        return true;
      },
    );
  });
});
