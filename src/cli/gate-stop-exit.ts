// How `pipeline run` ends when a gate stopped the run: exit code 3 (EXIT_GATE_STOP), so scripts
// can tell "the model regressed past a threshold" from success (0) and from a failure (1).

import { PipelineError } from '../core/errors.js';
import type { RunOutcome } from '../run/runner.js';
import { gateStopText } from '../store/gate-stops.js';
import { EXIT_GATE_STOP } from './exit-codes.js';

export function gateStopError(file: string, outcome: RunOutcome): PipelineError {
  const what = outcome.gateStops.map(gateStopText).join('; ') || 'a gate';
  return new PipelineError({
    code: 'E_RUN_GATE_STOPPED',
    message: `run ${outcome.runId} stopped by a gate: ${what}; its work is kept in ${outcome.runDir}`,
    hint:
      `see what changed with \`pipeline drift ${outcome.runId}\`; the run is not resumable ` +
      `(start a new run of ${file} to train further)`,
    exitCode: EXIT_GATE_STOP,
  });
}
