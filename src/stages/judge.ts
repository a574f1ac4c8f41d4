import PQueue from 'p-queue';
import { PipelineError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import {
  judgeByGeneration,
  judgeByLogprobs,
  judgePairwise,
  promptText,
  type PairwiseSample,
  type ScoreSample,
} from '../judges/model-judge.js';
import { openaiJudgeByGeneration, openaiJudgePairwise } from '../judges/openai-judge.js';
import type { RunContext } from './context.js';
import type { JudgeStageSpec } from '../spec/schema.js';
import { samplePrinciple } from '../prompts/constitution.js';
import { inputHash } from '../store/hash.js';
import type { CandidateRow, PromptRow } from '../store/types.js';
import type { StageResult } from './stage.js';
import {
  judgeIdentity,
  loadJudgeTexts,
  resolveJudge,
  serverDetail,
  type JudgeTexts,
  type ResolvedJudge,
} from './judge-setup.js';

/**
 * Rate every candidate of the round with each listed judge. Every judgement (rendered prompt,
 * raw text, score or parse failure, principle) is a row keyed by its inputs, so a resumed run
 * only does the missing ones.
 */
export async function runJudgeStage(
  ctx: RunContext,
  spec: JudgeStageSpec,
  round: number,
  stageIndex: number,
  prompts: PromptRow[],
): Promise<StageResult> {
  const texts = loadJudgeTexts(ctx, spec.rubric, spec.constitution);
  const counts: Record<string, number> = {
    judgements: 0,
    reused: 0,
    parse_failures: 0,
    inconsistent: 0,
  };
  const units: { prompt: PromptRow; cands: CandidateRow[] }[] = prompts.map((p) => ({
    prompt: p,
    cands: ctx.store.candidatesForPrompt(round, p.id),
  }));
  const total = units.length * spec.judges.length;
  let done = 0;
  for (const judgeId of spec.judges) {
    const judge = resolveJudge(ctx, judgeId);
    if (judge.kind === 'openai' && spec.mode === 'logprobs')
      throw new PipelineError({
        code: 'E_JUDGE_UNSUPPORTED',
        message: `judge '${judge.id}' (kind openai) cannot judge in mode logprobs: a chat-completions server cannot continue a prefilled "Score: " reply`,
        hint: 'use mode: generate or pairwise with this judge, or a local model judge for logprobs',
      });
    // One prompt's judgements run one request at a time, so this is also the number of requests
    // in flight at once for a server judge.
    const queue = new PQueue({ concurrency: judge.kind === 'rule' ? 1 : judge.concurrency });
    // The first failure drops the queued prompts and is rethrown once the requests in flight are
    // done; a rejected task left unobserved would crash the process instead of failing the stage.
    let failure: { error: unknown } | undefined;
    for (const u of units) {
      void queue.add(async () => {
        if (ctx.stopped || failure) return;
        try {
          await judgePrompt(ctx, spec, round, stageIndex, judge, texts, u.prompt, u.cands, counts);
        } catch (error) {
          failure ??= { error };
          queue.clear();
          return;
        }
        done++;
        ctx.emit({
          type: 'stage-progress',
          round,
          stage: stageIndex,
          kind: 'judge',
          done,
          total,
          unit: 'prompts',
        });
      });
    }
    await queue.onIdle();
    // a request cancelled by a stop is not a failure: the run ends as interrupted and resumes
    if (failure && !ctx.stopped) throw failure.error;
    if (ctx.stopped) break;
  }
  return { counts };
}

async function judgePrompt(
  ctx: RunContext,
  spec: JudgeStageSpec,
  round: number,
  stageIndex: number,
  judge: ResolvedJudge,
  texts: JudgeTexts,
  prompt: PromptRow,
  cands: CandidateRow[],
  counts: Record<string, number>,
): Promise<void> {
  const { rubric, constitution } = texts;
  const constitutionHash = constitution?.hash ?? null;
  const base = {
    round,
    stageIndex,
    judgeId: judge.id,
    judgeCheckpointId: judge.kind === 'model' ? judge.checkpointId : null,
    rubricHash: judge.kind === 'rule' ? null : rubric.hash,
    constitutionHash,
  };
  const text = promptText(prompt.messages);

  if (judge.kind === 'rule') {
    for (const c of cands) {
      const hash = inputHash('judgement', judge.id, 'rule', c.inputHash);
      if (ctx.store.existingId('judgements', hash)) {
        counts.reused++;
        continue;
      }
      const v = judge.rules.judge(c.text);
      ctx.store.addJudgement({
        ...base,
        inputHash: hash,
        mode: 'rule',
        candidateId: c.id,
        score: v.score,
        rawOutput: JSON.stringify(v.outcomes),
        detail: { outcomes: v.outcomes },
      });
      counts.judgements++;
      ctx.emit({
        type: 'judgement',
        round,
        judge: judge.id,
        promptId: prompt.id,
        score: v.score,
        text: v.outcomes.map((o) => `${o.passed ? '✓' : '✗'} ${o.rule}: ${o.why}`).join('; '),
      });
    }
    return;
  }

  const engine = judge.kind === 'model' ? await ctx.engines.get(judge.model) : undefined;
  const identity = judgeIdentity(judge);
  const sampling = { temperature: spec.temperature, max_new_tokens: spec.max_new_tokens };
  if (spec.mode === 'pairwise') {
    if (!constitution)
      throw new PipelineError({
        code: 'E_JUDGE_CONFIG',
        message: 'pairwise judging needs a constitution to sample principles from',
        hint: 'add constitution: to the judge stage',
      });
    for (let i = 0; i < cands.length; i++)
      for (let j = i + 1; j < cands.length; j++) {
        // Both orders, with one principle per comparison, to expose position bias.
        const pairKey = inputHash(cands[i].inputHash, cands[j].inputHash);
        const principle = samplePrinciple(
          constitution,
          new Rng(ctx.seedFor('principle', judge.id, pairKey)),
        );
        const verdicts: ('A' | 'B' | null)[] = [];
        for (const [a, b] of [
          [cands[i], cands[j]],
          [cands[j], cands[i]],
        ] as const) {
          const hash = inputHash(
            'judgement',
            judge.id,
            'pairwise',
            rubric.hash,
            constitutionHash,
            principle.id,
            a.inputHash,
            b.inputHash,
            sampling,
            identity,
          );
          const existing = ctx.store.existingId('judgements', hash);
          if (existing) {
            counts.reused++;
            const v = ctx.store.getJudgement(existing)!.verdict;
            verdicts.push(v === 'A' || v === 'B' ? v : null);
            continue;
          }
          const vars = {
            prompt: text,
            response_a: a.text,
            response_b: b.text,
            principle: { id: principle.id, title: principle.title, text: principle.text },
          };
          const seed = ctx.seedFor('pairwise', hash);
          let r: PairwiseSample;
          let detail: Record<string, unknown> | undefined;
          if (judge.kind === 'openai') {
            const o = await openaiJudgePairwise(judge.client, rubric, vars, sampling, seed);
            r = o;
            detail = serverDetail(judge, o.model, o.finishReason);
          } else r = await judgePairwise(engine!, rubric, vars, sampling, seed);
          ctx.store.addJudgement({
            ...base,
            inputHash: hash,
            mode: 'pairwise',
            candidateId: a.id,
            otherCandidateId: b.id,
            principleId: principle.id,
            renderedPrompt: r.rendered,
            rawOutput: r.raw,
            verdict: r.verdict,
            parseError: r.parseError ?? null,
            detail,
          });
          counts.judgements++;
          if (r.parseError) counts.parse_failures++;
          verdicts.push(r.verdict);
          ctx.emit({
            type: 'judgement',
            round,
            judge: judge.id,
            promptId: prompt.id,
            verdict: r.verdict ?? undefined,
            parseError: r.parseError,
            text: r.raw,
          });
        }
        // consistent = the same candidate wins in both orders: (A, B) or (B, A)
        if (verdicts[0] && verdicts[1] && verdicts[0] === verdicts[1]) counts.inconsistent++;
      }
    return;
  }

  for (const c of cands) {
    if (ctx.stopped) return;
    const vars: Record<string, unknown> = { prompt: text, response: c.text };
    if (constitution && rubric.variables.includes('constitution'))
      vars.constitution = constitution.principles;
    if (spec.mode === 'logprobs') {
      const hash = inputHash(
        'judgement',
        judge.id,
        'logprobs',
        rubric.hash,
        constitutionHash,
        c.inputHash,
        identity,
      );
      if (ctx.store.existingId('judgements', hash)) {
        counts.reused++;
        continue;
      }
      // runJudgeStage refuses logprobs for openai judges, so only a model engine gets here
      const r = await judgeByLogprobs(engine!, rubric, vars);
      ctx.store.addJudgement({
        ...base,
        inputHash: hash,
        mode: 'logprobs',
        candidateId: c.id,
        renderedPrompt: r.rendered,
        rawOutput: JSON.stringify(r.distribution),
        score: r.score,
        detail: { distribution: r.distribution },
      });
      counts.judgements++;
      ctx.emit({
        type: 'judgement',
        round,
        judge: judge.id,
        promptId: prompt.id,
        score: r.score,
        text: JSON.stringify(r.distribution),
      });
      continue;
    }
    const hashes = Array.from({ length: spec.samples }, (_, k) =>
      inputHash(
        'judgement',
        judge.id,
        'generate',
        rubric.hash,
        constitutionHash,
        c.inputHash,
        sampling,
        k,
        identity,
      ),
    );
    if (hashes.every((h) => ctx.store.existingId('judgements', h))) {
      counts.reused += hashes.length;
      continue;
    }
    const seed = ctx.seedFor('judge', hashes[0]);
    let r: { rendered: string; samples: ScoreSample[] };
    let details: (Record<string, unknown> | undefined)[] = [];
    if (judge.kind === 'openai') {
      const o = await openaiJudgeByGeneration(
        judge.client,
        rubric,
        vars,
        spec.samples,
        sampling,
        seed,
      );
      r = o;
      details = o.samples.map((s) => serverDetail(judge, o.model, s.finishReason));
    } else r = await judgeByGeneration(engine!, rubric, vars, spec.samples, sampling, seed);
    let added = 0;
    ctx.store.transaction(() =>
      r.samples.forEach((s, k) => {
        // after `samples` was raised, the first ones are already stored
        if (ctx.store.existingId('judgements', hashes[k])) return;
        added++;
        if (s.parseError) counts.parse_failures++;
        ctx.store.addJudgement({
          ...base,
          inputHash: hashes[k],
          mode: 'generate',
          candidateId: c.id,
          renderedPrompt: r.rendered,
          rawOutput: s.raw,
          score: s.score,
          parseError: s.parseError ?? null,
          sampleIdx: k,
          detail: details[k],
        });
      }),
    );
    counts.judgements += added;
    counts.reused += r.samples.length - added;
    const first = r.samples[0];
    ctx.emit({
      type: 'judgement',
      round,
      judge: judge.id,
      promptId: prompt.id,
      score: first.score ?? undefined,
      parseError: first.parseError,
      text: first.raw,
    });
  }
}
