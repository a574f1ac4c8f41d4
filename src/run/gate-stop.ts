// A run stopped by a gate: the stop is stored (gate_stops, so the run reads as 'stopped'), told
// as a `gate-stop` event (which the event log keeps), and a resume is refused rather than
// carrying the run past the gate it failed.

import { PipelineError } from '../core/errors.js';
import type { EvaluateStageSpec } from '../spec/schema.js';
import type { RunContext } from '../stages/context.js';
import type { GateHit } from '../stages/stage.js';
import type { RunStore } from '../store/run-store.js';
import { gateStopText } from '../store/gate-stops.js';

/**
 * Stores and announces the stop gates among `hits`; returns whether any fired. Called before the
 * stage is marked done, so a crash in between leaves a stop a resume still sees.
 */
export function recordGateStop(
  ctx: RunContext,
  at: { round: number; stage: number; spec: EvaluateStageSpec },
  hits: readonly GateHit[],
): boolean {
  const gates = at.spec.gates ?? [];
  const stops = hits
    .filter((h) => h.gate.action === 'stop')
    .map((h) => ({
      round: at.round,
      stageIndex: at.stage,
      gateIndex: gates.indexOf(h.gate),
      metric: h.gate.metric,
      op: h.gate.op,
      threshold: h.gate.value,
      value: h.value,
    }));
  if (!stops.length) return false;
  ctx.store.recordGateStops(stops);
  for (const s of stops)
    ctx.emit({
      type: 'gate-stop',
      round: s.round,
      stage: s.stageIndex,
      gate: s.gateIndex,
      metric: s.metric,
      op: s.op,
      threshold: s.threshold,
      value: s.value,
    });
  return true;
}

/**
 * A gate stop is the run's result, not an accident to recover from: resuming would train past
 * the check the pipeline file set. Refused, with the way forward.
 */
export function refuseGateStopped(store: RunStore, runId: string, file: string): void {
  const stops = store.gateStops();
  if (!stops.length) return;
  throw new PipelineError({
    code: 'E_RESUME_GATE_STOPPED',
    message: `run ${runId} was stopped by a gate: ${stops.map(gateStopText).join('; ')}; it is not resumed`,
    hint:
      `its results are final (\`pipeline show ${runId}\`); to train further, start a new run of ` +
      `${file} with the gate's value or from_round changed`,
  });
}
