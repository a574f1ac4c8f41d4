// Hub URLs and default folders (repository ids themselves are covered in pull.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PipelineError } from '../../src/core/errors.js';
import { DEFAULT_HUB_URL, defaultPullDir, normalizeHubUrl } from '../../src/hub/repo-id.js';

test('normalizeHubUrl defaults to huggingface.co, trims slashes, and wants http(s)', () => {
  assert.equal(normalizeHubUrl(undefined), DEFAULT_HUB_URL);
  assert.equal(normalizeHubUrl(' http://mirror.test:8080/hf// '), 'http://mirror.test:8080/hf');
  for (const bad of ['mirror.test', 'ftp://mirror.test']) {
    assert.throws(
      () => normalizeHubUrl(bad),
      (e: unknown) => e instanceof PipelineError && e.code === 'E_PULL_HUB_URL' && e.exitCode === 2,
    );
  }
});

test('defaultPullDir is models/<name>, for owner/name and bare names', () => {
  assert.equal(defaultPullDir('hf:HuggingFaceTB/SmolLM2-135M'), join('models', 'SmolLM2-135M'));
  assert.equal(defaultPullDir('gpt2'), join('models', 'gpt2'));
});
