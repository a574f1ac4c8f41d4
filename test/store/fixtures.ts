// Shared setup for the store tests: real SQLite files in a fresh temp folder per test file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPipelineError, type PipelineError } from '../../src/core/errors.js';
import { openStore, type RunStore, type OpenStoreOptions } from '../../src/store/run-store.js';
import type { SamplingRecord } from '../../src/store/types.js';

export const SAMPLING: SamplingRecord = {
  temperature: 0.7,
  top_p: 0.9,
  top_k: 0,
  max_new_tokens: 64,
};

export const PIPELINE_YAML = 'name: test\nseed: 7\nrounds: 1\nstages: []\n';

/** A temp folder removed by the returned cleanup function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-store-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Asserts that fn throws a PipelineError with `code` and a non-empty hint; returns it. */
export function throwsCode(fn: () => unknown, code: string, message?: RegExp): PipelineError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected ${code}, but nothing was thrown`);
  assert.ok(isPipelineError(caught), `expected a PipelineError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, `${caught.code}: ${caught.message}`);
  assert.ok(caught.hint && caught.hint.length > 0, `${code} has no hint`);
  if (message) assert.match(caught.message, message);
  return caught;
}

let clock = Date.parse('2025-01-01T00:00:00Z');
/** A deterministic clock: every call is one second later. */
export function tick(): Date {
  clock += 1000;
  return new Date(clock);
}

export interface Seeded {
  store: RunStore;
  base: string;
  rubric: string;
  constitution: string;
}

/**
 * A store with run 'run-1', its base checkpoint, round 0 running on it and stages
 * 0 generate / 1 judge / 2 pair started.
 */
export function seededStore(path: string, options: OpenStoreOptions = {}): Seeded {
  const store = openStore(path, { now: tick, ...options });
  store.createRun({
    id: 'run-1',
    name: 'test',
    pipelinePath: 'pipelines/test.yaml',
    pipelineYaml: PIPELINE_YAML,
    seed: 7,
    toolVersion: '0.1.0',
  });
  const base = store.addCheckpoint({
    round: 0,
    kind: 'base',
    path: 'builtin:tiny',
    contentHash: 'f'.repeat(64),
  });
  store.upsertRound(0, {
    policyCheckpointId: base,
    referenceCheckpointId: base,
    status: 'running',
  });
  store.startStage(0, 0, 'generate');
  store.startStage(0, 1, 'judge');
  store.startStage(0, 2, 'pair');
  const rubric = store.putText('rubric', 'rubrics/additive-5pt.hbs', 'Rate {{response}} 1-5.');
  const constitution = store.putText('constitution', 'constitutions/hh.md', 'Be helpful.');
  return { store, base, rubric, constitution };
}
