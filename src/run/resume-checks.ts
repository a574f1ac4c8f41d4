// What a run checks before any work (issue 13), in an order that refuses before it writes:
// the `--from-round` value, the checkpoints the run builds on, the pinned input files; then it
// records accepted changes and applies the reset.

import { PipelineError } from '../core/errors.js';
import type { PipelineSpec } from '../spec/schema.js';
import type { RunStore } from '../store/run-store.js';
import { checkFromRound, resetFromRound } from './from-round.js';
import { checkInputs, currentInputs } from './pin-inputs.js';
import { assertCheckpointsIntact, badCheckpoints } from './verify-checkpoints.js';

export interface StartChecks {
  id: string;
  file: string;
  spec: PipelineSpec;
  baseDir: string;
  runDir: string;
  resume: boolean;
  /** `--accept-changed` values. */
  acceptChanged?: readonly string[];
  /** `--from-round` N. */
  fromRound?: number;
}

/** Before anything is created: the resume-only flags need --resume. */
export function assertResumeFlags(o: {
  file: string;
  resume?: string;
  acceptChanged?: readonly string[];
  fromRound?: number;
}): void {
  if (!o.resume && (o.acceptChanged?.length || o.fromRound !== undefined))
    throw new PipelineError({
      code: 'E_USAGE',
      exitCode: 2, // a usage error, as the CLI's own
      message: '--accept-changed and --from-round apply to a resumed run',
      hint: `add --resume <run-id>: \`pipeline run ${o.file} --resume <run-id> ...\` (list runs with \`pipeline runs\`)`,
    });
}

export function checkRunStart(store: RunStore, r: StartChecks): void {
  const inputs = currentInputs(r.spec, r.baseDir);
  if (!r.resume) {
    store.pinInputs(inputs);
    return;
  }
  if (r.fromRound !== undefined) checkFromRound(r.spec, r.fromRound);
  const all = badCheckpoints(store, r.runDir);
  assertCheckpointsIntact(
    all.filter((b) => b.checkpoint.round < (r.fromRound ?? Infinity)),
    r,
  );
  checkInputs(store, inputs, {
    runId: r.id,
    file: r.file,
    baseDir: r.baseDir,
    accept: r.acceptChanged,
  });
  if (r.fromRound !== undefined) resetFromRound(store, r.spec, r.fromRound, all);
}
