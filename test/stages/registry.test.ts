import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STAGE_KINDS } from '../../src/spec/schema.js';
import { STAGES } from '../../src/stages/index.js';

test('every stage kind of the schema has a stage, filed under its own kind', () => {
  assert.deepEqual(Object.keys(STAGES).sort(), [...STAGE_KINDS].sort());
  for (const kind of STAGE_KINDS) {
    assert.equal(STAGES[kind].kind, kind);
    assert.equal(typeof STAGES[kind].run, 'function');
  }
});
