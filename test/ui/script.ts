// Scripted event sequences for the UI tests: a clock that only moves when told to, and a full
// one-round run with every event type.

import type { PipelineEvent } from '../../src/events.js';

export const T0 = Date.parse('2025-01-01T00:00:00.000Z');

type Body = PipelineEvent extends infer E
  ? E extends PipelineEvent
    ? Omit<E, 'time' | 'runId'>
    : never
  : never;

/** Events stamped at `T0 + ms`; `at(ms)` moves the clock. */
export function clock(runId = 'run-1') {
  let now = T0;
  return {
    at(ms: number) {
      now = T0 + ms;
      return this;
    },
    ev(body: Body): PipelineEvent {
      return { time: new Date(now).toISOString(), runId, ...body } as PipelineEvent;
    },
  };
}

export const STAGES = ['generate', 'judge', 'pair', 'train', 'evaluate'] as const;

/** One round of a two-round run, ending with the run's end; times in seconds after T0. */
export function oneRoundScript(): PipelineEvent[] {
  const c = clock();
  const out: PipelineEvent[] = [];
  const at = (s: number, body: Body) => out.push(c.at(s * 1000).ev(body));
  at(0, {
    type: 'run-start',
    name: 'self-reward',
    rounds: 2,
    stages: [...STAGES],
    resumed: false,
    dir: 'runs/x',
  });
  at(0, { type: 'round-start', round: 1, policy: 'M0' });
  at(0, { type: 'stage-start', round: 1, stage: 0, kind: 'generate', total: 8 });
  for (let i = 1; i <= 8; i++) {
    at(i, {
      type: 'candidate',
      round: 1,
      promptId: `p${Math.ceil(i / 2)}`,
      index: (i - 1) % 2,
      text: `answer number ${i}\nwith two lines`,
      tokens: 10 + i,
    });
    at(i, {
      type: 'stage-progress',
      round: 1,
      stage: 0,
      kind: 'generate',
      done: i,
      total: 8,
      unit: 'candidates',
    });
  }
  at(8, {
    type: 'stage-end',
    round: 1,
    stage: 0,
    kind: 'generate',
    status: 'done',
    seconds: 8,
    counts: { candidates: 8 },
  });
  at(8, { type: 'stage-start', round: 1, stage: 1, kind: 'judge', total: 8 });
  for (let i = 1; i <= 8; i++) {
    const bad = i === 3 || i === 5;
    at(8 + i, {
      type: 'judgement',
      round: 1,
      judge: 'self',
      promptId: `p${Math.ceil(i / 2)}`,
      ...(bad ? { parseError: 'no "Score:" line' } : { score: i % 5 }),
      text: bad ? 'I think it is fine.' : `Reasoning... Score: ${i % 5}`,
    });
    at(8 + i, {
      type: 'stage-progress',
      round: 1,
      stage: 1,
      kind: 'judge',
      done: i,
      total: 8,
      unit: 'judgements',
    });
  }
  at(16, {
    type: 'stage-end',
    round: 1,
    stage: 1,
    kind: 'judge',
    status: 'done',
    seconds: 8,
    counts: { judgements: 8 },
  });
  at(16, { type: 'stage-start', round: 1, stage: 2, kind: 'pair', total: 4 });
  at(17, { type: 'pairs', round: 1, kept: 2, discarded: { tie: 1, below_margin: 1 } });
  at(17, {
    type: 'stage-end',
    round: 1,
    stage: 2,
    kind: 'pair',
    status: 'done',
    seconds: 1,
    counts: { pairs: 2 },
  });
  at(17, { type: 'stage-start', round: 1, stage: 3, kind: 'train', total: 20 });
  for (let s = 1; s <= 20; s++)
    at(17 + s * 0.5, {
      type: 'train-step',
      round: 1,
      step: s,
      totalSteps: 20,
      loss: 0.7 - s * 0.02,
      margin: s * 0.05,
      accuracy: Math.min(1, 0.5 + s * 0.025),
      gradNorm: 1,
      learningRate: 5e-6,
    });
  at(27, {
    type: 'stage-end',
    round: 1,
    stage: 3,
    kind: 'train',
    status: 'done',
    seconds: 10,
    counts: { steps: 20 },
  });
  at(27, { type: 'stage-start', round: 1, stage: 4, kind: 'evaluate', total: 4 });
  at(28, { type: 'eval-metric', round: 1, metric: 'win_rate', value: 0.625 });
  at(28, { type: 'eval-metric', round: 1, metric: 'mean_score', value: 3.5 });
  at(28, {
    type: 'gate',
    round: 1,
    metric: 'kl',
    value: 0.4,
    threshold: 0.3,
    op: '>',
    action: 'warn',
  });
  at(29, {
    type: 'stage-end',
    round: 1,
    stage: 4,
    kind: 'evaluate',
    status: 'done',
    seconds: 2,
    counts: { probes: 4 },
  });
  at(29, { type: 'round-end', round: 1, seconds: 29, checkpoint: 'runs/x/round-1' });
  at(30, { type: 'run-end', status: 'finished', seconds: 30 });
  return out;
}
