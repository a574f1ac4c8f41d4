// Preference rows → the token ids TRL's RewardTrainer trains on (`_prepare_dataset`, TRL 1.13).
// Unlike the DPO rows of data/trl-rows.ts, a reward model reads each whole sequence at once:
//
// - conversational rows (messages): prompt + chosen is one conversation, rendered with the chat
//   template without a generation prompt and tokenized as a whole (no eos is appended: the
//   template ends the turn itself);
// - plain-text rows: eos_token is appended to chosen and rejected unless they end with it, then
//   prompt + chosen is one string, tokenized as `tokenizer(text)` does, with the tokenizer's
//   special tokens (a Llama tokenizer's BOS);
// - the prompt may be left out (TRL's implicit-prompt rows): chosen and rejected are then whole
//   conversations or texts;
// - a pair whose chosen or rejected sequence is longer than max_length is dropped, not cut.
import { fail } from '../../../core/errors.js';
import type { ChatMessage, Tokenizer } from '../../tokenizer/tokenizer.js';

/** One preference pair as the two sequences the reward model scores. */
export interface RewardPairIds {
  chosenIds: number[];
  rejectedIds: number[];
  /** The row's `margin` (TRL's optional column): how much r_c should exceed r_r. */
  margin?: number;
  /** Where the row came from (`file:line`). */
  where: string;
}

const HINT =
  'reward-model rows are TRL preference rows: {"prompt", "chosen", "rejected"} (prompt optional), ' +
  'all strings or all lists of {role, content} messages, with an optional numeric "margin"';

function isMessages(v: unknown): v is ChatMessage[] {
  return (
    Array.isArray(v) &&
    v.every(
      (m) =>
        m &&
        typeof m === 'object' &&
        typeof (m as ChatMessage).role === 'string' &&
        typeof (m as ChatMessage).content === 'string',
    )
  );
}

type Side = string | ChatMessage[];

/** Validate one row: chosen and rejected (prompt optional), one format, an optional margin. */
export function parseRewardRow(
  v: unknown,
  where: string,
): { prompt?: Side; chosen: Side; rejected: Side; margin?: number } {
  const bad = (what: string): never => fail('E_DATA_ROW', `${where}: ${what}`, HINT);
  if (!v || typeof v !== 'object' || Array.isArray(v)) return bad('a row must be a JSON object');
  const r = v as Record<string, unknown>;
  for (const k of ['chosen', 'rejected'])
    if (!(k in r))
      bad(
        `missing '${k}'${'completion' in r ? " (a row with 'completion' is not a preference pair)" : ''}`,
      );
  const conversational = isMessages(r.chosen);
  const side = (k: string): Side => {
    const x = r[k];
    if (conversational ? isMessages(x) : typeof x === 'string') return x as Side;
    return bad(
      `'${k}' must be ${conversational ? 'a list of {role, content} messages, as chosen is' : 'a string, as chosen is'}`,
    );
  };
  const margin = r.margin;
  if (margin !== undefined && margin !== null && (typeof margin !== 'number' || !isFinite(margin)))
    bad(`'margin' must be a number, got ${JSON.stringify(margin)}`);
  return {
    ...(r.prompt !== undefined && r.prompt !== null ? { prompt: side('prompt') } : {}),
    chosen: side('chosen'),
    rejected: side('rejected'),
    ...(typeof margin === 'number' ? { margin } : {}),
  };
}

/** The ids of prompt + one answer, by TRL's rules (see the top of this file). */
export function rewardSequenceIds(
  tok: Tokenizer,
  prompt: Side | undefined,
  answer: Side,
): number[] {
  if (typeof answer !== 'string') {
    const messages = [...((prompt as ChatMessage[] | undefined) ?? []), ...answer];
    return tok.encodeChat(messages, { addGenerationPrompt: false });
  }
  const eos = tok.eosTokenIds.length ? tok.idToToken(tok.eosTokenIds[0]) : undefined;
  const text = eos !== undefined && !answer.endsWith(eos) ? answer + eos : answer;
  return tok.encode(((prompt as string | undefined) ?? '') + text, { addSpecialTokens: true });
}

/**
 * Tokenize rows as TRL's RewardTrainer does. Pairs longer than `maxLength` on either side come
 * back in `dropped` (their `where`) rather than in `pairs`.
 */
export function tokenizeRewardRows(
  tok: Tokenizer,
  rows: unknown[],
  labels: string[],
  maxLength = Infinity,
): { pairs: RewardPairIds[]; dropped: string[] } {
  const pairs: RewardPairIds[] = [];
  const dropped: string[] = [];
  rows.forEach((v, i) => {
    const where = labels[i] ?? `row ${i + 1}`;
    const row = parseRewardRow(v, where);
    const chosenIds = rewardSequenceIds(tok, row.prompt, row.chosen);
    const rejectedIds = rewardSequenceIds(tok, row.prompt, row.rejected);
    if (chosenIds.length === 0 || rejectedIds.length === 0)
      fail('E_DATA_ROW', `${where}: a sequence with no tokens`, HINT);
    if (chosenIds.length > maxLength || rejectedIds.length > maxLength) dropped.push(where);
    else
      pairs.push({
        chosenIds,
        rejectedIds,
        ...(row.margin !== undefined ? { margin: row.margin } : {}),
        where,
      });
  });
  return { pairs, dropped };
}

/**
 * Rows to score, TRL's prompt-completion format ({"prompt", "completion"}, prompt optional), as
 * the sequences the reward model reads: the same rules as one side of a training pair.
 */
export function tokenizeCompletionRows(
  tok: Tokenizer,
  rows: unknown[],
  labels: string[],
): number[][] {
  return rows.map((v, i) => {
    const where = labels[i] ?? `row ${i + 1}`;
    const bad = (what: string): never =>
      fail(
        'E_DATA_ROW',
        `${where}: ${what}`,
        'rows to score are {"prompt", "completion"} (prompt optional), both strings or both lists of {role, content} messages',
      );
    if (!v || typeof v !== 'object' || Array.isArray(v)) return bad('a row must be a JSON object');
    const r = v as Record<string, unknown>;
    const completion = r.completion;
    const conversational = isMessages(completion);
    if (!conversational && typeof completion !== 'string')
      return bad("'completion' must be a string or a list of {role, content} messages");
    const prompt = r.prompt ?? undefined;
    if (prompt !== undefined && (conversational ? !isMessages(prompt) : typeof prompt !== 'string'))
      return bad(
        `'prompt' must be ${conversational ? 'a list of messages' : 'a string'}, as completion is`,
      );
    const ids = rewardSequenceIds(tok, prompt as Side | undefined, completion as Side);
    if (ids.length === 0) return bad('nothing to score: the row has no tokens');
    return ids;
  });
}
