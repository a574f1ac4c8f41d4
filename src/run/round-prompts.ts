import { readFileSync } from 'node:fs';
import { Rng } from '../core/rng.js';
import { loadPromptSet, type PromptFileRow as SeedPrompt } from '../prompts/prompt-set.js';
import type { PipelineSpec } from '../spec/schema.js';
import type { RunContext } from '../stages/context.js';
import { selfInstructPrompts } from '../stages/self-instruct.js';
import { inputHash } from '../store/hash.js';
import type { PromptRow } from '../store/types.js';

/** The pipeline's prompt file, loaded once per run and stored by content hash. */
export interface PromptSource {
  prompts: SeedPrompt[];
  fileHash: string;
}

export function loadPromptSource(ctx: RunContext): PromptSource {
  const { file } = ctx.spec.prompts;
  const prompts = loadPromptSet(ctx.path(file));
  const fileHash = ctx.store.putText('prompt_file', file, readFileSync(ctx.path(file), 'utf8'));
  return { prompts, fileHash };
}

/** The prompts of round r: `per_round` of the set, a fresh seeded sample each round. */
export function selectPrompts(spec: PipelineSpec, all: SeedPrompt[], round: number): SeedPrompt[] {
  const k = Math.min(spec.prompts.per_round ?? all.length, all.length);
  const order = all.map((_, i) => i);
  const rng = new Rng(spec.seed).fork(1000 + round);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order
    .slice(0, k)
    .sort((a, b) => a - b)
    .map((i) => all[i]);
}

/** Round r's sample of the seed prompts, stored as the round's prompts, plus self-instruct ones. */
export async function roundPrompts(
  ctx: RunContext,
  source: PromptSource,
  round: number,
): Promise<PromptRow[]> {
  const { spec, store } = ctx;
  const prompts: PromptRow[] = selectPrompts(spec, source.prompts, round).map((p) => {
    const id = store.addPrompt({
      round,
      source: 'seed',
      messages: p.messages,
      fileHash: source.fileHash,
      meta: { id: p.id },
      inputHash: inputHash('prompt', round, p.id, p.messages),
    });
    return store.getPrompt(id)!;
  });
  if (spec.prompts.self_instruct)
    prompts.push(
      ...(await selfInstructPrompts(ctx, spec.prompts.self_instruct, round, source.prompts)),
    );
  return prompts;
}
