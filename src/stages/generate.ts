import { generateOptions } from './sampling.js';
import type { Stage, StageInput, StageResult } from './stage.js';
import type { RunContext } from './context.js';
import type { GenerateStageSpec } from '../spec/schema.js';
import { inputHash } from '../store/hash.js';

/**
 * N candidates per prompt from the current policy; the N share one prefill. A prompt whose N
 * candidates are already stored (a resumed run) is skipped, so nothing is generated twice.
 */
async function runGenerateStage(
  ctx: RunContext,
  { spec, round, index: stageIndex, prompts }: StageInput<GenerateStageSpec>,
): Promise<StageResult> {
  const engine = await ctx.engines.get(ctx.policy);
  const sampling = {
    temperature: spec.temperature,
    top_p: spec.top_p,
    top_k: spec.top_k,
    max_new_tokens: spec.max_new_tokens,
  };
  let generated = 0;
  let reused = 0;
  // A served policy answers several prompts at once (its requests run concurrently); the
  // in-process engine takes them one by one, so it gets one prompt per call and reports each.
  const chunk = Math.max(1, engine.concurrency ?? 1);
  for (let start = 0; start < prompts.length; start += chunk) {
    if (ctx.stopped) break;
    const todo: { p: (typeof prompts)[number]; seed: number; hashes: string[] }[] = [];
    for (const p of prompts.slice(start, start + chunk)) {
      const seed = ctx.seedFor('generate', round, p.inputHash);
      const hashes = Array.from({ length: spec.candidates }, (_, idx) =>
        inputHash(
          'candidate',
          round,
          p.inputHash,
          idx,
          sampling,
          spec.stop ?? [],
          seed,
          ctx.policy.checkpointId,
        ),
      );
      if (hashes.every((h) => ctx.store.existingId('candidates', h))) reused += hashes.length;
      else todo.push({ p, seed, hashes });
    }
    if (todo.length) {
      const { results } = await engine.generate(
        todo.map(({ p }) => ({ messages: p.messages })),
        { ...generateOptions(spec, spec.candidates, todo[0].seed), seeds: todo.map((t) => t.seed) },
      );
      todo.forEach(({ p, seed, hashes }, k) => {
        const comps = results[k].completions;
        ctx.store.transaction(() => {
          comps.forEach((c, idx) =>
            ctx.store.addCandidate({
              round,
              stageIndex,
              inputHash: hashes[idx],
              promptId: p.id,
              idx,
              text: c.text,
              tokenIds: c.tokenIds,
              logprobsSum: c.logprobs.reduce((a, b) => a + b, 0),
              finishReason: c.finishReason,
              sampling: { ...sampling, stop: spec.stop ?? [] },
              seed,
              checkpointId: ctx.policy.checkpointId,
              origin: 'sample',
            }),
          );
        });
        generated += comps.length;
        ctx.emit({
          type: 'candidate',
          round,
          promptId: p.id,
          index: 0,
          text: comps[0].text,
          tokens: comps[0].tokenIds.length,
        });
      });
    }
    ctx.emit({
      type: 'stage-progress',
      round,
      stage: stageIndex,
      kind: 'generate',
      done: Math.min(start + chunk, prompts.length),
      total: prompts.length,
      unit: 'prompts',
    });
  }
  return { counts: { prompts: prompts.length, generated, reused } };
}

export const generateStage: Stage<GenerateStageSpec> = { kind: 'generate', run: runGenerateStage };
