import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import { fromRoot, repoRoot } from '../helpers/paths.js';

// The layer rule (eslint/layers.js) run through ESLint with the project's own config, on code
// placed (virtually) at a path inside src/: what it rejects is what `npm test` rejects.
const eslint = new ESLint({ cwd: repoRoot, overrideConfigFile: fromRoot('eslint.config.js') });

async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: fromRoot(file) });
  return result.messages.filter((m) => m.ruleId === 'layers/direction').map((m) => m.message);
}

test('the engine may not import anything above it', async () => {
  const errors = await layerErrors(
    'src/engine/train/new-file.ts',
    "import { judgeStage } from '../../stages/judge/index.js';\nexport const x = judgeStage;\n",
  );
  assert.equal(errors.length, 1);
  assert.match(errors[0], /src\/engine may not import src\/stages/);
});

test('ui imports only events', async () => {
  const bad = await layerErrors(
    'src/ui/new-view.ts',
    "import type { RunStore } from '../store/run-store.js';\nexport type X = RunStore;\n",
  );
  assert.match(bad.join('\n'), /src\/ui may not import src\/store/);
  const good = await layerErrors(
    'src/ui/new-view.ts',
    "import type { PipelineEvent } from '../events.js';\nexport type X = PipelineEvent;\n",
  );
  assert.deepEqual(good, []);
});

test('a stage may not import a sibling stage, only the files beside them', async () => {
  const bad = await layerErrors(
    'src/stages/pair.ts',
    "import { generateStage } from './generate.js';\nexport const x = generateStage;\n",
  );
  assert.match(bad.join('\n'), /stage pair may not import stage generate/);
  const good = await layerErrors(
    'src/stages/pair.ts',
    "import { generateOptions } from './sampling.js';\nexport const x = generateOptions;\n",
  );
  assert.deepEqual(good, []);
});

test('the spec layer may not import the runner', async () => {
  const errors = await layerErrors(
    'src/spec/new-check.ts',
    "import { runPipeline } from '../run/runner.js';\nexport const x = runPipeline;\n",
  );
  assert.match(errors.join('\n'), /src\/spec may not import src\/run/);
});

test('outside the engine, the engine is reached only through engine/index.ts', async () => {
  const deep = await layerErrors(
    'src/stages/new-stage.ts',
    "import { Engine } from '../engine/engine.js';\nexport const x = Engine;\n",
  );
  assert.match(deep.join('\n'), /through src\/engine\/index\.js/);
  const face = await layerErrors(
    'src/stages/new-stage.ts',
    "import { Engine } from '../engine/index.js';\nexport const x = Engine;\n",
  );
  assert.deepEqual(face, []);
});

test('the sandbox imports only core, and the layers that grade or train may import it', async () => {
  const bad = await layerErrors(
    'src/sandbox/new-family.ts',
    "import { Engine } from '../engine/index.js';\nexport const x = Engine;\n",
  );
  assert.match(bad.join('\n'), /src\/sandbox may not import src\/engine/);
  for (const file of ['src/judges/new.ts', 'src/stages/new.ts', 'src/run/new.ts'])
    assert.deepEqual(
      await layerErrors(
        file,
        "import { gradeAnswer } from '../sandbox/index.js';\nexport const x = gradeAnswer;\n",
      ),
      [],
      file,
    );
});

test('serve sees only core and the engine (through its face)', async () => {
  const bad = await layerErrors(
    'src/serve/new-route.ts',
    "import type { RunStore } from '../store/run-store.js';\nexport type X = RunStore;\n",
  );
  assert.match(bad.join('\n'), /src\/serve may not import src\/store/);
  const good = await layerErrors(
    'src/serve/new-route.ts',
    "import type { Engine } from '../engine/index.js';\nimport { fail } from '../core/errors.js';\nexport type X = Engine;\nexport const f = fail;\n",
  );
  assert.deepEqual(good, []);
});
