import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LineCounter, parseDocument } from 'yaml';
import type { PipelineFile } from '../../src/spec/read-file.js';
import { Problems } from '../../src/spec/validate/problems.js';

function fileOf(text: string): PipelineFile {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  return { path: 'p.yaml', value: document.toJS(), lineCounter, document };
}

const FILE = fileOf('name: t\nseed: 1\nstages:\n  - { kind: generate, top_p: 2 }\n');

describe('Problems', () => {
  test('locates each problem in the file, at the value or at the key', () => {
    const out = new Problems(FILE);
    out.add(['stages', 0, 'top_p'], 'value');
    out.add(['stages', 0, 'top_p'], 'key', 'key');
    assert.deepEqual(
      out.sorted().map((p) => [p.line, p.col, p.message]),
      [
        [4, 23, 'key'],
        [4, 30, 'value'],
      ],
    );
  });

  test('sorts by line and column, keeping the order found at one spot', () => {
    const out = new Problems(FILE);
    out.add(['stages', 0, 'top_p'], 'third');
    out.add(['seed'], 'second');
    out.add(['name'], 'first');
    out.add(['seed'], 'second, found later');
    assert.deepEqual(
      out.sorted().map((p) => p.message),
      ['first', 'second', 'second, found later', 'third'],
    );
  });

  test('says the same thing at the same place once', () => {
    const out = new Problems(FILE);
    out.add(['seed'], 'twice');
    out.add(['seed'], 'twice');
    out.add(['name'], 'twice');
    assert.deepEqual(
      out.sorted().map((p) => [p.path, p.message]),
      [
        [['name'], 'twice'],
        [['seed'], 'twice'],
      ],
    );
  });
});
