import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { canonicalJson, contentHash, inputHash } from '../../src/store/hash.js';
import { throwsCode } from './fixtures.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('canonicalJson', () => {
  test('sorts keys at every level and keeps array order', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } }),
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  test('undefined object fields are absent, like JSON', () => {
    assert.equal(canonicalJson({ a: 1, b: undefined }), canonicalJson({ a: 1 }));
  });

  test('typed arrays encode as plain arrays', () => {
    assert.equal(canonicalJson(new Int32Array([1, 2, 3])), '[1,2,3]');
    assert.equal(canonicalJson({ ids: new Uint16Array([7]) }), canonicalJson({ ids: [7] }));
  });

  test('uses toJSON (dates)', () => {
    assert.equal(canonicalJson(new Date(0)), '"1970-01-01T00:00:00.000Z"');
  });

  test('rejects values JSON would silently change', () => {
    throwsCode(() => canonicalJson({ a: NaN }), 'E_STORE_HASH', /\$\.a/);
    throwsCode(() => canonicalJson([Infinity]), 'E_STORE_HASH');
    throwsCode(() => canonicalJson([undefined]), 'E_STORE_HASH');
    throwsCode(() => canonicalJson(10n), 'E_STORE_HASH');
    throwsCode(() => canonicalJson(new Map()), 'E_STORE_HASH');
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    throwsCode(() => canonicalJson(loop), 'E_STORE_HASH', /circular/);
  });

  test('a shared (non-circular) sub-object is fine', () => {
    const shared = { x: 1 };
    assert.equal(canonicalJson([shared, shared]), '[{"x":1},{"x":1}]');
  });
});

describe('inputHash', () => {
  test('is sha256 of the canonical JSON array of its arguments', () => {
    assert.equal(inputHash('a', 1), sha('["a",1]'));
    assert.match(inputHash(), /^[0-9a-f]{64}$/);
  });

  test('does not depend on key order, does depend on argument boundaries', () => {
    assert.equal(inputHash({ a: 1, b: 2 }), inputHash({ b: 2, a: 1 }));
    assert.notEqual(inputHash('ab'), inputHash('a', 'b'));
    assert.notEqual(inputHash(1), inputHash('1'));
    assert.notEqual(inputHash(null), inputHash());
  });
});

describe('contentHash', () => {
  test('is the sha256 of the UTF-8 text (what sha256sum prints)', () => {
    assert.equal(
      contentHash('abc'),
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    assert.equal(
      contentHash('é\n'),
      createHash('sha256').update(Buffer.from('é\n', 'utf8')).digest('hex'),
    );
  });
});
