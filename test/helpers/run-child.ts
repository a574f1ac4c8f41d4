// A real `pipeline run ... --json` child process that a test can SIGKILL at a chosen point of
// its NDJSON event stream, the way a crash, an OOM kill or a pulled plug would stop it.
import { spawn } from 'node:child_process';
import { binPath, repoRoot } from './paths.js';

export type RunEvent = Record<string, unknown> & { type: string };

/** Where an event falls in a run: [round, stage index, ordinal within that stage in this process]. */
export type Position = [number, number, number];

export interface ChildResult {
  runId: string;
  pid: number;
  /** The event that triggered the kill (null when the child ended on its own). */
  killedAt: RunEvent | null;
  killedPosition: Position | null;
  code: number | null;
  signal: NodeJS.Signals | null;
  events: RunEvent[];
  positions: Position[];
  stderr: string;
}

export interface ChildOptions {
  env?: NodeJS.ProcessEnv;
  /** Kill on the first event for which this returns a delay in ms (0 = at once). */
  killAt?: (e: RunEvent, at: Position) => number | undefined;
  /** Called once per event, e.g. to start a second process while this one runs. */
  onEvent?: (e: RunEvent, child: { pid: number }) => void;
}

/**
 * Track positions the same way in every process: stage events carry their stage index; events
 * that only name a round (candidate, judgement, train-step...) belong to the last stage started;
 * round-start sorts before every stage of its round and round-end after.
 */
export function positionTracker(): (e: RunEvent) => Position {
  let stage = -1;
  let key = '';
  let n = 0;
  return (e) => {
    const round = typeof e.round === 'number' ? e.round : e.type === 'run-end' ? 1e9 : -1;
    if (e.type === 'round-start') stage = -1;
    else if (typeof e.stage === 'number') stage = e.stage;
    const s = e.type === 'round-end' ? 1e9 : e.type === 'round-start' ? -1 : stage;
    const k = `${round}/${s}`;
    n = k === key ? n + 1 : 1;
    key = k;
    return [round, s, n];
  };
}

export function comparePositions(a: Position, b: Position): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Run `pipeline <args> --json` to its end or to its kill; never rejects on a non-zero exit. */
export function runChild(args: string[], opts: ChildOptions = {}): Promise<ChildResult> {
  return new Promise((resolveP, reject) => {
    const child = spawn(process.execPath, [binPath, ...args, '--json'], {
      cwd: repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const r: ChildResult = {
      runId: '',
      pid: child.pid ?? -1,
      killedAt: null,
      killedPosition: null,
      code: null,
      signal: null,
      events: [],
      positions: [],
      stderr: '',
    };
    const position = positionTracker();
    let exited = false;
    let buf = '';
    child.stderr.on('data', (d: Buffer) => (r.stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const e = JSON.parse(buf.slice(0, nl)) as RunEvent;
        buf = buf.slice(nl + 1);
        const at = position(e);
        r.runId ||= e.runId as string;
        r.events.push(e);
        r.positions.push(at);
        opts.onEvent?.(e, { pid: r.pid });
        const delay = r.killedAt ? undefined : opts.killAt?.(e, at);
        if (delay === undefined) continue;
        r.killedAt = e;
        r.killedPosition = at;
        // the delay lets a kill land between events: mid-transaction, mid-checkpoint write
        setTimeout(() => exited || child.kill('SIGKILL'), delay);
      }
    });
    child.on('error', reject);
    child.on('exit', () => (exited = true));
    child.on('close', (code, signal) => resolveP({ ...r, code, signal }));
  });
}
