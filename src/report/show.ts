// What `pipeline show` prints: per round, its stages (status, counts, timings) and row counts,
// a few sample pairs traced to their prompt, both answers and the judges' raw texts, and the
// run's event log.

import { humanAgreement, type HumanAgreement } from '../audit/agreement.js';
import type { RunStore } from '../store/run-store.js';
import type {
  CandidateOrigin,
  ChatMessage,
  GateStopRow,
  InputChangeRow,
  JudgeMode,
  PairRow,
  RoundResetRow,
  RunCounts,
  RunRow,
  StageRow,
  StepStatus,
  Verdict,
} from '../store/types.js';
import { eventLog, type EventLogSummary } from './event-log.js';
import { durationMs } from './format.js';

/** A stage run of the round, with how long it took. */
export interface StageSummary extends Omit<StageRow, 'runId' | 'round'> {
  durationMs: number | null;
}

export interface RoundSummary {
  round: number;
  /** Null when rows of the round exist but the round itself was never recorded. */
  status: StepStatus | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  policyCheckpointId: string | null;
  referenceCheckpointId: string | null;
  stages: StageSummary[];
  prompts: number;
  candidates: number;
  judgements: number;
  pairs: number;
  /** Discarded prompts by reason. */
  discards: Record<string, number>;
  trainSteps: number;
  evalMetrics: number;
}

export interface JudgementSummary {
  id: string;
  judgeId: string;
  mode: JudgeMode;
  /** Pairwise judgements show two candidates: which one this candidate was. */
  shownAs: 'A' | 'B' | null;
  principleId: string | null;
  sampleIdx: number;
  score: number | null;
  verdict: Verdict | null;
  parseError: string | null;
  rawOutput: string | null;
}

export interface PairSide {
  candidateId: string;
  idx: number;
  origin: CandidateOrigin;
  text: string;
  /** The judgements of this candidate made in the pair's round. */
  judgements: JudgementSummary[];
}

export interface SamplePair {
  pairId: string;
  round: number;
  strategy: string;
  chosenScore: number | null;
  rejectedScore: number | null;
  softLabel: number | null;
  promptId: string;
  prompt: ChatMessage[];
  chosen: PairSide;
  rejected: PairSide;
}

export interface RunOverview {
  run: Omit<RunRow, 'pipelineYaml'>;
  counts: RunCounts;
  durationMs: number | null;
  rounds: RoundSummary[];
  samplePairs: SamplePair[];
  events: EventLogSummary;
  /** The gates that stopped the run (empty unless its status is 'stopped'). */
  gateStops: GateStopRow[];
  /** `--accept-changed` inputs and `--from-round` resets, oldest first. */
  inputChanges: InputChangeRow[];
  roundResets: RoundResetRow[];
  /** The human audit per round that drew a sample (src/audit/agreement.ts). */
  audit: ({ round: number } & HumanAgreement)[];
}

export interface OverviewOptions {
  /** How many sample pairs (default 3). */
  pairs?: number;
  /** Take sample pairs from this round only. */
  round?: number;
  /** How many of the newest logged events (default 10). */
  events?: number;
  /** Clock for the duration of a run still running. */
  now?: Date;
}

type Counts = Map<number, number>;

function countByRound(store: RunStore, table: string): Counts {
  // Table names come from the fixed list below, never from input.
  const rows = store.db
    .prepare(`SELECT round, count(*) AS n FROM ${table} WHERE run_id = ? GROUP BY round`)
    .all(store.runId) as { round: number; n: number }[];
  return new Map(rows.map((r) => [r.round, r.n]));
}

const TABLES = [
  'prompts',
  'candidates',
  'judgements',
  'pairs',
  'pair_discards',
  'train_steps',
  'eval_metrics',
  'stage_runs',
] as const;

/** The rounds of the run: recorded ones and any round that has rows, ascending. */
function roundNumbers(store: RunStore, counts: Record<string, Counts>): number[] {
  const set = new Set(store.listRounds().map((r) => r.round));
  for (const c of Object.values(counts)) for (const r of c.keys()) set.add(r);
  return [...set].sort((a, b) => a - b);
}

function side(store: RunStore, candidateId: string, round: number): PairSide {
  const c = store.getCandidate(candidateId);
  const judgements = store
    .judgementsForCandidate(candidateId)
    .filter((j) => j.round === round)
    .map((j): JudgementSummary => ({
      id: j.id,
      judgeId: j.judgeId,
      mode: j.mode,
      shownAs: j.mode !== 'pairwise' ? null : j.candidateId === candidateId ? 'A' : 'B',
      principleId: j.principleId,
      sampleIdx: j.sampleIdx,
      score: j.score,
      verdict: j.verdict,
      parseError: j.parseError,
      rawOutput: j.rawOutput,
    }));
  return {
    candidateId,
    idx: c?.idx ?? -1,
    origin: c?.origin ?? 'sample',
    text: c?.text ?? '',
    judgements,
  };
}

export function samplePair(store: RunStore, pair: PairRow): SamplePair {
  const prompt = store.getPrompt(pair.promptId);
  return {
    pairId: pair.id,
    round: pair.round,
    strategy: pair.strategy,
    chosenScore: pair.chosenScore,
    rejectedScore: pair.rejectedScore,
    softLabel: pair.softLabel,
    promptId: pair.promptId,
    prompt: prompt?.messages ?? [],
    chosen: side(store, pair.chosenCandidateId, pair.round),
    rejected: side(store, pair.rejectedCandidateId, pair.round),
  };
}

export function runOverview(store: RunStore, opts: OverviewOptions = {}): RunOverview {
  const full = store.getRun();
  if (!full) throw new Error(`run ${store.runId} vanished while reading it`);
  const { pipelineYaml: _yaml, ...run } = full;
  const counts: Record<string, Counts> = {};
  for (const t of TABLES) counts[t] = countByRound(store, t);
  const recorded = new Map(store.listRounds().map((r) => [r.round, r]));
  const rounds = roundNumbers(store, counts).map((round): RoundSummary => {
    const r = recorded.get(round);
    const n = (t: (typeof TABLES)[number]) => counts[t].get(round) ?? 0;
    return {
      round,
      status: r?.status ?? null,
      startedAt: r?.startedAt ?? null,
      finishedAt: r?.finishedAt ?? null,
      durationMs: durationMs(r?.startedAt ?? null, r?.finishedAt ?? null),
      policyCheckpointId: r?.policyCheckpointId ?? null,
      referenceCheckpointId: r?.referenceCheckpointId ?? null,
      stages: store.stagesForRound(round).map((s) => ({
        stageIndex: s.stageIndex,
        kind: s.kind,
        status: s.status,
        attempts: s.attempts,
        startedAt: s.startedAt,
        finishedAt: s.finishedAt,
        durationMs: durationMs(s.startedAt, s.finishedAt),
        counts: s.counts,
        error: s.error,
      })),
      prompts: n('prompts'),
      candidates: n('candidates'),
      judgements: n('judgements'),
      pairs: n('pairs'),
      discards: store.discardCounts(round),
      trainSteps: n('train_steps'),
      evalMetrics: n('eval_metrics'),
    };
  });

  const want = opts.pairs ?? 3;
  const samplePairs: SamplePair[] = [];
  const from = opts.round === undefined ? rounds.map((r) => r.round) : [opts.round];
  for (const round of from) {
    if (samplePairs.length >= want) break;
    for (const p of store.pairsForRound(round).slice(0, want - samplePairs.length))
      samplePairs.push(samplePair(store, p));
  }

  const running = run.status === 'running';
  return {
    run,
    counts: store.runCounts(),
    durationMs: durationMs(
      run.createdAt,
      running ? (opts.now ?? new Date()).toISOString() : run.finishedAt,
    ),
    rounds,
    samplePairs,
    events: eventLog(store, opts.events ?? 10),
    gateStops: store.gateStops(),
    inputChanges: store.inputChanges(),
    roundResets: store.roundResets(),
    audit: [...new Set(store.auditItems().map((i) => i.round))].map((round) => ({
      round,
      ...humanAgreement(store.auditItems(round)),
    })),
  };
}
