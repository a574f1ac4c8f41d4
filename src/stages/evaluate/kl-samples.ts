import type { ModelEngine } from '../../engine/index.js';
import type { PromptFileRow } from '../../prompts/prompt-set.js';
import type { RunContext } from '../context.js';
import { klEstimate, type TokenLogprobs } from './metrics/kl.js';
import { generateOptions } from '../sampling.js';

/** One probe's sampled answer, as the scorer takes it. */
interface KlSample {
  prompt: PromptFileRow['messages'];
  completion: string;
  label: string;
}

// k3 needs y ~ M_r exactly: temperature 1, no top-p or top-k truncation. The probe answers the
// other metrics use keep the stage's own (greedy by default) settings.
const KL_SAMPLING = { temperature: 1, top_p: 1, top_k: 0 } as const;

/**
 * One answer per probe sampled from the policy M_r, each seeded by (run seed, round, probe id),
 * so a resumed stage draws the same answers. They are not stored: they feed only this estimate
 * and are reproduced exactly from their seeds.
 */
async function sampleAnswers(
  ctx: RunContext,
  engine: ModelEngine,
  probes: readonly PromptFileRow[],
  round: number,
  maxNewTokens: number,
): Promise<KlSample[]> {
  const out: KlSample[] = [];
  for (const probe of probes) {
    if (ctx.stopped) break;
    const seed = ctx.seedFor('kl-sample', round, probe.id);
    const { results } = await engine.generate(
      [{ messages: probe.messages }],
      generateOptions({ ...KL_SAMPLING, max_new_tokens: maxNewTokens }, 1, seed),
    );
    const text = results[0].completions[0].text;
    if (text) out.push({ prompt: probe.messages, completion: text, label: probe.id });
  }
  return out;
}

type Scored = { token_logprobs: number[] };

/** KL(M_r || M_0) by k3 on fresh samples from M_r, each scored by both models with one graph. */
export async function sampledKl(
  ctx: RunContext,
  policy: ModelEngine,
  probes: readonly PromptFileRow[],
  round: number,
  maxNewTokens: number,
): Promise<{ value: number; samples: number }> {
  const samples = await sampleAnswers(ctx, policy, probes, round, maxNewTokens);
  if (!samples.length) return { value: NaN, samples: 0 };
  const rows = samples.map(({ prompt, completion }) => ({ prompt, completion }));
  const labels = samples.map((s) => s.label);
  const initial = await ctx.engines.get(ctx.initial);
  const underQ = (await initial.score(rows, labels)) as unknown as Scored[];
  const underP = (await policy.score(rows, labels)) as unknown as Scored[];
  const answers: TokenLogprobs[] = underP.map((s, i) => ({
    p: s.token_logprobs,
    q: underQ[i].token_logprobs,
  }));
  return { value: klEstimate(answers), samples: samples.length };
}
