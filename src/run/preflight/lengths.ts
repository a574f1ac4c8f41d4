// Token lengths checked before any work: a prompt rendered with the model's chat template, plus
// the tokens the stage may generate, must fit the model's positions (max_position_embeddings).
// Without this a long prompt fails deep inside a round, with an engine message about a CLI flag.
//
//   generate, evaluate:  tokens(chat(prompt))                    + max_new_tokens      <= positions
//   judge (pointwise):   tokens(chat(rubric(prompt, answer=""))) + A + judgement tokens <= positions
//   judge (pairwise):    the same with two answers (2·A)
// where A = max_new_tokens of the generate stage before the judge (the longest answer it can
// write), and judgement tokens = the judge's max_new_tokens (1 in logprobs mode: one prefill).

import { readFileSync } from 'node:fs';
import { loadModelTextLimits, type ModelTextLimits } from '../../engine/index.js';
import { promptText } from '../../judges/model-judge.js';
import { loadConstitution } from '../../prompts/constitution.js';
import { loadPromptSet, type PromptFileRow } from '../../prompts/prompt-set.js';
import { loadRubric } from '../../prompts/rubric.js';
import { SELF_JUDGE, type JudgeStageSpec, type PipelineSpec } from '../../spec/schema.js';
import { resolvePipelinePath } from '../../spec/validate/index.js';
import type { Problems } from '../../spec/validate/problems.js';

interface PromptFile {
  /** As written in the pipeline file, for messages. */
  name: string;
  rows: PromptFileRow[];
  /** 1-based line of each row: rows are the file's non-blank lines, in order. */
  lines: number[];
}

/** The longest prompt of a file: its row and its input tokens. */
interface Need {
  row: number;
  tokens: number;
}

export function lengthProblems(spec: PipelineSpec, baseDir: string, out: Problems): void {
  const abs = (p: string) => (p.startsWith('builtin:') ? p : resolvePipelinePath(baseDir, p));
  const models = new Map<string, ModelTextLimits>();
  const model = (ref: string): ModelTextLimits => {
    const path = abs(ref);
    let m = models.get(path);
    if (!m) models.set(path, (m = loadModelTextLimits(path)));
    return m;
  };
  const files = new Map<string, PromptFile>();
  const prompts = (name: string): PromptFile => {
    let f = files.get(name);
    if (!f) files.set(name, (f = readPrompts(name, abs(name))));
    return f;
  };
  const policy = { ref: spec.model.path, limits: model(spec.model.path) };
  let answer = 0;
  let answerKey = '';
  spec.stages.forEach((s, i) => {
    const at = ['stages', i, 'max_new_tokens'];
    if (s.kind === 'generate') {
      answer = s.max_new_tokens;
      answerKey = `stages[${i}].max_new_tokens`;
      const f = prompts(spec.prompts.file);
      const worst = longest(f.rows.map((r) => policy.limits.chatTokens(r.messages)));
      report(out, at, f, worst, s.max_new_tokens, policy.ref, policy.limits.positions);
    } else if (s.kind === 'evaluate') {
      const f = prompts(s.probes);
      const worst = longest(f.rows.map((r) => policy.limits.chatTokens(r.messages)));
      report(out, at, f, worst, s.max_new_tokens, policy.ref, policy.limits.positions);
    } else if (s.kind === 'judge' && answer > 0) {
      const f = prompts(spec.prompts.file);
      const render = judgeRenderer(s, abs);
      const answers = (s.mode === 'pairwise' ? 2 : 1) * answer;
      const judgement = s.mode === 'logprobs' ? 1 : s.max_new_tokens;
      for (const ref of new Set(s.judges.map((j) => judgeModel(spec, j)))) {
        if (!ref) continue;
        const limits = model(ref);
        const worst = longest(f.rows.map((r) => limits.chatTokens(asUser(render(r)))));
        report(out, at, f, worst, judgement + answers, ref, limits.positions, {
          tokens: answers,
          key: answerKey,
        });
      }
    }
  });
}

/** The model a judge runs on, or undefined for judges without positions (rules, servers). */
function judgeModel(spec: PipelineSpec, name: string): string | undefined {
  if (name === SELF_JUDGE) return spec.model.path;
  const j = spec.judges[name];
  return j?.kind === 'model' ? j.path : undefined;
}

/** The rubric rendered for a prompt with empty answers; the answers' tokens are added apart. */
function judgeRenderer(
  s: JudgeStageSpec,
  abs: (p: string) => string,
): (r: PromptFileRow) => string {
  const rubric = loadRubric(abs(s.rubric));
  const principles = s.constitution ? loadConstitution(abs(s.constitution)).principles : [];
  // pairwise samples one principle per pair: the longest is the worst case
  const principle = [...principles].sort((a, b) => b.text.length - a.text.length)[0];
  return (r) => {
    const vars: Record<string, unknown> = { prompt: promptText(r.messages), response: '' };
    if (s.mode === 'pairwise') Object.assign(vars, { response_a: '', response_b: '', principle });
    if (principles.length && rubric.variables.includes('constitution'))
      vars.constitution = principles;
    return rubric.render(vars);
  };
}

const asUser = (content: string) => [{ role: 'user' as const, content }];

function longest(tokens: number[]): Need {
  let best: Need = { row: -1, tokens: 0 };
  tokens.forEach((t, row) => {
    if (t > best.tokens) best = { row, tokens: t };
  });
  return best;
}

function report(
  out: Problems,
  at: (string | number)[],
  f: PromptFile,
  worst: Need,
  generated: number,
  model: string,
  positions: number,
  answers?: { tokens: number; key: string },
): void {
  if (worst.row < 0 || worst.tokens + generated <= positions) return;
  const key = `stages[${at[1]}].max_new_tokens`;
  const row = f.rows[worst.row];
  const input = answers
    ? `rendered into the judge's rubric is ${worst.tokens} tokens, plus ${answers.tokens} for ` +
      `the longest answer(s) ${answers.key} allows and ${generated - answers.tokens} for the ` +
      `judgement`
    : `is ${worst.tokens} tokens in the model's chat template, plus ${generated} to generate`;
  out.add(
    at,
    `${key}: prompt '${row.id}' (${f.name}:${f.lines[worst.row]}) ${input}: ` +
      `${worst.tokens + generated} positions, more than the ${positions} of model '${model}' ` +
      `(max_position_embeddings); lower the max_new_tokens or shorten the prompt`,
  );
}

function readPrompts(name: string, path: string): PromptFile {
  const rows = loadPromptSet(path);
  const lines: number[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((l, i) => {
      if (l.trim() !== '') lines.push(i + 1);
    });
  return { name, rows, lines };
}
