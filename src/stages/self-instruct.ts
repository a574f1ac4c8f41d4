import { Rng } from '../core/rng.js';
import type { RunContext } from './context.js';
import type { PromptsSpec } from '../spec/schema.js';
import type { PromptFileRow as SeedPrompt } from '../prompts/prompt-set.js';
import { loadRubric } from '../prompts/rubric.js';
import { inputHash } from '../store/hash.js';
import type { PromptRow } from '../store/types.js';
import { policyKey } from './content-seed.js';
import { generateOptions } from './sampling.js';

const EXAMPLES = 4;

/**
 * Self-instruct (as in Self-Rewarding LMs): the current policy writes `count` new prompts from a
 * few seed prompts shown as examples. An answer that does not parse as one instruction is
 * dropped with a warning, never repaired. Each new prompt is keyed by (round, index, rubric,
 * policy), so a resumed round reuses it.
 */
export async function selfInstructPrompts(
  ctx: RunContext,
  spec: NonNullable<PromptsSpec['self_instruct']>,
  round: number,
  seeds: SeedPrompt[],
): Promise<PromptRow[]> {
  const rubric = loadRubric(ctx.path(spec.rubric));
  ctx.store.putText('rubric', spec.rubric, rubric.source);
  const engine = await ctx.engines.get(ctx.policy);
  const out: PromptRow[] = [];
  let failed = 0;
  for (let i = 0; i < spec.count && !ctx.stopped; i++) {
    const hash = inputHash(
      'self-instruct',
      round,
      i,
      rubric.hash,
      spec.temperature,
      spec.max_new_tokens,
      ctx.policy.checkpointId,
    );
    const existing = ctx.store.existingId('prompts', hash);
    if (existing) {
      out.push(ctx.store.getPrompt(existing)!);
      continue;
    }
    // seeds by content, not by the run-scoped hash (content-seed.ts)
    const key = [round, i, rubric.hash, spec.temperature, spec.max_new_tokens, policyKey(ctx)];
    const rng = new Rng(ctx.seedFor('self-instruct-examples', ...key));
    const pool = seeds.filter((s) => s.messages.length === 1);
    const examples = Array.from(
      { length: Math.min(EXAMPLES, pool.length) },
      () => pool[Math.floor(rng.nextFloat() * pool.length)].messages[0].content,
    );
    const rendered = rubric.render({ examples });
    const { results } = await engine.generate(
      [{ messages: [{ role: 'user', content: rendered }] }],
      generateOptions(spec, 1, ctx.seedFor('self-instruct', ...key)),
    );
    const raw = results[0].completions[0].text;
    const parsed =
      rubric.format.kind === 'text'
        ? rubric.format.parse(raw)
        : {
            ok: false as const,
            reason: `rubric answer format ${rubric.format.name} gives no instruction`,
          };
    if (!parsed.ok) {
      failed++;
      continue;
    }
    const id = ctx.store.addPrompt({
      round,
      source: 'self_instruct',
      messages: [{ role: 'user', content: parsed.text }],
      meta: { examples, raw, rubric: rubric.hash },
      inputHash: hash,
    });
    out.push(ctx.store.getPrompt(id)!);
  }
  if (failed)
    ctx.emit({
      type: 'warning',
      round,
      message: `self-instruct: ${failed} of ${spec.count} answers did not parse as one instruction and were dropped`,
    });
  return out;
}
