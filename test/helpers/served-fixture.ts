import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromRoot, repoRoot } from './paths.js';

/**
 * test/fixtures/served-policy.yaml with its policy on the server at `baseUrl` (served as 'tiny',
 * `modelExtra` appended to the model's settings), its paths made absolute, `edit` applied to
 * the rest, written to `dir` (default: a new temporary folder). The file's path.
 */
export function servedFixture(
  baseUrl: string,
  o: { dir?: string; modelExtra?: string; edit?: (text: string) => string } = {},
): string {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'rlaif-served-'));
  const text = (o.edit ?? ((t) => t))(
    readFileSync(fromRoot('test/fixtures/served-policy.yaml'), 'utf8')
      .replaceAll('../../', `${repoRoot}/`)
      .replace('served-probes.jsonl', fromRoot('test/fixtures/served-probes.jsonl'))
      .replace(
        'model: { path: builtin:tiny }',
        `model: { path: builtin:tiny, backend: openai, base_url: '${baseUrl}', model: tiny${o.modelExtra ?? ''} }`,
      ),
  );
  const file = join(dir, 'served-policy.yaml');
  writeFileSync(file, text);
  return file;
}
