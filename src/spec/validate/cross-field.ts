// Checks that span fields, which the schema cannot express: stage order, enough candidates to
// pair, judge names that resolve, settings that contradict each other. They run on the parts that
// parsed (see parsed-parts.ts), so a file with schema errors still gets these reported too.

import {
  SELF_JUDGE,
  type EvaluateStageSpec,
  type JudgeStageSpec,
  type RlStageSpec,
  type TrainStageSpec,
} from '../schema.js';
import type { StageKind } from '../stage-kinds.js';
import { didYouMean } from './did-you-mean.js';
import { checkGateMetrics } from './gate-metrics.js';
import { checkKto } from './kto-checks.js';
import { rlAlgorithmProblems } from './rl-algorithm.js';
import { trlProblems } from './trl-checks.js';
import type { ParsedParts, ParsedStage } from './parsed-parts.js';
import type { Path, Problems } from './problems.js';
import { isRecord, rawStages, stageKindOf } from './raw-value.js';

/** Run every cross-field check, in the order their problems are reported at one spot. */
export function checkCrossFields(out: Problems, raw: unknown, parts: ParsedParts): void {
  checkStageOrder(out, parts);
  checkModelBackend(out, raw, parts);
  checkJudgeNames(out, raw, parts);
  checkStageSettings(out, parts);
  checkJudgeSettings(out, parts);
  checkGateMetrics(out, parts);
  checkKto(out, parts);
  checkQuantize(out, raw, parts);
}

/**
 * `model.quantize` serves generation, scoring and judging; training stages would train (or take
 * their reference from) a base the rest of the round no longer runs, and training over a quantized
 * base (QLoRA) is not built yet: refuse the combination rather than silently train in float32.
 */
function checkQuantize(out: Problems, raw: unknown, parts: ParsedParts): void {
  const model = isRecord(raw) && isRecord(raw.model) ? raw.model : undefined;
  if (model?.quantize !== 'int8' && model?.quantize !== 'int4') return; // a bad value: the schema says so
  for (const st of parts.stages)
    if (st.kind === 'train' || st.kind === 'rl' || st.kind === 'reward_model')
      out.add(
        ['model', 'quantize'],
        `model.quantize (${String(model.quantize)}) is for generation, scoring and judging, but stages[${st.index}] is a ${st.kind} stage: training over a quantized base is not supported yet (expected no quantize, or no ${st.kind} stage; a frozen judge model may still be quantized)`,
      );
}

/** Fields a served policy needs, or that only it reads. */
const SERVED_FIELDS = [
  'base_url',
  'model',
  'api_key_env',
  'adapters',
  'concurrency',
  'timeout_s',
  'allow_insecure_http',
  'restart_command',
  'restart_timeout_s',
] as const;

/**
 * `model.backend: openai` needs the server's URL and model name, and can train only what the
 * server can take back each round (a LoRA adapter through vLLM's API, or a full checkpoint it is
 * restarted on); the server fields mean nothing to the in-process engine.
 */
function checkModelBackend(out: Problems, raw: unknown, parts: ParsedParts): void {
  const model = isRecord(raw) && isRecord(raw.model) ? raw.model : undefined;
  if (!model) return;
  if (model.backend !== 'openai') {
    for (const f of SERVED_FIELDS)
      if (f in model)
        out.add(
          ['model', f],
          `model.${f} is a setting of a served policy (expected it only with backend: openai)`,
          'key',
        );
    return;
  }
  for (const f of ['quantize', 'quantize_block_size', 'device', 'threads'])
    if (f in model)
      out.add(
        ['model', f],
        `model.${f} is a setting of the in-process engine; a served policy runs as its server ` +
          'runs it (expected it only with backend: engine)',
        'key',
      );
  if (!('base_url' in model))
    out.add(
      ['model'],
      "model: backend: openai needs base_url (the server's API, e.g. http://127.0.0.1:8000/v1)",
    );
  if (!('model' in model))
    out.add(['model'], 'model: backend: openai needs model (the name the server serves it under)');
  const noAdapters = model.adapters === 'none';
  if (noAdapters && 'adapter' in model)
    out.add(
      ['model', 'adapter'],
      'model.adapter is set but the server cannot load adapters (adapters: none); serve the ' +
        'model with the adapter merged, or use adapters: vllm',
      'key',
    );
  for (const st of parts.stages) {
    if (st.kind === 'rl')
      out.add(
        ['stages', st.index, 'kind'],
        'an rl stage samples from the policy it trains in process, which backend: openai does not ' +
          'offer yet (expected train stages, or backend: engine)',
      );
    if (st.kind !== 'train') continue;
    const full = isRecord(st.raw) && st.raw.full === true;
    if (!full && noAdapters)
      out.add(
        ['stages', st.index],
        `stages[${st.index}]: a LoRA train stage needs a server that loads adapters, but ` +
          'model.adapters is none (expected adapters: vllm, or full: true with a restart_command)',
      );
  }
}

function checkStageOrder(out: Problems, parts: ParsedParts): void {
  const seen = new Set<StageKind>();
  let trains = 0;
  for (const st of parts.stages) {
    if (!st.kind) continue;
    const at: Path = ['stages', st.index, 'kind'];
    switch (st.kind) {
      case 'critique':
        if (!seen.has('generate'))
          out.add(
            at,
            'a critique stage needs answers to critique (expected a generate stage before it)',
          );
        break;
      case 'judge':
        if (!seen.has('generate') && !seen.has('critique'))
          out.add(
            at,
            'a judge stage needs candidates to rate (expected a generate or critique stage before it)',
          );
        break;
      case 'pair':
        if (st.spec?.kind === 'pair' && st.spec.strategy === 'revision') {
          if (!seen.has('critique'))
            out.add(
              ['stages', st.index, 'strategy'],
              'a revision pair stage needs revisions (expected a critique stage before it)',
            );
        } else if (!seen.has('judge'))
          out.add(at, 'a pair stage needs scored candidates (expected a judge stage before it)');
        // a label stage labels each answer on its own: one per prompt is enough
        else if (st.spec?.kind !== 'pair' || st.spec.strategy !== 'label')
          checkEnoughCandidates(out, parts, st.index);
        break;
      case 'reward_model':
        // trained on the round's pairs: a label stage (KTO) makes none
        if (
          !parts.stages.some(
            (p) =>
              p.index < st.index &&
              p.kind === 'pair' &&
              (p.spec?.kind !== 'pair' || p.spec.strategy !== 'label'),
          )
        )
          out.add(
            at,
            "a reward_model stage trains on the round's pairs (expected a pair stage before it, not only a label stage)",
          );
        break;
      case 'audit':
        // a label stage (KTO) marks single answers and makes no pairs to audit
        if (
          !parts.stages.some(
            (p) =>
              p.index < st.index &&
              p.kind === 'pair' &&
              (p.spec?.kind !== 'pair' || p.spec.strategy !== 'label'),
          )
        )
          out.add(
            at,
            "an audit stage draws from the round's pairs (expected a pair stage before it, not only a label stage)",
          );
        break;
      case 'train':
        trains++;
        if (trains > 1)
          out.add(
            at,
            'a second train stage in one round (expected at most one train stage per round)',
          );
        else if (!seen.has('pair'))
          out.add(
            at,
            'a train stage needs preference pairs or labels (expected a pair stage before it)',
          );
        break;
      case 'generate':
      case 'evaluate':
        break;
    }
    seen.add(st.kind);
  }
}

/** A pair needs two answers to one prompt: N >= 2 candidates, or a critique adding a revision. */
function checkEnoughCandidates(out: Problems, parts: ParsedParts, pairIndex: number): void {
  const before = parts.stages.slice(0, pairIndex);
  if (before.some((s) => s.kind === 'critique')) return;
  const gens = before.filter((s) => s.kind === 'generate');
  // An invalid generate stage is already reported; guessing its count would only add noise.
  if (gens.length === 0 || gens.some((g) => !g.spec)) return;
  const total = gens.reduce((n, g) => n + (g.spec?.kind === 'generate' ? g.spec.candidates : 0), 0);
  if (total >= 2) return;
  const last = gens[gens.length - 1];
  out.add(
    ['stages', last.index, 'candidates'],
    `a pair stage needs two answers per prompt but generate makes ${total} ` +
      '(expected candidates >= 2, or a critique stage whose revision adds one)',
  );
}

function checkJudgeNames(out: Problems, raw: unknown, parts: ParsedParts): void {
  const defined = [...parts.judges.keys()].filter((n) => n !== SELF_JUDGE);
  for (const [name, j] of parts.judges)
    if (j?.kind === 'reward_model' && !j.path === !j.trained)
      out.add(
        ['judges', name],
        `reward model judge '${name}' needs exactly one of path (a reward model folder) and ` +
          "trained: true (the model the round's reward_model stage trains)",
      );
  if (parts.judges.has(SELF_JUDGE))
    out.add(
      ['judges', SELF_JUDGE],
      `'${SELF_JUDGE}' is the built-in name of the current policy (expected another name for this judge)`,
      'key',
    );
  const check = (name: unknown, path: Path): void => {
    if (typeof name !== 'string' || name === SELF_JUDGE || defined.includes(name)) return;
    const list = defined.length
      ? `one of the judges defined under judges: ${defined.join(', ')}`
      : 'a judge defined under judges: (none are)';
    out.add(
      path,
      `unknown judge '${name}'${didYouMean(name, [SELF_JUDGE, ...defined])} (expected '${SELF_JUDGE}' or ${list})`,
    );
  };
  // Read the names from the raw stages so a stage with an unrelated error still gets checked.
  rawStages(raw).forEach((st, i) => {
    const kind = stageKindOf(st);
    if (!isRecord(st) || (kind !== 'judge' && kind !== 'evaluate' && kind !== 'rl')) return;
    check(st.judge, ['stages', i, 'judge']);
    if (kind === 'judge' && Array.isArray(st.judges))
      st.judges.forEach((name, j) => check(name, ['stages', i, 'judges', j]));
    if (kind === 'rl' && Array.isArray(st.reward_judges))
      st.reward_judges.forEach((name, j) => check(name, ['stages', i, 'reward_judges', j]));
  });
}

function checkStageSettings(out: Problems, parts: ParsedParts): void {
  const judgeRubric = parts.stages.some((s) => s.spec?.kind === 'judge');
  for (const st of parts.stages) {
    const s = st.spec;
    if (s?.kind === 'judge' && s.weights) checkJudgeWeights(out, st.index, s);
    if (s?.kind === 'judge' && s.meta_judge) checkMetaJudge(out, st.index, s);
    if (s?.kind === 'rl') checkRlSettings(out, parts, st.index, s);
    if (s?.kind === 'judge' || s?.kind === 'evaluate') checkNoRewardModel(out, parts, st.index, s);
    if (s?.kind === 'train') {
      checkTrainSettings(out, st, s);
      if (s.soft_labels) checkSoftLabels(out, parts, st, s);
    } else if (s?.kind === 'judge' && s.mode === 'logprobs') {
      // Log-prob judging continues a prefilled "Score: " reply, which chat-completions servers
      // cannot do portably (see judges/openai-judge.ts).
      const server = s.judges.find((name) => parts.judges.get(name)?.kind === 'openai');
      if (server)
        out.add(
          ['stages', st.index, 'mode'],
          `mode logprobs cannot be used with judge '${server}' (kind openai): a chat-completions ` +
            'server cannot continue a prefilled "Score: " reply ' +
            '(expected mode: generate or pairwise, or a local model judge for logprobs)',
        );
    } else if (s?.kind === 'evaluate') {
      const j = parts.judges.get(s.judge);
      if (!s.rubric && !judgeRubric && j?.kind !== 'rule')
        out.add(
          ['stages', st.index],
          `the evaluate stage at stages[${st.index}] has no rubric for judge '${s.judge}' ` +
            '(expected rubric: <file>, or a judge stage whose rubric it reuses)',
        );
    }
  }
}

/**
 * Meta-Rewarding compares K >= 2 sampled judgements of one answer written by the policy itself:
 * the meta-judge is the policy, and its judge-role pairs train the policy's judging.
 */
function checkMetaJudge(out: Problems, index: number, s: JudgeStageSpec): void {
  const at = (...p: Path): Path => ['stages', index, ...p];
  if (s.mode !== 'generate')
    out.add(
      at('mode'),
      `meta_judge compares sampled judgements, but this stage judges in mode ${s.mode} ` +
        '(expected mode: generate with samples >= 2, or no meta_judge)',
    );
  else if (s.samples < 2)
    out.add(
      at('samples'),
      `meta_judge compares two judgements of one answer, but this stage samples ${s.samples} ` +
        '(expected samples >= 2)',
    );
  if (!s.judges.includes(SELF_JUDGE))
    out.add(
      at('meta_judge'),
      `meta_judge judges the policy's own judgements, but '${SELF_JUDGE}' is not a judge of this ` +
        `stage (expected judges to include '${SELF_JUDGE}')`,
      'key',
    );
}

/**
 * An rl stage's rewards come from rule judges (in-process, verifiable), one weight per judge, and
 * its groups need two completions each to be relative to (RLOO's baseline leaves one out).
 */
function checkRlSettings(out: Problems, parts: ParsedParts, index: number, s: RlStageSpec): void {
  s.reward_judges.forEach((name, j) => {
    const judge = parts.judges.get(name);
    if (
      judge?.kind === 'reward_model' &&
      judge.trained &&
      !parts.stages.some((p) => p.index < index && p.kind === 'reward_model')
    )
      out.add(
        ['stages', index, 'reward_judges', j],
        `reward judge '${name}' reads the reward model the round trains (trained: true), but no ` +
          'reward_model stage comes before this rl stage (expected a reward_model stage after the pair stage)',
      );
    const kind = name === SELF_JUDGE ? 'model' : judge?.kind;
    if (kind && kind !== 'rule' && kind !== 'reward_model')
      out.add(
        ['stages', index, 'reward_judges', j],
        `reward judge '${name}' is a ${kind} judge; an rl stage is rewarded by rule judges and ` +
          'reward models in this version (expected kind: rule, e.g. a regex, length or sandbox ' +
          'rule, or kind: reward_model)',
      );
  });
  for (const p of rlAlgorithmProblems(s)) out.add(['stages', index, p.field], p.message);
  if (s.reward_weights && s.reward_weights.length !== s.reward_judges.length)
    out.add(
      ['stages', index, 'reward_weights'],
      `${s.reward_weights.length} reward_weights for ${s.reward_judges.length} reward_judges ` +
        '(expected one weight per reward judge)',
    );
}

/** Reward models reward rl stages; judge and evaluate stages need rules or a rubric's judge. */
function checkNoRewardModel(
  out: Problems,
  parts: ParsedParts,
  index: number,
  s: JudgeStageSpec | EvaluateStageSpec,
): void {
  const names =
    s.kind === 'judge'
      ? s.judges.map((n, j) => [n, ['judges', j]] as const)
      : [[s.judge, ['judge']] as const];
  for (const [name, field] of names)
    if (parts.judges.get(name)?.kind === 'reward_model')
      out.add(
        ['stages', index, ...field],
        `judge '${name}' is a reward model; it rewards rl stages (reward_judges), a ${s.kind} stage ` +
          'cannot use it in this version (expected a rule, model or openai judge)',
      );
}

/** Weights name the stage's own judges and weigh a mean (a median has no weights). */
function checkJudgeWeights(out: Problems, index: number, s: JudgeStageSpec): void {
  for (const name of Object.keys(s.weights ?? {}))
    if (!s.judges.includes(name))
      out.add(
        ['stages', index, 'weights', name],
        `weight for '${name}', which is not a judge of this stage (expected one of: ${s.judges.join(', ')})`,
        'key',
      );
  if (s.combine === 'majority')
    out.add(
      ['stages', index, 'weights'],
      'weights weigh a mean, but this stage combines by majority (expected combine: mean, or no weights)',
      'key',
    );
}

/** Soft labels train the sigmoid loss on labels a pair stage before the train stage keeps. */
function checkSoftLabels(
  out: Problems,
  parts: ParsedParts,
  st: ParsedStage,
  s: TrainStageSpec,
): void {
  const at: Path = ['stages', st.index, 'soft_labels'];
  if (!s.loss.includes('sigmoid'))
    out.add(
      at,
      `soft labels train the sigmoid (DPO) loss, but this stage trains ${s.loss.join(', ')} (expected loss: sigmoid, or soft_labels: false)`,
    );
  const labelled = parts.stages.some(
    (p) => p.index < st.index && p.spec?.kind === 'pair' && p.spec.soft_labels,
  );
  if (!labelled)
    out.add(
      at,
      'no pair stage before this train stage keeps soft labels (expected soft_labels: true in a pair stage)',
    );
}

function checkTrainSettings(out: Problems, st: ParsedStage, s: TrainStageSpec): void {
  const at = (...p: Path): Path => ['stages', st.index, ...p];
  const dup = s.loss.find((l, i) => s.loss.indexOf(l) !== i);
  if (dup) out.add(at('loss'), `loss '${dup}' is listed twice (expected each loss at most once)`);
  if (s.loss_weights && s.loss_weights.length !== s.loss.length)
    out.add(
      at('loss_weights'),
      `loss_weights has ${s.loss_weights.length} weight${s.loss_weights.length === 1 ? '' : 's'} ` +
        `for ${s.loss.length} loss${s.loss.length === 1 ? '' : 'es'} (expected one weight per entry of loss)`,
    );
  if (s.full && isRecord(st.raw) && 'lora' in st.raw)
    out.add(
      at('lora'),
      'lora settings given with full: true, which trains every weight without an adapter ' +
        '(expected either full: true or lora settings, not both)',
      'key',
    );
  for (const p of trlProblems(s)) out.add(at(...p.path), p.message);
}

function checkJudgeSettings(out: Problems, parts: ParsedParts): void {
  for (const [name, j] of parts.judges) {
    if (j?.kind !== 'rule') continue;
    j.rules.forEach((r, k) => {
      const at = (...p: Path): Path => ['judges', name, 'rules', k, ...p];
      if (r.kind === 'regex') {
        try {
          new RegExp(r.pattern, r.flags);
        } catch (e) {
          const why = (e as Error).message.replace(
            /^Invalid regular expression: \/.*\/[a-z]*: /,
            '',
          );
          out.add(
            at('pattern'),
            `invalid regular expression '${r.pattern}': ${why} (expected a JavaScript regular expression)`,
          );
        }
      } else if (r.kind === 'length') {
        if (r.min === undefined && r.max === undefined)
          out.add(
            ['judges', name, 'rules', k],
            'a length rule without min or max checks nothing (expected min, max or both)',
          );
        else if (r.min !== undefined && r.max !== undefined && r.min > r.max)
          out.add(at('max'), `max ${r.max} is below min ${r.min} (expected max >= min)`);
      }
    });
  }
}
