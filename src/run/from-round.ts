// `pipeline run --resume <id> --from-round N`: redo round N's training and every later round on
// the last intact checkpoint (M_{N-1}). What must be redone, and why:
// - round N's generate/judge/pair (and critique) stages were built on M_{N-1}, which is kept, so
//   they stay done and their rows are reused;
// - round N's stages from its first train stage on, and every stage of later rounds, run again;
// - the checkpoints trained in rounds >= N are set aside (checkpoint_discards), never deleted: the
//   candidates and pairs they produced stay in the ledger for provenance but leave the rounds'
//   working sets, and a retrained checkpoint identical to a set-aside one is simply restored.

import { PipelineError } from '../core/errors.js';
import type { PipelineSpec } from '../spec/schema.js';
import type { RunStore } from '../store/run-store.js';
import type { BadCheckpoint } from './verify-checkpoints.js';
import { who } from './who.js';

/** Throws E_USAGE unless N is one of the pipeline's trained rounds. */
export function checkFromRound(spec: PipelineSpec, fromRound: number): void {
  if (!Number.isInteger(fromRound) || fromRound < 1 || fromRound > spec.rounds)
    throw new PipelineError({
      code: 'E_USAGE',
      exitCode: 2, // a usage error, as the CLI's own
      message: `--from-round ${fromRound}: this pipeline has rounds 1 to ${spec.rounds}`,
      hint: 'pass the round whose training should run again (round 0 is the untrained baseline)',
    });
}

/** Records and applies the reset (checkFromRound first). */
export function resetFromRound(
  store: RunStore,
  spec: PipelineSpec,
  fromRound: number,
  bad: readonly BadCheckpoint[],
): { stages: number; discarded: number } {
  const trainAt = spec.stages.findIndex((s) => s.kind === 'train');
  const why = new Map(bad.map((b) => [b.checkpoint.id, b.problem]));
  const already = store.discardedCheckpoints();
  const discards = store
    .listCheckpoints()
    .filter((c) => c.kind !== 'base' && c.round >= fromRound && !already.has(c.id))
    .map((c) => ({
      checkpointId: c.id,
      reason: why.get(c.id) ?? `--from-round ${fromRound}: trained in round ${c.round}`,
    }));
  const stages = store.resetRounds({
    fromRound,
    fromStage: trainAt < 0 ? 0 : trainAt,
    by: who(),
    discards,
  });
  return { stages, discarded: discards.length };
}
