// Progress lines in a log are worth reading only when something moved: one per stage at most
// every `everyMs`, unless a new `everyFrac` step of the stage (10%, 20%...) is reached.

export class ProgressThrottle {
  // Per stage (round:stage): when its last progress line was printed and at which step.
  readonly #last = new Map<string, { t: number; bucket: number }>();

  constructor(
    private readonly everyMs: number,
    private readonly everyFrac: number,
  ) {}

  /** The stage started at `t`: its first line is due after `everyMs` or the first step. */
  start(key: string, t: number): void {
    this.#last.set(key, { t, bucket: 0 });
  }

  /** Whether a progress line is due now; if so, it counts as printed. */
  due(key: string, t: number, done: number, total: number): boolean {
    const last = this.#last.get(key) ?? { t: -Infinity, bucket: 0 };
    const bucket = total > 0 ? Math.floor(done / total / this.everyFrac) : 0;
    if (bucket <= last.bucket && t - last.t < this.everyMs) return false;
    this.#last.set(key, { t, bucket: Math.max(bucket, last.bucket) });
    return true;
  }

  clear(): void {
    this.#last.clear();
  }
}
