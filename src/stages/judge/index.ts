import PQueue from 'p-queue';
import { PipelineError } from '../../core/errors.js';
import type { JudgeStageSpec } from '../../spec/schema.js';
import type { CandidateRow, PromptRow } from '../../store/types.js';
import type { RunContext } from '../context.js';
import { loadJudgeTexts, resolveJudge } from '../judge-setup.js';
import type { Stage, StageInput, StageResult } from '../stage.js';
import { judgePrompt } from './prompt.js';
import { runMetaJudge } from './meta-judge.js';
import { judgementBase } from './record.js';

/**
 * Rate every candidate of the round with each listed judge. Every judgement (rendered prompt,
 * raw text, score or parse failure, principle) is a row keyed by its inputs, so a resumed run
 * only does the missing ones.
 */
async function runJudgeStage(
  ctx: RunContext,
  { spec, round, index: stageIndex, prompts }: StageInput<JudgeStageSpec>,
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
    const base = judgementBase(round, stageIndex, judge, texts);
    const queue = new PQueue({ concurrency: judge.kind === 'rule' ? 1 : judge.concurrency });
    // The first failure drops the queued prompts and is rethrown once the requests in flight are
    // done; a rejected task left unobserved would crash the process instead of failing the stage.
    let failure: { error: unknown } | undefined;
    for (const u of units) {
      void queue.add(async () => {
        if (ctx.stopped || failure) return;
        try {
          await judgePrompt({ ctx, spec, judge, texts, base, ...u, counts });
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
  // Meta-Rewarding needs every self-judgement of the round first: it compares them
  if (spec.meta_judge && !ctx.stopped)
    await runMetaJudge({
      ctx,
      spec: { ...spec, meta_judge: spec.meta_judge },
      round,
      stageIndex,
      prompts,
      counts,
    });
  return { counts };
}

export const judgeStage: Stage<JudgeStageSpec> = { kind: 'judge', run: runJudgeStage };
