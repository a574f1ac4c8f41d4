import PQueue from 'p-queue';
import { judgeByGeneration, promptText, type ScoreSample } from '../judges/model-judge.js';
import { openaiJudgeByGeneration } from '../judges/openai-judge.js';
import { ruleName } from '../judges/rule-judge.js';
import { VIOLATION_PREFIX } from '../spec/eval-metrics.js';
import type { RunContext } from './context.js';
import type { EvaluateStageSpec, JudgeStageSpec } from '../spec/schema.js';
import { findPhrases, loadPhraseList } from '../prompts/phrase-list.js';
import { loadPromptSet } from '../prompts/prompt-set.js';
import { loadRubric } from '../prompts/rubric.js';
import { inputHash } from '../store/hash.js';
import type { CandidateRow } from '../store/types.js';
import { generateOptions } from './sampling.js';
import { judgeIdentity, resolveJudge, serverDetail } from './judge-setup.js';
import type { GateHit, StageResult } from './stage.js';

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/**
 * Drift metrics of the current policy on fixed probe prompts (see pipeline/eval-metrics.ts):
 * answers are generated, scored by a frozen anchor judge, compared with round 0's answers, and
 * measured for length, refusal/boilerplate phrases, per-rule violations, log-prob shift of fixed
 * reference answers and a sampled KL to the initial model. Gates compare a metric to a threshold.
 */
export async function runEvaluateStage(
  ctx: RunContext,
  spec: EvaluateStageSpec,
  judgeStage: JudgeStageSpec | undefined,
  round: number,
  stageIndex: number,
): Promise<StageResult & { gateHits: GateHit[] }> {
  const store = ctx.store;
  const probes = loadPromptSet(ctx.path(spec.probes));
  const probeFileHash = store.putText('prompt_file', spec.probes, JSON.stringify(probes));
  const engine = await ctx.engines.get(ctx.policy);
  const sampling = {
    temperature: spec.temperature,
    top_p: 1,
    top_k: 0,
    max_new_tokens: spec.max_new_tokens,
  };

  // 1. answers of the current policy, one per probe, stored as candidates of probe prompts
  const answers: { probe: (typeof probes)[number]; cand: CandidateRow }[] = [];
  for (let i = 0; i < probes.length; i++) {
    if (ctx.stopped) break;
    const probe = probes[i];
    const promptId = store.addPrompt({
      round,
      stageIndex,
      source: 'probe',
      messages: probe.messages,
      fileHash: probeFileHash,
      meta: { probe: probe.id },
      inputHash: inputHash('probe', round, stageIndex, probe.id, probe.messages),
    });
    const seed = ctx.seedFor('probe', probe.id);
    const hash = inputHash(
      'probe-answer',
      round,
      stageIndex,
      probe.id,
      sampling,
      seed,
      ctx.policy.checkpointId,
    );
    let id = store.existingId('candidates', hash);
    if (!id) {
      const { results } = await engine.generate(
        [{ messages: probe.messages }],
        generateOptions(sampling, 1, seed),
      );
      const c = results[0].completions[0];
      id = store.addCandidate({
        round,
        stageIndex,
        inputHash: hash,
        promptId,
        idx: 0,
        text: c.text,
        tokenIds: c.tokenIds,
        logprobsSum: c.logprobs.reduce((a, b) => a + b, 0),
        finishReason: c.finishReason,
        sampling,
        seed,
        checkpointId: ctx.policy.checkpointId,
        origin: 'sample',
        meta: { probe: probe.id },
      });
    }
    answers.push({ probe, cand: store.getCandidate(id)! });
    ctx.emit({
      type: 'stage-progress',
      round,
      stage: stageIndex,
      kind: 'evaluate',
      done: i + 1,
      total: probes.length * 2,
      unit: 'probe steps',
    });
  }
  if (ctx.stopped) return { counts: { probes: answers.length }, gateHits: [] };

  const put = (metric: string, value: number, detail?: Record<string, unknown>) => {
    store.putEvalMetric({
      round,
      metric,
      value: Number.isFinite(value) ? value : null,
      stageIndex,
      detail: detail ?? null,
    });
    if (Number.isFinite(value)) ctx.emit({ type: 'eval-metric', round, metric, value });
  };
  const metrics: Record<string, number> = {};
  const record = (metric: string, value: number, detail?: Record<string, unknown>) => {
    metrics[metric] = value;
    put(metric, value, detail);
  };

  // 2. anchor judge scores
  const judge = resolveJudge(ctx, spec.judge);
  const rubricPath = spec.rubric ?? judgeStage?.rubric;
  const scores = new Map<string, number | null>();
  const violations = new Map<string, number>();
  let parseFailures = 0;
  const rubric = judge.kind !== 'rule' && rubricPath ? loadRubric(ctx.path(rubricPath)) : undefined;
  if (rubric) store.putText('rubric', rubricPath!, rubric.source);
  const judgeEngine = judge.kind === 'model' ? await ctx.engines.get(judge.model) : undefined;
  // Answers are judged concurrently up to the judge's concurrency (a server judge otherwise
  // waits out one round trip per probe); scores are collected per index so the stored order
  // stays the probe order.
  const results: (number | null | undefined)[] = new Array(answers.length);
  let judged = 0;
  const judgeOne = async (i: number): Promise<void> => {
    const { probe, cand } = answers[i];
    if (judge.kind === 'rule') {
      const hash = inputHash('eval-judgement', judge.id, cand.inputHash);
      const v = judge.rules.judge(cand.text);
      if (!store.existingId('judgements', hash))
        store.addJudgement({
          round,
          stageIndex,
          inputHash: hash,
          judgeId: judge.id,
          mode: 'rule',
          candidateId: cand.id,
          score: v.score,
          rawOutput: JSON.stringify(v.outcomes),
        });
      results[i] = v.score;
      v.outcomes.forEach((o, k) => {
        const name = ruleName(judge.rules.rules[k], k);
        if (!o.passed) violations.set(name, (violations.get(name) ?? 0) + 1);
        else violations.set(name, violations.get(name) ?? 0);
      });
    } else if (rubric) {
      // model judges keep their original hash so earlier runs resume; a server judge's hash
      // names the server and model, so pointing the judge elsewhere re-judges
      const hash = inputHash(
        'eval-judgement',
        judge.id,
        rubric.hash,
        cand.inputHash,
        ...(judge.kind === 'openai' ? [judgeIdentity(judge)] : []),
      );
      const existing = store.existingId('judgements', hash);
      if (existing) {
        const j = store.getJudgement(existing)!;
        results[i] = j.score;
        if (j.parseError) parseFailures++;
      } else {
        const vars = { prompt: promptText(probe.messages), response: cand.text };
        const sampling = { temperature: 0, max_new_tokens: 256 };
        const seed = ctx.seedFor('eval-judge', hash);
        let rendered: string;
        let s: ScoreSample;
        let detail: Record<string, unknown> | undefined;
        if (judge.kind === 'openai') {
          const r = await openaiJudgeByGeneration(judge.client, rubric, vars, 1, sampling, seed);
          rendered = r.rendered;
          s = r.samples[0];
          detail = serverDetail(judge, r.model, r.samples[0].finishReason);
        } else {
          const r = await judgeByGeneration(judgeEngine!, rubric, vars, 1, sampling, seed);
          rendered = r.rendered;
          s = r.samples[0];
        }
        store.addJudgement({
          round,
          stageIndex,
          inputHash: hash,
          judgeId: judge.id,
          judgeCheckpointId: judge.kind === 'model' ? judge.checkpointId : null,
          mode: 'generate',
          candidateId: cand.id,
          rubricHash: rubric.hash,
          renderedPrompt: rendered,
          rawOutput: s.raw,
          score: s.score,
          parseError: s.parseError ?? null,
          detail,
        });
        results[i] = s.score;
        if (s.parseError) parseFailures++;
      }
    }
    judged++;
    ctx.emit({
      type: 'stage-progress',
      round,
      stage: stageIndex,
      kind: 'evaluate',
      done: answers.length + judged,
      total: answers.length * 2,
      unit: 'probe steps',
    });
  };
  const queue = new PQueue({ concurrency: judge.kind === 'rule' ? 1 : judge.concurrency });
  let failure: { error: unknown } | undefined;
  for (let i = 0; i < answers.length; i++)
    void queue.add(async () => {
      if (failure || ctx.stopped) return;
      try {
        await judgeOne(i);
      } catch (error) {
        failure ??= { error };
        queue.clear();
      }
    });
  await queue.onIdle();
  if (failure && !ctx.stopped) throw failure.error;
  if (ctx.stopped) return { counts: { probes: answers.length }, gateHits: [] };
  answers.forEach((a, i) => {
    if (results[i] !== undefined) scores.set(a.probe.id, results[i]);
  });
  const valid = [...scores.values()].filter((s): s is number => s !== null);
  const histogram: Record<string, number> = {};
  for (const s of valid)
    histogram[String(Math.round(s * 100) / 100)] =
      (histogram[String(Math.round(s * 100) / 100)] ?? 0) + 1;
  record('mean_score', mean(valid), {
    histogram,
    judge: judge.id,
    scale: rubric?.scale ?? [0, 1],
    scores: Object.fromEntries(scores),
  });
  record('parse_failure_rate', answers.length ? parseFailures / answers.length : 0);
  for (const [name, n] of violations) record(`${VIOLATION_PREFIX}${name}`, n / answers.length);

  // 3. lengths and phrase rates
  const lengths = answers.map((a) => a.cand.text.length);
  record('mean_length', mean(lengths), { lengths });
  record('mean_tokens', mean(answers.map((a) => a.cand.tokenIds?.length ?? 0)));
  const rate = (file: string | undefined, metric: string) => {
    if (!file) return;
    const phrases = loadPhraseList(ctx.path(file));
    const hits = answers.filter((a) => findPhrases(a.cand.text, phrases).length > 0).length;
    record(metric, hits / answers.length, { hits });
  };
  rate(spec.refusal_phrases, 'refusal_rate');
  rate(spec.boilerplate_phrases, 'boilerplate_rate');

  // 4. win rate vs round 0's answers, by the same anchor scores
  const atRound0 = (metric: string) =>
    store
      .evalMetrics()
      .find((m) => m.round === 0 && m.metric === metric && m.stageIndex === stageIndex);
  const round0 = atRound0('mean_score');
  if (round > 0 && round0?.detail?.scores) {
    const before = round0.detail.scores as Record<string, number | null>;
    let wins = 0;
    let losses = 0;
    let ties = 0;
    for (const [id, s] of scores) {
      const b = before[id];
      if (s === null || b === null || b === undefined) continue;
      if (s > b) wins++;
      else if (s < b) losses++;
      else ties++;
    }
    const n = wins + losses + ties;
    record('win_rate', n ? (wins + ties / 2) / n : NaN, { wins, losses, ties, judge: judge.id });
    record('tie_rate', n ? ties / n : NaN);
  }

  // 5. log-prob shift of fixed reference answers, and sampled KL(M_r || M_0) on the policy's answers
  const withRef = probes.filter((p) => p.reference);
  const refRows = withRef.map((p) => ({ prompt: p.messages, completion: p.reference! }));
  type Scored = { logps: number; tokens: number };
  const perToken = (xs: Scored[]) => mean(xs.map((x) => x.logps / Math.max(1, x.tokens)));
  if (refRows.length) {
    const now = (await engine.score(
      refRows,
      withRef.map((p) => p.id),
    )) as Scored[];
    const value = perToken(now);
    const r0 = atRound0('reference_logprob');
    put('reference_logprob', value);
    if (round > 0 && r0?.value != null) record('logprob_shift', value - r0.value);
  }
  if (round > 0) {
    const initial = await ctx.engines.get(ctx.initial);
    const rows = answers.map((a) => ({ prompt: a.probe.messages, completion: a.cand.text }));
    const under0 = (await initial.score(
      rows,
      answers.map((a) => a.probe.id),
    )) as Scored[];
    const underR = (await engine.score(
      rows,
      answers.map((a) => a.probe.id),
    )) as Scored[];
    record('kl', mean(underR.map((u, i) => (u.logps - under0[i].logps) / Math.max(1, u.tokens))));
  }

  // 6. gates
  const gateHits: GateHit[] = [];
  for (const gate of spec.gates ?? []) {
    const value = metrics[gate.metric];
    if (value === undefined || !Number.isFinite(value)) continue;
    const hit =
      gate.op === '<'
        ? value < gate.value
        : gate.op === '<='
          ? value <= gate.value
          : gate.op === '>'
            ? value > gate.value
            : value >= gate.value;
    if (hit) {
      gateHits.push({ gate, value });
      ctx.emit({
        type: 'gate',
        round,
        metric: gate.metric,
        value,
        threshold: gate.value,
        op: gate.op,
        action: gate.action,
      });
    }
  }
  return {
    counts: { probes: answers.length, scored: valid.length, parse_failures: parseFailures },
    gateHits,
  };
}
