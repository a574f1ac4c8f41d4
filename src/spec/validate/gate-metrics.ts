// A gate on a metric the evaluate stage never stores can never fire: the run would pass a check
// it never made. Each metric a gate may name (schema.ts EVAL_METRICS) says here what the
// evaluate stage needs to compute it (src/stages/evaluate: judge-metrics.ts, text-metrics.ts,
// model-drift.ts); a gate that cannot be computed is a validation error, not a silent no-op.

import type { EvaluateStageSpec, JudgeStageSpec } from '../schema.js';
import { EVAL_METRICS } from '../schema.js';
import type { ParsedParts } from './parsed-parts.js';
import type { Problems } from './problems.js';

type GateMetric = (typeof EVAL_METRICS)[number];

interface MetricSource {
  /** The evaluate stage's field that must be set for the metric to be computed. */
  field?: 'refusal_phrases' | 'boilerplate_phrases' | 'ground_truth';
  /** Computed only when the policy judges itself pointwise in the judge stage the evaluate
   *  stage reads (stages/evaluate/self-judge-agreement.ts). */
  selfJudge?: true;
  /** Computed only when the judge stage the evaluate stage reads is pairwise / has 2+ judges. */
  judgeStage?: 'pairwise' | 'several-judges' | 'meta-judge';
  /** Computed only when the round has an audit stage (its sample and human labels). */
  audit?: true;
  /** Why the metric is never computed by this build (it is only a name so far). */
  never?: string;
}

/** How each gate metric is computed; a round-1-only metric (win_rate, kl) still fires from 1. */
export const GATE_METRIC_SOURCES: Readonly<Record<GateMetric, MetricSource>> = {
  mean_score: {},
  win_rate: {},
  mean_length: {},
  kl: {},
  refusal_rate: { field: 'refusal_phrases' },
  boilerplate_rate: { field: 'boilerplate_phrases' },
  true_score: { field: 'ground_truth' },
  judge_accuracy: { field: 'ground_truth' },
  reward_gap: { field: 'ground_truth' },
  candidate_judge_accuracy: { field: 'ground_truth' },
  pair_accuracy: { field: 'ground_truth' },
  judge_agreement: { selfJudge: true },
  judge_tau: { selfJudge: true },
  judge_score_drift: { selfJudge: true },
  judge_flip_rate: { selfJudge: true },
  position_bias: { judgeStage: 'pairwise' },
  inter_judge_agreement: { judgeStage: 'several-judges' },
  audit_complete: { audit: true },
  judge_human_agreement: { audit: true },
  judge_human_kappa: { audit: true },
  meta_judge_position_bias: { judgeStage: 'meta-judge' },
  meta_judge_agreement: { judgeStage: 'meta-judge' },
  meta_judge_win_rate: { judgeStage: 'meta-judge' },
};

/** The metrics a gate can test in this build. */
export const COMPUTED_GATE_METRICS: readonly GateMetric[] = EVAL_METRICS.filter(
  (m) => !GATE_METRIC_SOURCES[m].never,
);

/** Every gate of every valid evaluate stage names a metric that stage really computes. */
export function checkGateMetrics(out: Problems, parts: ParsedParts): void {
  for (const st of parts.stages) {
    if (st.spec?.kind !== 'evaluate') continue;
    const stage = st.spec;
    const judgeStage = judgeStageFor(parts, st.index);
    const audited = parts.stages.some((s) => s.kind === 'audit');
    (stage.gates ?? []).forEach((gate, g) => {
      const why =
        GATE_METRIC_SOURCES[gate.metric].audit && !audited
          ? 'the pipeline has no audit stage (expected a stage with kind: audit after a pair stage)'
          : notComputed(stage, judgeStage, gate.metric);
      if (why)
        out.add(
          ['stages', st.index, 'gates', g, 'metric'],
          `gate metric '${gate.metric}' is never computed: ${why}`,
        );
    });
  }
}

/** The judge stage an evaluate stage reads from round 1 on: the last one before it (runner.ts). */
function judgeStageFor(parts: ParsedParts, index: number): JudgeStageSpec | undefined {
  let last: JudgeStageSpec | undefined;
  for (const s of parts.stages) if (s.index < index && s.spec?.kind === 'judge') last = s.spec;
  return last;
}

function notComputed(
  stage: EvaluateStageSpec,
  judgeStage: JudgeStageSpec | undefined,
  metric: GateMetric,
): string | undefined {
  const source = GATE_METRIC_SOURCES[metric];
  if (source.never) return `${source.never} (expected one of ${COMPUTED_GATE_METRICS.join(', ')})`;
  if (source.judgeStage === 'pairwise' && judgeStage?.mode !== 'pairwise')
    return `${judgeStage ? 'its judge stage is not pairwise' : 'no judge stage comes before this evaluate stage'} (expected a judge stage with mode: pairwise before it)`;
  if (source.judgeStage === 'several-judges' && (judgeStage?.judges.length ?? 0) < 2)
    return `${judgeStage ? 'its judge stage has one judge' : 'no judge stage comes before this evaluate stage'} (expected a judge stage with two or more judges before it)`;
  if (source.judgeStage === 'meta-judge' && !judgeStage?.meta_judge)
    return `${judgeStage ? 'its judge stage has no meta_judge' : 'no judge stage comes before this evaluate stage'} (expected a judge stage with meta_judge before it)`;
  if (source.selfJudge) {
    const why = !judgeStage
      ? 'no judge stage comes before this evaluate stage'
      : !judgeStage.judges.includes('self')
        ? "its judge stage does not judge with 'self'"
        : judgeStage.mode === 'pairwise'
          ? 'its judge stage is pairwise'
          : judgeStage.constitution
            ? 'its judge stage renders a constitution'
            : undefined;
    if (why)
      return `${why} (expected a judge stage where the policy scores answers by a rubric: judges: [self], mode generate or logprobs, no constitution)`;
  }
  if (source.field && !stage[source.field])
    return source.field === 'ground_truth'
      ? 'this evaluate stage has no ground truth (expected ground_truth: sandbox in the stage, with sandbox probes)'
      : `this evaluate stage has no ${source.field} file to measure it with (expected ${source.field}: <file> in the stage, or a gate on another metric)`;
  return undefined;
}
