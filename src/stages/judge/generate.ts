import { judgeByGeneration, type ScoreSample } from '../../judges/model-judge.js';
import { openaiJudgeByGeneration } from '../../judges/openai-judge.js';
import { inputHash } from '../../store/hash.js';
import type { CandidateRow } from '../../store/types.js';
import { candidateKey, judgeKey } from '../content-seed.js';
import { serverDetail } from '../judge-setup.js';
import { emitJudgement, storeJudgement } from './record.js';
import type { ModelJudgeUnit } from './unit.js';

/**
 * `samples` sampled answers to the rubric, each parsed for a score (a parse failure is stored,
 * never guessed). The samples share one seed and one request; each is its own judgement row.
 */
export async function judgeCandidateByGeneration(
  u: ModelJudgeUnit,
  c: CandidateRow,
  vars: Record<string, unknown>,
): Promise<void> {
  const { ctx, spec, judge, counts } = u;
  const hashes = Array.from({ length: spec.samples }, (_, k) =>
    inputHash(
      'judgement',
      judge.id,
      'generate',
      u.texts.rubric.hash,
      u.base.constitutionHash,
      c.inputHash,
      u.sampling,
      k,
      u.identity,
    ),
  );
  if (hashes.every((h) => ctx.store.existingId('judgements', h))) {
    counts.reused += hashes.length;
    return;
  }
  const seed = ctx.seedFor(
    'judge',
    u.base.round,
    judge.id,
    u.texts.rubric.hash,
    u.base.constitutionHash,
    candidateKey(u.prompt.messages, c),
    u.sampling,
    judgeKey(ctx, judge),
  );
  const { rubric } = u.texts;
  let r: { rendered: string; samples: ScoreSample[] };
  let details: (Record<string, unknown> | undefined)[] = [];
  if (judge.kind === 'openai') {
    const o = await openaiJudgeByGeneration(
      judge.client,
      rubric,
      vars,
      spec.samples,
      u.sampling,
      seed,
    );
    r = o;
    details = o.samples.map((s) => serverDetail(judge, o.model, s.finishReason));
  } else r = await judgeByGeneration(u.engine!, rubric, vars, spec.samples, u.sampling, seed);
  const added: ScoreSample[] = [];
  ctx.store.transaction(() =>
    r.samples.forEach((s, k) => {
      // after `samples` was raised, the first ones are already stored
      if (ctx.store.existingId('judgements', hashes[k])) return;
      added.push(s);
      if (s.parseError) counts.parse_failures++;
      storeJudgement(u, {
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
  counts.judgements += added.length;
  counts.reused += r.samples.length - added.length;
  // One event per stored judgement row, as the stage counts them: the summary's parse failures
  // (folded from these events) then equal the stage's `parse_failures` (issue 13: 96 vs 288).
  for (const s of added)
    emitJudgement(u, { score: s.score ?? undefined, parseError: s.parseError, text: s.raw });
}
