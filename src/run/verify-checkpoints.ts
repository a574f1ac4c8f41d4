// Resume checks its checkpoints first (issue 13): every trained checkpoint the resumed run will
// build on must exist and hash to what was stored when it was written. A missing or altered one
// used to surface rounds later (or in a hint about `pipeline train`); now the resume stops before
// any work and names the round to redo from.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PipelineError } from '../core/errors.js';
import type { CheckpointRow } from '../store/ledger/training.js';
import type { RunStore } from '../store/run-store.js';

export interface BadCheckpoint {
  checkpoint: CheckpointRow;
  /** The weights file checked. */
  file: string;
  problem: 'missing' | 'altered';
  /** The file's hash now, when it exists. */
  actual?: string;
}

/** The weights file whose hash train.ts stored as the checkpoint's content hash. */
export function weightsFile(runDir: string, c: CheckpointRow): string {
  const dir = resolve(runDir, c.path);
  return join(dir, c.kind === 'merged' ? 'model.safetensors' : 'adapter_model.safetensors');
}

/**
 * The trained checkpoints (not the base model: its config and tokenizer are pinned inputs) of
 * rounds before `beforeRound` that are not discarded, and which of them are missing or altered.
 */
export function badCheckpoints(
  store: RunStore,
  runDir: string,
  beforeRound = Infinity,
): BadCheckpoint[] {
  const discarded = store.discardedCheckpoints();
  const bad: BadCheckpoint[] = [];
  for (const c of store.listCheckpoints()) {
    if (c.kind === 'base' || c.round >= beforeRound || discarded.has(c.id)) continue;
    const file = weightsFile(runDir, c);
    if (!existsSync(file)) bad.push({ checkpoint: c, file, problem: 'missing' });
    else if (c.contentHash) {
      const actual = createHash('sha256').update(readFileSync(file)).digest('hex');
      if (actual !== c.contentHash) bad.push({ checkpoint: c, file, problem: 'altered', actual });
    }
  }
  return bad;
}

/** Throws E_RESUME_CHECKPOINT naming each bad checkpoint and the `--from-round` that redoes it. */
export function assertCheckpointsIntact(
  bad: BadCheckpoint[],
  run: { id: string; file: string },
): void {
  if (!bad.length) return;
  const lines = bad.map(({ checkpoint: c, file, problem, actual }) =>
    problem === 'missing'
      ? `  round ${c.round} (${c.kind}): ${file} is missing`
      : `  round ${c.round} (${c.kind}): ${file} was altered (stored sha256 ${c.contentHash!.slice(0, 12)}, now ${actual!.slice(0, 12)})`,
  );
  const from = Math.min(...bad.map((b) => b.checkpoint.round));
  throw new PipelineError({
    code: 'E_RESUME_CHECKPOINT',
    message: `run ${run.id} cannot resume: ${bad.length === 1 ? 'a checkpoint it builds on is' : `${bad.length} checkpoints it builds on are`} not as stored:\n${lines.join('\n')}`,
    hint:
      `restore the file${bad.length === 1 ? '' : 's'}, or retrain from the last intact checkpoint: ` +
      `\`pipeline run ${run.file} --resume ${run.id} --from-round ${from}\` ` +
      `(rounds ${from}+ train again; their stored rows are kept and set aside)`,
  });
}
