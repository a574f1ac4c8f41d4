import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { inputHash } from '../store/hash.js';
import type { Policy, RunContext } from './context.js';

/**
 * What every training stage (train, rl) does with what it wrote to `out`: record it as the round's
 * checkpoint (a full checkpoint or an adapter over the initial model, child of the current
 * policy) and make it the current policy M_{r+1}.
 */
export async function adoptPolicy(
  ctx: RunContext,
  round: number,
  out: string,
  full: boolean,
): Promise<void> {
  const store = ctx.store;
  const weights = full ? join(out, 'model.safetensors') : join(out, 'adapter_model.safetensors');
  const contentHash = createHash('sha256').update(readFileSync(weights)).digest('hex');
  const checkpointId = store.addCheckpoint({
    round,
    kind: full ? 'merged' : 'adapter',
    path: relative(ctx.runDir, out),
    contentHash,
    parentId: ctx.policy.checkpointId,
    inputHash: inputHash('checkpoint', round, contentHash),
  });
  store.restoreCheckpoint(checkpointId); // retrained to the very bytes --from-round set aside
  await ctx.engines.release(ctx.policy);
  ctx.policy = full
    ? fullCheckpointPolicy(ctx, out, round, checkpointId)
    : { ...ctx.initial, adapter: out, round, checkpointId };
}

/**
 * The policy a full fine-tune made: its folder, in process; or, with a served policy, the same
 * server serving the checkpoint under `<run-id>-round-<r>` once restarted on it.
 */
export function fullCheckpointPolicy(
  ctx: RunContext,
  path: string,
  round: number,
  checkpointId: string,
): Policy {
  const server = ctx.initial.server;
  return {
    path,
    device: ctx.spec.model.device,
    threads: ctx.spec.model.threads,
    quantize: ctx.initial.quantize,
    quantizeBlockSize: ctx.initial.quantizeBlockSize,
    ...(server
      ? {
          server: {
            ...server,
            model: `${ctx.runId}-round-${round}`,
            needsAdapters: false,
            checkpoint: { path, runId: ctx.runId },
          },
        }
      : {}),
    round,
    checkpointId,
  };
}
