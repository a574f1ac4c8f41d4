// Paths: files a pipeline names must resolve (symlinks followed) inside the pipeline's folder
// tree or the current project; any other folder needs --allow-path from the person running it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPipelineFile } from '../../src/spec/read-file.js';
import { checkPipeline } from '../../src/spec/validate/index.js';
import { runCli } from '../helpers/cli.js';

const PROMPT = '{"prompt": "hi"}\n';

/** A pipeline folder whose prompts.file is `promptsRef`, and a folder outside it holding a file. */
function setup(promptsRef: (outsideFile: string) => string) {
  const project = mkdtempSync(join(tmpdir(), 'rlaif-paths-project-'));
  const outside = mkdtempSync(join(tmpdir(), 'rlaif-paths-outside-'));
  const outsideFile = join(outside, 'secret.jsonl');
  writeFileSync(outsideFile, PROMPT);
  mkdirSync(join(project, 'prompts'));
  writeFileSync(join(project, 'prompts', 'seed.jsonl'), PROMPT);
  const file = join(project, 'p.yaml');
  writeFileSync(
    file,
    `name: p
model: { path: builtin:tiny }
prompts: { file: '${promptsRef(outsideFile)}' }
stages:
  - { kind: generate, candidates: 2 }
`,
  );
  return { project, outside, outsideFile, file };
}

const problems = (file: string, allowPaths?: string[]) =>
  checkPipeline(readPipelineFile(file), { checkFiles: true, allowPaths }).problems;

test('a file outside the pipeline folder and the project is refused unless --allow-path names it', () => {
  const s = setup((f) => f);
  const ps = problems(s.file);
  assert.equal(ps.length, 1, JSON.stringify(ps));
  assert.deepEqual(ps[0].path, ['prompts', 'file']);
  assert.match(ps[0].message, /is outside the pipeline's folder and the project folder/);
  assert.match(ps[0].message, /--allow-path <dir>/);
  assert.deepEqual(problems(s.file, [s.outside]), []);
});

test('a relative path climbing out with ../ is refused the same way', () => {
  const s = setup((f) => `../${f.split('/').slice(-2).join('/')}`);
  assert.equal(problems(s.file).length, 1);
});

test('a symlink inside the project that points outside is refused; one pointing inside is fine', () => {
  const s = setup(() => 'prompts/link.jsonl');
  symlinkSync(s.outsideFile, join(s.project, 'prompts', 'link.jsonl'));
  const ps = problems(s.file);
  assert.equal(ps.length, 1);
  assert.match(ps[0].message, /it resolves to .*secret\.jsonl/);
  const t = setup(() => 'prompts/link.jsonl');
  symlinkSync(join(t.project, 'prompts', 'seed.jsonl'), join(t.project, 'prompts', 'link.jsonl'));
  assert.deepEqual(problems(t.file), []);
});

test('pipeline validate and pipeline run take --allow-path; a refused run creates nothing', () => {
  const s = setup((f) => f);
  const refused = runCli(['validate', s.file]);
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /p\.yaml:3:\d+: prompts\.file: '.*secret\.jsonl' is outside/);
  const ok = runCli(['validate', s.file, '--allow-path', s.outside]);
  assert.equal(ok.status, 0, ok.stderr);
  const root = join(s.project, 'runs');
  const run = runCli(['run', s.file, '--root', root]);
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /is outside the pipeline's folder/);
  assert.ok(!existsSync(root), 'no runs folder was created');
});
