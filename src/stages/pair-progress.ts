import type { RunContext } from './context.js';

/** A pair stage's progress after `done` of `total` prompts (every pairing strategy reports alike). */
export function emitPairProgress(
  ctx: RunContext,
  round: number,
  stageIndex: number,
  done: number,
  total: number,
): void {
  ctx.emit({
    type: 'stage-progress',
    round,
    stage: stageIndex,
    kind: 'pair',
    done,
    total,
    unit: 'prompts',
  });
}
