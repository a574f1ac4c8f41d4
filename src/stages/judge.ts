import { readFileSync } from 'node:fs';
import PQueue from 'p-queue';
import { PipelineError } from '../engine/errors.js';
import { Rng } from '../engine/generate/rng.js';
import {
  judgeByGeneration,
  judgeByLogprobs,
  judgePairwise,
  promptText,
} from '../judges/model-judge.js';
import { RuleJudge } from '../judges/rule-judge.js';
import type { ModelRef } from '../pipeline/engine-pool.js';
import type { RunContext } from '../pipeline/run-context.js';
import type { JudgeSpec, JudgeStageSpec } from '../pipeline/schema.js';
import { loadConstitution, samplePrinciple, type Constitution } from '../prompts/constitution.js';
import { loadRubric, type Rubric } from '../prompts/rubric.js';
import { inputHash } from '../store/hash.js';
import type { CandidateRow, PromptRow } from '../store/types.js';
import type { StageResult } from './generate.js';

/** A judge as the stages use it: the current policy (`self`), a frozen model, or rules. */
export type ResolvedJudge =
  | { id: string; kind: 'model'; model: ModelRef; checkpointId: string | null; concurrency: number }
  | { id: string; kind: 'rule'; rules: RuleJudge };

export function resolveJudge(ctx: RunContext, id: string): ResolvedJudge {
  if (id === 'self')
    return {
      id,
      kind: 'model',
      model: ctx.policy,
      checkpointId: ctx.policy.checkpointId,
      concurrency: 1,
    };
  const spec: JudgeSpec | undefined = ctx.spec.judges[id];
  if (!spec)
    throw new PipelineError({
      code: 'E_JUDGE_UNKNOWN',
      message: `unknown judge '${id}'`,
      hint: 'define it under judges: in the pipeline file',
    });
  if (spec.kind === 'rule')
    return { id, kind: 'rule', rules: new RuleJudge(spec.rules, (p) => ctx.path(p)) };
  if (spec.kind === 'model')
    return {
      id,
      kind: 'model',
      model: {
        path: ctx.path(spec.path),
        adapter: spec.adapter ? ctx.path(spec.adapter) : undefined,
        device: spec.device,
        threads: spec.threads,
      },
      checkpointId: null,
      concurrency: spec.concurrency,
    };
  throw new PipelineError({
    code: 'E_JUDGE_UNSUPPORTED',
    message: `judge '${id}' is of kind ${spec.kind}, which this version cannot run yet`,
    hint: 'use a local model judge (kind: model), self, or a rule judge',
  });
}

/** Loaded texts of a judge stage, recorded in the store by content hash. */
export interface JudgeTexts {
  rubric: Rubric;
  constitution?: Constitution;
}

export function loadJudgeTexts(
  ctx: RunContext,
  rubricPath: string,
  constitutionPath?: string,
): JudgeTexts {
  const rubric = loadRubric(ctx.path(rubricPath));
  ctx.store.putText('rubric', rubricPath, rubric.source);
  let constitution: Constitution | undefined;
  if (constitutionPath) {
    constitution = loadConstitution(ctx.path(constitutionPath));
    ctx.store.putText(
      'constitution',
      constitutionPath,
      readFileSync(ctx.path(constitutionPath), 'utf8'),
    );
  }
  return { rubric, constitution };
}

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
    const queue = new PQueue({ concurrency: judge.kind === 'model' ? judge.concurrency : 1 });
    for (const u of units) {
      void queue.add(async () => {
        if (ctx.stopped) return;
        await judgePrompt(ctx, spec, round, stageIndex, judge, texts, u.prompt, u.cands, counts);
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

  const engine = await ctx.engines.get(judge.model);
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
            base.judgeCheckpointId,
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
          const r = await judgePairwise(
            engine,
            rubric,
            vars,
            sampling,
            ctx.seedFor('pairwise', hash),
          );
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
        base.judgeCheckpointId,
      );
      if (ctx.store.existingId('judgements', hash)) {
        counts.reused++;
        continue;
      }
      const r = await judgeByLogprobs(engine, rubric, vars);
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
        base.judgeCheckpointId,
      ),
    );
    if (hashes.every((h) => ctx.store.existingId('judgements', h))) {
      counts.reused += hashes.length;
      continue;
    }
    const r = await judgeByGeneration(
      engine,
      rubric,
      vars,
      spec.samples,
      sampling,
      ctx.seedFor('judge', hashes[0]),
    );
    ctx.store.transaction(() =>
      r.samples.forEach((s, k) =>
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
        }),
      ),
    );
    counts.judgements += r.samples.length;
    counts.parse_failures += r.samples.filter((s) => s.parseError).length;
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
