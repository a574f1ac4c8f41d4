// Which files a pull takes from a listing, and which repositories it refuses before writing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PipelineError } from '../../src/core/errors.js';
import { checkPullable, selectPullFiles } from '../../src/hub/select-files.js';

const listing = (...names: string[]) => names.map((path) => ({ path }));

test('selectPullFiles: side files in a fixed order; a lone model.safetensors wins over exports', () => {
  const plan = selectPullFiles(
    listing(
      'README.md',
      'tokenizer.json',
      'config.json',
      'consolidated.safetensors',
      'model.safetensors',
      'sub/x.safetensors',
    ),
  );
  assert.deepEqual(plan, {
    side: ['config.json', 'tokenizer.json'],
    weights: ['model.safetensors'],
  });
  const noMain = selectPullFiles(listing('config.json', 'b.safetensors', 'a.safetensors'));
  assert.deepEqual(noMain.weights, ['a.safetensors', 'b.safetensors']);
});

test('selectPullFiles: with an index, the weights are the shards it names', () => {
  const l = listing(
    'config.json',
    'model.safetensors.index.json',
    'model-00001-of-00002.safetensors',
  );
  assert.deepEqual(selectPullFiles(l).weights, []);
  assert.deepEqual(selectPullFiles(l, ['s1.safetensors']), {
    side: ['config.json'],
    index: 'model.safetensors.index.json',
    weights: ['s1.safetensors'],
  });
});

test('checkPullable refuses adapters, non-models and repositories without safetensors', () => {
  const codeOf = (names: string[]): string | undefined => {
    try {
      checkPullable(listing(...names), selectPullFiles(listing(...names)), 'o/m@main');
      return undefined;
    } catch (e) {
      return (e as PipelineError).code + ': ' + (e as PipelineError).message;
    }
  };
  assert.equal(codeOf(['config.json', 'model.safetensors']), undefined);
  assert.equal(
    codeOf(['adapter_config.json', 'adapter_model.safetensors']),
    'E_PULL_NOT_A_MODEL: o/m@main has no config.json: it is a PEFT adapter, not a full model',
  );
  assert.equal(
    codeOf(['config.json', 'pytorch_model.bin']),
    'E_PULL_NO_SAFETENSORS: o/m@main has no .safetensors weights (only pytorch_model.bin)',
  );
});
