// `npm run build:sandbox-prompts`: writes the shipped pipelines' sandbox prompt files from the
// world (src/sandbox), deterministically: prompts/sandbox-train.jsonl (the loop's prompts, train
// split) and prompts/sandbox-probes.jsonl (held-out drift probes, with the canonical answer as the
// `reference` the log-prob shift scores). TRL prompt format, one task per line.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampleTasks, type SandboxTask } from '../sandbox/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const PROMPT_FILES = { seed: 4242, train: 240, probes: 32 };

const line = (t: SandboxTask, reference: boolean): string =>
  JSON.stringify({
    prompt: [{ role: 'user', content: t.prompt }],
    id: t.id,
    ...(reference ? { reference: t.answer } : {}),
  });

/** The first `n` distinct prompts of a longer sample (ids are prompt hashes: one id, one text). */
function distinct(split: 'train' | 'probe', n: number): SandboxTask[] {
  const seen = new Set<string>();
  return sampleTasks(PROMPT_FILES.seed, n * 8, { split })
    .filter((t) => !seen.has(t.id) && seen.add(t.id))
    .slice(0, n);
}

function write(file: string, tasks: SandboxTask[], reference: boolean): void {
  writeFileSync(
    join(ROOT, 'prompts', file),
    tasks.map((t) => line(t, reference)).join('\n') + '\n',
  );
  console.log(`prompts/${file}: ${tasks.length} tasks`);
}

write('sandbox-train.jsonl', distinct('train', PROMPT_FILES.train), false);
write('sandbox-probes.jsonl', distinct('probe', PROMPT_FILES.probes), true);
