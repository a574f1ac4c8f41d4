// Gates: a gate fires when `metric op threshold` holds for a metric this stage recorded, compared
// exactly as written in the pipeline file (no tolerance). A metric that is missing or not finite
// (no data: NaN) fires nothing.
import type { GateSpec } from '../../../spec/schema.js';
import type { GateHit } from '../../stage.js';

export function gateHolds(op: GateSpec['op'], value: number, threshold: number): boolean {
  switch (op) {
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
  }
}

/** The gates that fire on `metrics`, in the order the pipeline file lists them. */
export function firedGates(
  gates: readonly GateSpec[],
  metrics: Readonly<Record<string, number>>,
): GateHit[] {
  const hits: GateHit[] = [];
  for (const gate of gates) {
    const value = metrics[gate.metric];
    if (value === undefined || !Number.isFinite(value)) continue;
    if (gateHolds(gate.op, value, gate.value)) hits.push({ gate, value });
  }
  return hits;
}

/**
 * The gates checked at `round`: a gate starts at its `from_round` (default 1), so the untrained
 * model's baseline (round 0) stops nothing unless the pipeline asks for it.
 */
export function gatesAtRound(gates: readonly GateSpec[], round: number): GateSpec[] {
  // `from_round` is absent only in specs built by hand; the schema's default is 1.
  return gates.filter((g) => round >= (g.from_round ?? 1));
}
