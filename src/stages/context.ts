import { resolve } from 'node:path';
import { Rng } from '../core/rng.js';
import { inputHash } from '../store/hash.js';
import type { RunStore } from '../store/run-store.js';
import type { EnginePool, ModelRef } from './engine-pool.js';
import type { PipelineEvent } from '../events.js';
import type { PipelineSpec } from '../spec/schema.js';

type Payload = PipelineEvent extends infer E
  ? E extends PipelineEvent
    ? Omit<E, 'time' | 'runId'>
    : never
  : never;

/** The current policy M_r: the base model plus the round's adapter (or a full checkpoint). */
export interface Policy extends ModelRef {
  round: number;
  checkpointId: string;
}

/** What every stage gets: the spec, the store, engines, events, cancellation and seeds. */
export class RunContext {
  policy!: Policy;
  /** The initial policy M_0 (for `reference: initial` and drift metrics). */
  initial!: Policy;

  constructor(
    readonly spec: PipelineSpec,
    readonly baseDir: string,
    readonly runId: string,
    readonly runDir: string,
    readonly store: RunStore,
    readonly engines: EnginePool,
    private readonly sink: (e: PipelineEvent) => void,
    readonly signal: AbortSignal,
  ) {}

  emit(e: Payload): void {
    this.sink({ ...e, time: new Date().toISOString(), runId: this.runId } as PipelineEvent);
  }

  /** A path from the pipeline file, resolved relative to it (builtin models pass through). */
  path(p: string): string {
    return p.startsWith('builtin:') ? p : resolve(this.baseDir, p);
  }

  /** A reproducible seed for one unit of work: the run seed forked by the unit's identity. */
  seedFor(...parts: unknown[]): number {
    const h = inputHash(this.spec.seed, ...parts);
    const fork = parseInt(h.slice(0, 12), 16);
    return new Rng(this.spec.seed).fork(fork).nextU32();
  }

  get stopped(): boolean {
    return this.signal.aborted;
  }
}
