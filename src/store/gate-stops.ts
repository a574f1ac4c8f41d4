// The gates that stopped a run (table gate_stops, migration 2): written by the runner when an
// evaluate stage's stop gate fires, read by `show`, `drift`, `report` and by resume, which refuses
// to carry a stopped run past its gate.

import { prepareAll, type StoreClass } from './store-base.js';

export interface GateStopRow {
  runId: string;
  round: number;
  stageIndex: number;
  gateIndex: number;
  metric: string;
  op: '<' | '<=' | '>' | '>=';
  threshold: number;
  action: 'stop';
  value: number;
  createdAt: string;
}

export type NewGateStop = Omit<GateStopRow, 'runId' | 'createdAt' | 'action'>;

const COLS = `run_id AS runId, round, stage_index AS stageIndex, gate_index AS gateIndex, metric,
  op, threshold, action, value, created_at AS createdAt`;

const SQL = {
  // A resumed stage that fires the same gate again finds the row already there.
  insert: `INSERT INTO gate_stops (run_id, round, stage_index, gate_index, metric, op, threshold,
      action, value, created_at)
    VALUES (@runId, @round, @stageIndex, @gateIndex, @metric, @op, @threshold, 'stop', @value, @now)
    ON CONFLICT DO NOTHING`,
  list: `SELECT ${COLS} FROM gate_stops WHERE run_id = ? ORDER BY round, stage_index, gate_index`,
};

export function withGateStops<B extends StoreClass>(Base: B) {
  abstract class GateStops extends Base {
    readonly #s = prepareAll(this.db, SQL);

    /** Records the stop gates that fired in one evaluate stage, all or none. */
    recordGateStops(stops: readonly NewGateStop[]): void {
      this.guard('recording the gate stop', () =>
        this.tx(() => {
          for (const s of stops) this.#s.insert.run({ ...s, runId: this.runId, now: this.ts() });
        }),
      );
    }

    /** The gates that stopped this run (none for a run no gate stopped), in the order they fired. */
    gateStops(): GateStopRow[] {
      return this.guard('reading gate stops', () => this.#s.list.all(this.runId) as GateStopRow[]);
    }
  }
  return GateStops;
}

/** `kl > 0.5 (value 0.731) at round 2, stage 4`: one stop, as `show`, `drift` and errors say it. */
export function gateStopText(s: GateStopRow): string {
  return `${s.metric} ${s.op} ${s.threshold} (value ${formatValue(s.value)}) at round ${s.round}, stage ${s.stageIndex}`;
}

const formatValue = (v: number): string => (Number.isInteger(v) ? String(v) : v.toPrecision(4));
