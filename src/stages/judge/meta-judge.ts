import { judgeVerdictByLogprobs, promptText } from '../../judges/model-judge.js';
import type { Rubric } from '../../prompts/rubric.js';
import { SELF_JUDGE, type JudgeStageSpec, type MetaJudgeSpec } from '../../spec/schema.js';
import { inputHash } from '../../store/hash.js';
import type { CandidateRow, JudgementRow, MetaJudgementRow, PromptRow } from '../../store/types.js';
import type { RunContext } from '../context.js';
import { judgeIdentity, loadJudgeTexts, resolveJudge } from '../judge-setup.js';
import {
  battleMatrix,
  battlePairs,
  chooseJudgePair,
  eloScores,
  positionWeights,
  probabilityMatrix,
  scoreVariance,
  type Battle,
} from './meta-elo.js';

/** One answer whose judgements the meta-judge compares: its parsed self-judgements, by sample. */
interface Contest {
  prompt: PromptRow;
  cand: CandidateRow;
  judgements: JudgementRow[];
}

/** What the round's stage needs to meta-judge: where it is, and how it counts. */
export interface MetaJudgeRun {
  ctx: RunContext;
  spec: JudgeStageSpec & { meta_judge: MetaJudgeSpec };
  round: number;
  stageIndex: number;
  prompts: PromptRow[];
  counts: Record<string, number>;
}

/**
 * Meta-Rewarding (Wu et al. 2024, arXiv 2407.19594, §2.2) after the stage's own judging: the
 * policy, as meta-judge, compares two of its judgements of one answer under the meta-rubric, in
 * both orders, by the log-probs of the verdict letters (never unparseable; see
 * judgeVerdictByLogprobs). Each order is a meta_judgements row. Once every battle of the round is
 * stored, Elo over the battles picks a chosen and a rejected judgement per answer (meta-elo.ts),
 * stored as judge_pairs rows that the train stage adds to the round's actor pairs.
 */
export async function runMetaJudge(r: MetaJudgeRun): Promise<void> {
  const { ctx, spec, counts } = r;
  const meta = spec.meta_judge;
  const judge = resolveJudge(ctx, SELF_JUDGE);
  if (judge.kind !== 'model') throw new Error('the self judge is always a model');
  const { rubric } = loadJudgeTexts(ctx, meta.rubric);
  Object.assign(counts, {
    meta_battles: 0,
    meta_reused: 0,
    meta_skipped_same_score: 0,
    meta_skipped_elo_tie: 0,
    judge_pairs: 0,
    judge_pairs_dropped_length: 0,
    judge_pairs_dropped_max_pairs: 0,
  });
  const contests = pickContests(r);
  const engine = await ctx.engines.get(judge.model);
  const identity = judgeIdentity(judge);
  const base = {
    round: r.round,
    stageIndex: r.stageIndex,
    judgeId: judge.id,
    judgeCheckpointId: judge.checkpointId,
    rubricHash: rubric.hash,
  };
  const orders = contests.flatMap((c) =>
    battlePairs(c.judgements.length, meta.max_battles).flatMap(([i, j]) => [
      { c, a: c.judgements[i], b: c.judgements[j] },
      { c, a: c.judgements[j], b: c.judgements[i] },
    ]),
  );
  let done = 0;
  for (const { c, a, b } of orders) {
    if (ctx.stopped) return; // the pairs wait for every battle: a resume finishes them
    const hash = inputHash(
      'meta-judgement',
      judge.id,
      rubric.hash,
      a.inputHash,
      b.inputHash,
      identity,
    );
    if (ctx.store.existingId('meta_judgements', hash)) counts.meta_reused++;
    else {
      const v = await judgeVerdictByLogprobs(engine, rubric, {
        prompt: promptText(c.prompt.messages),
        response: c.cand.text,
        judgement_a: a.rawOutput ?? '',
        judgement_b: b.rawOutput ?? '',
        judge_prompt: a.renderedPrompt ?? '',
      });
      ctx.store.addMetaJudgement({
        ...base,
        inputHash: hash,
        candidateId: c.cand.id,
        judgementAId: a.id,
        judgementBId: b.id,
        renderedPrompt: v.rendered,
        pA: v.pA,
        verdict: v.pA >= 0.5 ? 'A' : 'B',
        detail: { logprobs: v.logprobs },
      });
      counts.meta_battles++;
    }
    ctx.emit({
      type: 'stage-progress',
      round: r.round,
      stage: r.stageIndex,
      kind: 'judge',
      done: ++done,
      total: orders.length,
      unit: 'meta-judge battles',
    });
  }
  storeJudgePairs(r, rubric, contests);
}

/**
 * The answers whose judgements meet: those whose parsed self-judgement scores differ (equal
 * scores leave nothing to prefer), per prompt only the one whose scores vary most
 * (`responses: max-variance`, the paper's choice) or every one (`all`). An unparseable judgement
 * takes no part: it has no score, and a chosen one would teach the judge to break its format.
 */
function pickContests({ ctx, spec, round, stageIndex, prompts, counts }: MetaJudgeRun): Contest[] {
  const out: Contest[] = [];
  for (const prompt of prompts) {
    const all = ctx.store.candidatesForPrompt(round, prompt.id).map((cand) => {
      const judgements = ctx.store
        .judgementsForCandidate(cand.id)
        .filter(
          (j) =>
            j.round === round &&
            j.stageIndex === stageIndex &&
            j.judgeId === SELF_JUDGE &&
            j.mode === 'generate' &&
            j.score !== null,
        )
        .sort((x, y) => x.sampleIdx - y.sampleIdx);
      return { prompt, cand, judgements, variance: scoreVariance(judgements.map((j) => j.score!)) };
    });
    const varied = all.filter((c) => c.judgements.length >= 2 && c.variance > 0);
    if (spec.meta_judge.responses === 'all') {
      counts.meta_skipped_same_score += all.length - varied.length;
      out.push(...varied);
    } else if (varied.length === 0) counts.meta_skipped_same_score++;
    else out.push(varied.reduce((best, c) => (c.variance > best.variance ? c : best)));
  }
  return out;
}

/** Elo per answer over the round's stored battles, then the judge pair (or why there is none). */
function storeJudgePairs(r: MetaJudgeRun, rubric: Rubric, contests: Contest[]): void {
  const { ctx, counts } = r;
  const meta = r.spec.meta_judge;
  const rows = ctx.store
    .metaJudgementsForRound(r.round)
    .filter((m) => m.stageIndex === r.stageIndex);
  const weights = positionWeights(rows.map((m) => m.verdict));
  const byCand = new Map<string, MetaJudgementRow[]>();
  for (const m of rows) byCand.set(m.candidateId, [...(byCand.get(m.candidateId) ?? []), m]);
  const picked = [];
  for (const c of contests) {
    const index = new Map(c.judgements.map((j, i) => [j.id, i]));
    const battles: Battle[] = (byCand.get(c.cand.id) ?? [])
      .filter((m) => index.has(m.judgementAId) && index.has(m.judgementBId))
      .map((m) => ({
        a: index.get(m.judgementAId)!,
        b: index.get(m.judgementBId)!,
        verdict: m.verdict,
        pA: m.pA,
      }));
    const k = c.judgements.length;
    const elo = eloScores(
      meta.battles === 'mean-probability'
        ? probabilityMatrix(k, battles)
        : battleMatrix(k, battles, weights),
    );
    const choice = chooseJudgePair(
      c.judgements.map((j) => ({ score: j.score!, length: (j.rawOutput ?? '').length })),
      elo,
      { lengthControl: meta.length_control },
    );
    if (choice.kind === 'skip') {
      if (choice.reason === 'elo_tie') counts.meta_skipped_elo_tie++;
      else counts.meta_skipped_same_score++;
      continue;
    }
    const wins = (i: number) => winRate(battles, i);
    picked.push({ c, choice, elo, battles, gap: elo[choice.chosen] - elo[choice.rejected], wins });
  }
  // max_pairs keeps the widest Elo gaps (the meta-judge's clearest preferences) of the pairs
  // length control let through; the order of the rest is the stable order of the prompts
  const eligible = picked.filter((p) => p.choice.dropped === null);
  const kept = new Set(
    [...eligible].sort((x, y) => y.gap - x.gap).slice(0, meta.max_pairs ?? eligible.length),
  );
  for (const p of picked) {
    const { c, choice, elo, battles } = p;
    const dropped = choice.dropped ?? (kept.has(p) ? null : 'max_pairs');
    const [chosen, rejected] = [c.judgements[choice.chosen], c.judgements[choice.rejected]];
    ctx.store.addJudgePair({
      round: r.round,
      stageIndex: r.stageIndex,
      inputHash: inputHash(
        'judge-pair',
        rubric.hash,
        c.cand.inputHash,
        chosen.inputHash,
        rejected.inputHash,
        dropped,
      ),
      candidateId: c.cand.id,
      chosenJudgementId: chosen.id,
      rejectedJudgementId: rejected.id,
      chosenElo: elo[choice.chosen],
      rejectedElo: elo[choice.rejected],
      promptText: chosen.renderedPrompt ?? '',
      battles: battles.length,
      dropped,
      detail: {
        elo: Object.fromEntries(c.judgements.map((j, i) => [j.id, elo[i]])),
        scores: c.judgements.map((j) => j.score),
        chosen_win_rate: p.wins(choice.chosen),
        rejected_win_rate: p.wins(choice.rejected),
        chosen_win_prob: winProb(battles, choice.chosen),
        rejected_win_prob: winProb(battles, choice.rejected),
        position_weights: weights,
      },
    });
    if (dropped === 'length') counts.judge_pairs_dropped_length++;
    else if (dropped === 'max_pairs') counts.judge_pairs_dropped_max_pairs++;
    else counts.judge_pairs++;
  }
}

/** Share of the battles judgement i took part in that it won (both orders count). */
function winRate(battles: readonly Battle[], i: number): number {
  const mine = battles.filter((b) => b.a === i || b.b === i);
  const won = mine.filter((b) => (b.verdict === 'A' ? b.a : b.b) === i).length;
  return mine.length ? won / mine.length : 0;
}

/** Mean probability that judgement i wins, over the battles it took part in. */
function winProb(battles: readonly Battle[], i: number): number {
  const mine = battles.filter((b) => b.a === i || b.b === i);
  const p = mine.reduce((s, b) => s + (b.a === i ? b.pA : 1 - b.pA), 0);
  return mine.length ? p / mine.length : 0;
}
