import { fail } from '../../core/errors.js';
import type { ChatMessage, Tokenizer } from '../tokenizer/tokenizer.js';

/**
 * TRL's dataset formats: a prompt is either plain text (used as is) or a list of chat messages
 * (rendered with the chat template and a generation prompt). A completion is text or a
 * one-message list holding the assistant's answer.
 */
export type TrlPrompt = string | ChatMessage[];
export type TrlCompletion = string | ChatMessage[];

export interface PreferenceRow {
  prompt: TrlPrompt;
  chosen: TrlCompletion;
  rejected: TrlCompletion;
}
export interface CompletionRow {
  prompt: TrlPrompt;
  completion: TrlCompletion;
}
export type ScoreRow = PreferenceRow | CompletionRow;

function isMessages(v: unknown): v is ChatMessage[] {
  return (
    Array.isArray(v) &&
    v.every(
      (m) =>
        m && typeof m === 'object' && typeof m.role === 'string' && typeof m.content === 'string',
    )
  );
}

/** Validate one parsed JSONL row; `where` is `file:line` for messages. */
export function parseScoreRow(v: unknown, where: string): ScoreRow {
  const bad = (what: string): never =>
    fail(
      'E_DATA_ROW',
      `${where}: ${what}`,
      'rows need prompt + chosen + rejected (preference) or prompt + completion, each a string or a list of {role, content} messages',
    );
  if (!v || typeof v !== 'object' || Array.isArray(v)) return bad('a row must be a JSON object');
  const r = v as Record<string, unknown>;
  const text = (k: string): TrlPrompt => {
    const x = r[k];
    if (typeof x === 'string' || isMessages(x)) return x;
    return bad(`'${k}' must be a string or a list of {role, content} messages`);
  };
  if (!('prompt' in r)) return bad("missing 'prompt'");
  if ('chosen' in r || 'rejected' in r)
    return { prompt: text('prompt'), chosen: text('chosen'), rejected: text('rejected') };
  if ('completion' in r) return { prompt: text('prompt'), completion: text('completion') };
  return bad("expected 'chosen' and 'rejected', or 'completion'");
}

export function isPreferenceRow(r: ScoreRow): r is PreferenceRow {
  return 'chosen' in r;
}

/** TRL's unpaired preference format (KTOTrainer): one completion and whether it is desirable. */
export interface KtoRow {
  prompt: TrlPrompt;
  completion: TrlCompletion;
  label: boolean;
}

/** Validate one parsed JSONL row for KTO; `where` is `file:line` for messages. */
export function parseKtoRow(v: unknown, where: string): KtoRow {
  const hint =
    'KTO rows are {"prompt", "completion", "label": true|false} (TRL unpaired preference format); ' +
    "paired rows can be split with TRL's unpair_preference_dataset";
  if (v && typeof v === 'object' && !Array.isArray(v) && ('chosen' in v || 'rejected' in v))
    fail(
      'E_DATA_ROW',
      `${where}: a paired preference row (chosen/rejected), but KTO needs unpaired rows`,
      hint,
    );
  const row = parseScoreRow(v, where);
  if (isPreferenceRow(row)) throw new Error('unreachable');
  const label = (v as Record<string, unknown>).label;
  if (typeof label !== 'boolean')
    fail(
      'E_DATA_ROW',
      `${where}: 'label' must be true (desirable) or false (undesirable), got ${label === undefined ? 'nothing' : JSON.stringify(label)}`,
      hint,
    );
  return { prompt: row.prompt, completion: row.completion, label };
}

/** Prompt ids: chat template with generation prompt for messages, raw text otherwise. */
export function promptIds(tok: Tokenizer, prompt: TrlPrompt): number[] {
  return typeof prompt === 'string'
    ? tok.encode(prompt)
    : tok.encodeChat(prompt, { addGenerationPrompt: true });
}

/**
 * Response ids = tokenizer(text + eos_token), appended right after the prompt: the convention of
 * TRL's DPO data collation (it appends eos) and of the reference fixtures.
 */
export function responseIds(tok: Tokenizer, completion: TrlCompletion, where: string): number[] {
  let text: string;
  if (typeof completion === 'string') text = completion;
  else {
    const assistant = completion.filter((m) => m.role === 'assistant');
    if (completion.length !== 1 || assistant.length !== 1)
      fail(
        'E_DATA_ROW',
        `${where}: a conversational completion must be exactly one assistant message`,
        'write chosen/rejected/completion as [{"role": "assistant", "content": "..."}]',
      );
    text = assistant[0].content;
  }
  const eos = tok.eosTokenIds[0];
  const ids = tok.encode(text);
  if (eos !== undefined) ids.push(eos);
  return ids;
}

/**
 * Validate one parsed JSONL row for SFT: TRL's prompt-completion format. Pairs and KTO's labelled
 * rows are refused rather than read as something they are not (a row labelled undesirable would
 * otherwise be imitated).
 */
export function parseSftRow(v: unknown, where: string): CompletionRow {
  const hint =
    'SFT rows are {"prompt", "completion"} (TRL prompt-completion format), each a string or a list of {role, content} messages';
  if (v && typeof v === 'object' && !Array.isArray(v) && 'label' in v)
    fail('E_DATA_ROW', `${where}: a KTO row (with 'label'), but SFT imitates every row`, hint);
  const row = parseScoreRow(v, where);
  if (isPreferenceRow(row))
    fail(
      'E_DATA_ROW',
      `${where}: a preference pair (chosen/rejected), but SFT needs one completion`,
      hint,
    );
  return row;
}
