// A gate on a metric the evaluate stage never stores can never fire: the run would pass a check
// it never made. Each metric a gate may name (schema.ts EVAL_METRICS) says here what the
// evaluate stage needs to compute it (src/stages/evaluate: judge-metrics.ts, text-metrics.ts,
// model-drift.ts); a gate that cannot be computed is a validation error, not a silent no-op.

import type { EvaluateStageSpec } from '../schema.js';
import { EVAL_METRICS } from '../schema.js';
import type { ParsedParts } from './parsed-parts.js';
import type { Problems } from './problems.js';

type GateMetric = (typeof EVAL_METRICS)[number];

interface MetricSource {
  /** The evaluate stage's field that must be set for the metric to be computed. */
  field?: 'refusal_phrases' | 'boilerplate_phrases' | 'ground_truth';
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
  judge_agreement: {
    never: 'judge agreement is not computed by this version (it is planned, issue 16)',
  },
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
    (stage.gates ?? []).forEach((gate, g) => {
      const why = notComputed(stage, gate.metric);
      if (why)
        out.add(
          ['stages', st.index, 'gates', g, 'metric'],
          `gate metric '${gate.metric}' is never computed: ${why}`,
        );
    });
  }
}

function notComputed(stage: EvaluateStageSpec, metric: GateMetric): string | undefined {
  const source = GATE_METRIC_SOURCES[metric];
  if (source.never) return `${source.never} (expected one of ${COMPUTED_GATE_METRICS.join(', ')})`;
  if (source.field && !stage[source.field])
    return source.field === 'ground_truth'
      ? 'this evaluate stage has no ground truth (expected ground_truth: sandbox in the stage, with sandbox probes)'
      : `this evaluate stage has no ${source.field} file to measure it with (expected ${source.field}: <file> in the stage, or a gate on another metric)`;
  return undefined;
}
