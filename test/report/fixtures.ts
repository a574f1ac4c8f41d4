// A real runs/ folder for the report tests: run 'run-a' with 3 rounds of prompts, candidates,
// judgements, pairs, train steps and eval metrics; run 'run-b' with an edited constitution;
// and a broken run folder.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import type { CliContext } from '../../src/cli/context.js';
import { inputHash } from '../../src/store/hash.js';
import { RUN_DB_FILE, runDbPath } from '../../src/store/run-dirs.js';
import { openStore } from '../../src/store/run-store.js';
import type { SamplingRecord } from '../../src/store/types.js';

export const SAMPLING: SamplingRecord = {
  temperature: 0.7,
  top_p: 0.9,
  top_k: 0,
  max_new_tokens: 64,
};

export const CONSTITUTION_A = 'Be helpful.\nBe harmless.\nBe honest.\n';
export const CONSTITUTION_B = 'Be helpful.\nBe harmless and kind.\nBe honest.\nCite sources.\n';

/** Eval metric values per round (NaN is stored as null). */
export const METRICS: Record<string, number[]> = {
  mean_score: [3, 3.5, 3.25],
  win_rate: [0.5, 0.625, 0.75],
  mean_length: [120, 150.5, 180],
  kl: [0, 0.02, 0.05],
  refusal_rate: [0.1, 0.2, 0.05],
  tie_rate: [0.125, 0.25, 0.0625],
  parse_failure_rate: [0, 0.0625, 0],
  judge_agreement: [0.8, NaN, 0.7],
  candidate_judge_accuracy: [0.5, 0.6, 0.7],
  true_score: [0.5, 0.55, 0.6],
  'violation/harm': [0.3, 0.2, 0.25],
  'violation/honesty': [0.1, 0.1, 0.05],
  'judge_score/self': [0.5, 0.6, 0.8],
  'judge_score/rules': [0.25, 0.5, 0.5],
  audit_complete: [NaN, 1, 0.75],
  meta_judge_win_rate: [NaN, 0.6, 0.55],
};

/** The audit's counts per round (audit_complete's detail); round 0 has no audit sample. */
export const AUDIT: (Record<string, number> | null)[] = [
  null,
  { drawn: 4, labelled: 4, compared: 3, ties: 1, reversed: 1 },
  { drawn: 4, labelled: 3, compared: 3, ties: 0, reversed: 0 },
];

/** Each loop judge's 0-1 scores of the round's candidates (detail.scores of judge_score/<judge>). */
export const JUDGE_SCORES: Record<string, number[][]> = {
  self: [
    [0.2, 0.4, 0.4, 1],
    [0.4, 0.6, 0.6, 0.8],
    [0.6, 0.8, 0.8, 1],
  ],
  rules: [
    [0, 0.5],
    [0.5, 0.5],
    [0.25, 0.75],
  ],
};

/** [self, anchor] on 0-1 per probe answer (judge_agreement's detail.calibration.pairs). */
export const CALIBRATION: [number, number][][] = [
  [
    [0.1, 0.25],
    [0.15, 0.75],
    [0.5, 0.5],
    [1, 1],
  ],
  [
    [0.3, 0.25],
    [0.9, 0.75],
  ],
  [
    [0.5, 0.5],
    [0.7, 0.75],
  ],
];

/** The detail stored with `metric` at round r, as the evaluate stage stores it. */
function metricDetail(metric: string, r: number): Record<string, unknown> | null {
  if (metric === 'mean_score') return { histogram: HISTOGRAMS[r], scale: [1, 5], judge: 'anchor' };
  if (metric === 'mean_length') return { lengths: LENGTHS[r] };
  if (metric === 'judge_agreement')
    return { calibration: { judge: 'self', reference: 'anchor', pairs: CALIBRATION[r] } };
  // candidate_judge_accuracy's pairs exist too: the anchor's are preferred
  if (metric === 'candidate_judge_accuracy')
    return { calibration: { judge: 'self', reference: 'grader', pairs: [[0.5, 0.1]] } };
  if (metric === 'audit_complete') return AUDIT[r];
  if (metric.startsWith('judge_score/')) {
    const judge = metric.slice('judge_score/'.length);
    return { judge, scores: JUDGE_SCORES[judge][r] };
  }
  return null;
}

export const HISTOGRAMS: Record<string, number>[] = [
  { '1': 1, '2': 2, '3': 3, '4': 2 },
  { '2': 1, '3': 3, '4': 3, '5': 1 },
  { '3': 4, '4': 3, '5': 1 },
];

export const LENGTHS: number[][] = [
  [100, 110, 120, 130, 140],
  [130, 140, 150.5, 160, 172],
  [150, 170, 180, 190, 210],
];

export const ROUNDS = 3;
export const PROMPTS_PER_ROUND = 3;
/** Prompt 2 of every round ties and is discarded, so 2 pairs per round. */
export const PAIRS_PER_ROUND = 2;
export const STEPS_PER_ROUND = 4;

/** The text of prompt i of round r; prompt 0 carries markup that must be escaped in HTML. */
export const promptText = (r: number, i: number): string =>
  i === 0 ? `Explain <b>bold</b> text, round ${r}` : `Question ${i} of round ${r}`;

function clock(): () => Date {
  let t = Date.parse('2025-03-01T10:00:00Z');
  return () => new Date((t += 1500));
}

export function makeRunA(root: string, id = 'run-a'): void {
  const store = openStore(runDbPath(root, id), { now: clock() });
  store.createRun({
    id,
    name: 'self-reward',
    pipelinePath: 'pipelines/self-reward.yaml',
    pipelineYaml: 'name: self-reward\nrounds: 3\n# <script>alert(1)</script>\n',
    seed: 1234,
  });
  const constitution = store.putText('constitution', 'constitutions/hh.md', CONSTITUTION_A);
  const rubric = store.putText('rubric', 'rubrics/5pt.hbs', 'Rate {{response}} from 1 to 5.');
  let policy = store.addCheckpoint({ round: 0, kind: 'base', path: 'builtin:tiny' });
  const base = policy;
  for (let r = 0; r < ROUNDS; r++) {
    store.upsertRound(r, {
      policyCheckpointId: policy,
      referenceCheckpointId: base,
      status: 'running',
    });
    store.startStage(r, 0, 'generate');
    const prompts: { id: string; cands: { id: string; score: number }[] }[] = [];
    for (let i = 0; i < PROMPTS_PER_ROUND; i++) {
      const pid = store.addPrompt({
        round: r,
        stageIndex: 0,
        source: 'seed',
        messages: [{ role: 'user', content: promptText(r, i) }],
        inputHash: inputHash('prompt', r, i),
      });
      const cands = [0, 1, 2].map((k) => ({
        id: store.addCandidate({
          round: r,
          stageIndex: 0,
          promptId: pid,
          idx: k,
          text: `answer ${k} to prompt ${i} of round ${r}` + (k === 0 ? ' '.padEnd(900, 'x') : ''),
          sampling: SAMPLING,
          checkpointId: policy,
          inputHash: inputHash('gen', r, i, k),
        }),
        // prompt 2: every candidate scores the same (a tie)
        score: i === 2 ? 3 : 2 + k,
      }));
      prompts.push({ id: pid, cands });
    }
    store.finishStage(r, 0, { counts: { prompts: PROMPTS_PER_ROUND, candidates: 9 } });
    store.startStage(r, 1, 'judge');
    for (const p of prompts)
      for (const c of p.cands)
        store.addJudgement({
          round: r,
          stageIndex: 1,
          judgeId: 'self',
          judgeCheckpointId: policy,
          mode: 'generate',
          candidateId: c.id,
          rubricHash: rubric,
          constitutionHash: constitution,
          renderedPrompt: 'Rate it.',
          rawOutput: `The answer is fine.\nScore: ${c.score}`,
          score: c.score,
          inputHash: inputHash('judge', r, c.id),
        });
    store.finishStage(r, 1, { counts: { judgements: 9 } });
    store.startStage(r, 2, 'pair');
    for (const p of prompts) {
      if (p === prompts[2]) {
        store.addPairDiscard({ round: r, stageIndex: 2, promptId: p.id, reason: 'tie' });
        continue;
      }
      store.addPair({
        round: r,
        stageIndex: 2,
        promptId: p.id,
        chosenCandidateId: p.cands[2].id,
        rejectedCandidateId: p.cands[0].id,
        chosenScore: p.cands[2].score,
        rejectedScore: p.cands[0].score,
        strategy: 'max-min',
        inputHash: inputHash('pair', r, p.id),
      });
    }
    store.finishStage(r, 2, { counts: { pairs: PAIRS_PER_ROUND, discards: 1 } });
    store.startStage(r, 3, 'train');
    for (let s = 0; s < STEPS_PER_ROUND; s++)
      store.addTrainStep({
        round: r,
        step: s,
        stageIndex: 3,
        metrics: {
          loss: 0.69 - 0.05 * s - 0.1 * r,
          'rewards/margins': 0.1 * (s + 1) + r,
          'rewards/accuracies': Math.min(1, 0.5 + 0.125 * s),
        },
      });
    const next = store.addCheckpoint({
      round: r + 1,
      kind: 'adapter',
      path: `runs/${id}/checkpoints/round-${r + 1}`,
      parentId: policy,
    });
    store.finishStage(r, 3, { counts: { steps: STEPS_PER_ROUND } });
    store.startStage(r, 4, 'evaluate');
    for (const [metric, values] of Object.entries(METRICS))
      store.putEvalMetric({
        round: r,
        stageIndex: 4,
        metric,
        value: values[r],
        detail: metricDetail(metric, r),
      });
    store.finishStage(r, 4, { counts: { metrics: Object.keys(METRICS).length } });
    store.upsertRound(r, { status: 'done' });
    policy = next;
  }
  store.setRunStatus('finished');
  store.close();
}

/** A second run: same layout, edited constitution, only eval metrics of rounds 0-1. */
export function makeRunB(root: string, id = 'run-b'): void {
  const store = openStore(runDbPath(root, id), { now: clock() });
  store.createRun({
    id,
    name: 'self-reward-v2',
    pipelinePath: 'p.yaml',
    pipelineYaml: 'name: v2\n',
  });
  store.putText('constitution', 'constitutions/hh.md', CONSTITUTION_B);
  for (let r = 0; r < 2; r++) {
    store.upsertRound(r, { status: 'running' });
    store.putEvalMetric({ round: r, metric: 'mean_score', value: 3 + r });
    store.putEvalMetric({ round: r, metric: 'win_rate', value: 0.5 + 0.1 * r });
    store.upsertRound(r, { status: 'done' });
  }
  store.setRunStatus('finished');
  store.close();
}

export function makeBroken(root: string, name = 'zz-broken'): void {
  mkdirSync(join(root, name), { recursive: true });
  writeFileSync(join(root, name, RUN_DB_FILE), 'not a database '.repeat(100));
}

export interface Fixture {
  dir: string;
  root: string;
  cleanup: () => void;
}

/** A temp folder with runs/{run-a, run-b, zz-broken}. */
export function makeRunsFolder(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'rlaif-report-'));
  const root = join(dir, 'runs');
  makeRunA(root);
  makeRunB(root);
  makeBroken(root);
  return { dir, root, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Captured {
  ctx: CliContext;
  out: () => string;
  err: () => string;
}

export function capture(): Captured {
  let out = '';
  let err = '';
  return {
    ctx: {
      out: (s) => {
        out += s;
      },
      err: (s) => {
        err += s;
      },
      debug: false,
    },
    out: () => out,
    err: () => err,
  };
}

/** Runs one command through commander with a capturing context; returns what it printed. */
export async function runCommand(
  register: (program: Command, ctx: CliContext) => void,
  argv: string[],
): Promise<{ out: string; err: string }> {
  const c = capture();
  const program = new Command().exitOverride().configureOutput({
    writeOut: c.ctx.out,
    writeErr: c.ctx.err,
  });
  register(program, c.ctx);
  for (const cmd of program.commands)
    cmd.exitOverride().configureOutput({ writeOut: c.ctx.out, writeErr: c.ctx.err });
  await program.parseAsync(argv, { from: 'user' });
  return { out: c.out(), err: c.err() };
}
