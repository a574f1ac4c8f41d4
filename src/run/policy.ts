import { resolve } from 'node:path';
import type { Policy, RunContext } from '../stages/context.js';
import { serverSettings } from '../remote/settings.js';
import { fullCheckpointPolicy } from '../stages/adopt-policy.js';
import { inputHash } from '../store/hash.js';
import { modelHash } from './model-hash.js';

/**
 * The initial policy M_0: the pipeline's model (and adapter), recorded as the run's base
 * checkpoint. It is also the current policy until a round trains another.
 */
export function startPolicy(ctx: RunContext): Policy {
  const { spec, store } = ctx;
  const modelPath = ctx.path(spec.model.path);
  const base = store.addCheckpoint({
    round: 0,
    kind: 'base',
    path: modelPath,
    contentHash: modelHash(modelPath),
    inputHash: inputHash('base', modelPath),
  });
  ctx.initial = {
    path: modelPath,
    adapter: spec.model.adapter ? ctx.path(spec.model.adapter) : undefined,
    device: spec.model.device,
    threads: spec.model.threads,
    ...(spec.model.backend === 'openai'
      ? {
          server: {
            ...serverSettings(spec.model, process.env, ctx.signal),
            needsAdapters:
              !!spec.model.adapter || spec.stages.some((s) => s.kind === 'train' && !s.full),
          },
        }
      : {}),
    quantize: spec.model.quantize,
    quantizeBlockSize: spec.model.quantize_block_size,
    round: 0,
    checkpointId: base,
  };
  ctx.policy = ctx.initial;
  return ctx.initial;
}

/** The policy at the start of `round`: the newest checkpoint trained in an earlier round. */
export function policyAt(ctx: RunContext, round: number): Policy {
  const discarded = ctx.store.discardedCheckpoints(); // set aside by --from-round
  const trained = ctx.store
    .listCheckpoints()
    .filter((c) => c.kind !== 'base' && c.round < round && !discarded.has(c.id))
    .sort((a, b) => b.round - a.round)[0];
  if (!trained) return ctx.initial;
  const path = resolve(ctx.runDir, trained.path);
  return trained.kind === 'adapter'
    ? { ...ctx.initial, adapter: path, round: trained.round, checkpointId: trained.id }
    : fullCheckpointPolicy(ctx, path, trained.round, trained.id);
}
