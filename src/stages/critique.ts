import { Rng } from '../core/rng.js';
import { promptText } from '../judges/model-judge.js';
import type { RunContext } from './context.js';
import type { CritiqueStageSpec } from '../spec/schema.js';
import type { GenerateOptions, ModelEngine } from '../engine/index.js';
import { samplePrinciple, type Constitution, type Principle } from '../prompts/constitution.js';
import { loadRubric, type Rubric } from '../prompts/rubric.js';
import { inputHash } from '../store/hash.js';
import type { CandidateRow, SamplingRecord } from '../store/types.js';
import { candidateKey, policyKey } from './content-seed.js';
import { generateOptions } from './sampling.js';
import { loadJudgeTexts } from './judge-setup.js';
import type { Stage, StageInput, StageResult } from './stage.js';

/**
 * Constitutional AI's supervised step: the policy critiques its first answer against a sampled
 * principle, then revises it; the revision is stored as another candidate of the prompt (origin
 * `revision`, pointing at the original), so judges and the pair stage can prefer it.
 */
async function runCritiqueStage(
  ctx: RunContext,
  { spec, round, index: stageIndex, prompts }: StageInput<CritiqueStageSpec>,
): Promise<StageResult> {
  const { constitution } = loadJudgeTexts(ctx, spec.critique_rubric, spec.constitution);
  const critique = loadRubric(ctx.path(spec.critique_rubric));
  const revision = loadRubric(ctx.path(spec.revision_rubric));
  ctx.store.putText('rubric', spec.revision_rubric, revision.source);
  const engine = await ctx.engines.get(ctx.policy);
  const counts: Record<string, number> = { revisions: 0, reused: 0, parse_failures: 0 };
  for (let i = 0; i < prompts.length; i++) {
    if (ctx.stopped) break;
    const p = prompts[i];
    const cands = ctx.store.candidatesForPrompt(round, p.id).filter((c) => c.origin === 'sample');
    const original = cands[0];
    if (!original) continue;
    const hash = revisionHash(ctx, spec, round, original, [critique, revision, constitution!]);
    if (ctx.store.existingId('candidates', hash)) {
      counts.reused++;
      continue;
    }
    // seeds by content, not by the run-scoped hash (content-seed.ts)
    const key = [
      round,
      candidateKey(p.messages, original),
      critique.hash,
      revision.hash,
      constitution!.hash,
      spec.temperature,
      spec.max_new_tokens,
      policyKey(ctx),
    ];
    const principle = samplePrinciple(
      constitution!,
      new Rng(ctx.seedFor('critique-principle', ...key)),
    );
    const seed = ctx.seedFor('critique', ...key);
    const opts = generateOptions(spec, 1, seed);
    const { critiqueText, out, parsed } = await critiqueThenRevise(
      engine,
      { critique, revision },
      { prompt: promptText(p.messages), response: original.text },
      principle,
      opts,
    );
    if (!parsed.ok) counts.parse_failures++;
    const text = parsed.ok ? parsed.text : out.text;
    ctx.store.addCandidate({
      round,
      stageIndex,
      inputHash: hash,
      promptId: p.id,
      idx: Math.max(...ctx.store.candidatesForPrompt(round, p.id).map((c) => c.idx)) + 1,
      text,
      tokenIds: out.tokenIds,
      logprobsSum: out.logprobs.reduce((a, b) => a + b, 0),
      finishReason: out.finishReason,
      sampling: revisionSampling(spec),
      seed,
      checkpointId: ctx.policy.checkpointId,
      origin: 'revision',
      parentCandidateId: original.id,
      meta: {
        principle: principle.id,
        critique: critiqueText,
        ...(parsed.ok ? {} : { parse_error: parsed.reason }),
      },
    });
    counts.revisions++;
    ctx.emit({
      type: 'candidate',
      round,
      promptId: p.id,
      index: -1,
      text,
      tokens: out.tokenIds.length,
    });
    ctx.emit({
      type: 'stage-progress',
      round,
      stage: stageIndex,
      kind: 'critique',
      done: i + 1,
      total: prompts.length,
      unit: 'prompts',
    });
  }
  return { counts };
}

/** What determines a revision: the original answer, the three texts, sampling and policy. */
function revisionHash(
  ctx: RunContext,
  spec: CritiqueStageSpec,
  round: number,
  original: CandidateRow,
  [critique, revision, constitution]: [Rubric, Rubric, Constitution],
): string {
  return inputHash(
    'revision',
    round,
    original.inputHash,
    critique.hash,
    revision.hash,
    constitution.hash,
    spec.temperature,
    spec.max_new_tokens,
    ctx.policy.checkpointId,
  );
}

/** The sampling a revision records (generateOptions samples with top_p 1, top_k 0 when unset). */
function revisionSampling(spec: CritiqueStageSpec): SamplingRecord {
  return {
    temperature: spec.temperature,
    top_p: 1,
    top_k: 0,
    max_new_tokens: spec.max_new_tokens,
  };
}

/**
 * The policy critiques its answer under the principle's critique request, then revises it under
 * the revision request, seeing its critique (the revision's seed is the critique's + 1).
 */
async function critiqueThenRevise(
  engine: ModelEngine,
  { critique, revision }: { critique: Rubric; revision: Rubric },
  answer: { prompt: string; response: string },
  principle: Principle,
  opts: GenerateOptions,
) {
  const vars = {
    ...answer,
    principle: {
      id: principle.id,
      title: principle.title,
      text: principle.critique ?? principle.text,
    },
  };
  const critiqueText = (
    await engine.generate([{ messages: [{ role: 'user', content: critique.render(vars) }] }], opts)
  ).results[0].completions[0].text;
  const parsedCritique =
    critique.format.kind === 'text'
      ? critique.format.parse(critiqueText)
      : { ok: true as const, text: critiqueText };
  const revVars = {
    ...vars,
    principle: { ...vars.principle, text: principle.revision ?? principle.text },
    critique: parsedCritique.ok ? parsedCritique.text : critiqueText,
  };
  const out = (
    await engine.generate([{ messages: [{ role: 'user', content: revision.render(revVars) }] }], {
      ...opts,
      seed: opts.seed + 1,
    })
  ).results[0].completions[0];
  const parsed =
    revision.format.kind === 'text'
      ? revision.format.parse(out.text)
      : { ok: true as const, text: out.text };
  return { critiqueText, out, parsed };
}

export const critiqueStage: Stage<CritiqueStageSpec> = { kind: 'critique', run: runCritiqueStage };
