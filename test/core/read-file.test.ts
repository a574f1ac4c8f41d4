import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fail, PipelineError } from '../../src/core/errors.js';
import { readUtf8File } from '../../src/core/read-file.js';

const dir = mkdtempSync(join(tmpdir(), 'read-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const checks = {
  notFound: () => fail('E_T_MISSING', 'missing'),
  maxBytes: 4,
  tooLarge: (size: number) => fail('E_T_LARGE', `size ${size}`),
};
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PipelineError);
    return `${e.code} ${e.message}`;
  }
  return 'no error';
};

test('readUtf8File reads a small UTF-8 file and reports each failure through its own callback', () => {
  const ok = join(dir, 'ok.txt');
  writeFileSync(ok, 'hé');
  assert.equal(readUtf8File(ok, checks), 'hé');
  assert.equal(
    code(() => readUtf8File(join(dir, 'nope.txt'), checks)),
    'E_T_MISSING missing',
  );
  assert.equal(
    code(() => readUtf8File(dir, checks)),
    'E_T_MISSING missing',
  ); // a folder
  const big = join(dir, 'big.txt');
  writeFileSync(big, '12345');
  assert.equal(
    code(() => readUtf8File(big, checks)),
    'E_T_LARGE size 5',
  );
  assert.equal(readUtf8File(big, { ...checks, maxBytes: undefined }), '12345');
  const bad = join(dir, 'bad.txt');
  writeFileSync(bad, Buffer.from([0x61, 0xff]));
  assert.match(
    code(() => readUtf8File(bad, checks)),
    new RegExp(`${bad.replace(/[.]/g, '\\.')}:1:2`),
  );
});
