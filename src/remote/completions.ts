// The /v1/completions requests a served policy makes, and what their answers must hold. Prompts
// go as token ids (templated here, with the same tokenizer the in-process engine uses), so the
// server sees exactly the tokens the engine would; sampled tokens come back as ids through vLLM's
// `return_tokens_as_token_ids` ("token_id:123"), so every candidate keeps its exact tokens.
import type { GenerateOptions, GenerateResult, ModelText, TopLogprob } from '../engine/index.js';
import { isRecord } from '../judges/openai-http.js';

type Completion = GenerateResult['completions'][number];

/** The body that samples `opts.n` completions of `ids` with one seed. */
export function sampleBody(
  model: string,
  ids: number[],
  opts: GenerateOptions,
  seed: number,
): Record<string, unknown> {
  return {
    model,
    prompt: ids,
    n: opts.n,
    max_tokens: opts.maxNewTokens,
    temperature: opts.greedy ? 0 : opts.temperature,
    top_p: opts.topP,
    // vLLM's top_k: -1 turns it off
    top_k: opts.topK > 0 ? opts.topK : -1,
    seed,
    ...(opts.stopStrings.length ? { stop: opts.stopStrings } : {}),
    ...(opts.ignoreEos ? { ignore_eos: true } : {}),
    logprobs: opts.topLogprobs ?? 0,
    return_tokens_as_token_ids: true,
  };
}

/**
 * The body that scores `ids` as a prompt: echo it with each token's log-prob. One token is
 * generated (vLLM refuses max_tokens 0) and ignored.
 */
export function echoBody(model: string, ids: number[], topLogprobs = 0): Record<string, unknown> {
  return {
    model,
    prompt: ids,
    max_tokens: 1,
    temperature: 0,
    echo: true,
    logprobs: topLogprobs,
    return_tokens_as_token_ids: true,
  };
}

/** What a completions answer lacks, for the capability error; undefined when it is complete. */
export class AnswerProblem extends Error {}

const TOKEN_ID = /^token_id:(-?\d+)$/;

/** "token_id:123" -> 123; an answer that did not honour return_tokens_as_token_ids is a problem. */
export function tokenIdOf(token: unknown): number {
  const m = typeof token === 'string' ? TOKEN_ID.exec(token) : null;
  if (!m)
    throw new AnswerProblem(
      `tokens as ids (vLLM's return_tokens_as_token_ids: "token_id:<id>"), got ${JSON.stringify(token)}`,
    );
  return Number(m[1]);
}

interface RawLogprobs {
  tokens: unknown[];
  token_logprobs: unknown[];
  top_logprobs?: unknown[];
}

function logprobsOf(choice: Record<string, unknown>, i: number): RawLogprobs {
  const lp = choice.logprobs;
  if (!isRecord(lp) || !Array.isArray(lp.tokens) || !Array.isArray(lp.token_logprobs))
    throw new AnswerProblem(
      `log-probs (choices[${i}].logprobs with tokens and token_logprobs on /v1/completions)`,
    );
  return lp as unknown as RawLogprobs;
}

function choicesOf(json: unknown): Record<string, unknown>[] {
  const raw = isRecord(json) ? json.choices : undefined;
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every(isRecord))
    throw new AnswerProblem('choices (a non-empty list of completion choices)');
  return [...raw].sort((a, b) => Number(a.index ?? 0) - Number(b.index ?? 0));
}

/** A sampling answer's choices as the engine's completions. */
export function parseSamples(
  json: unknown,
  n: number,
  text: ModelText,
  topLogprobs: number | undefined,
): Completion[] {
  const choices = choicesOf(json);
  if (choices.length < n) throw new AnswerProblem(`${n} choices (n), got ${choices.length}`);
  return choices.slice(0, n).map((c, i) => {
    const lp = logprobsOf(c, i);
    const tokenIds = lp.tokens.map(tokenIdOf);
    const logprobs = lp.token_logprobs.map((v, t) => {
      if (typeof v !== 'number')
        throw new AnswerProblem(`a log-prob for sampled token ${t} of choices[${i}]`);
      return v;
    });
    const out: Completion = {
      text: typeof c.text === 'string' ? c.text : '',
      tokenIds,
      finishReason: c.finish_reason === 'stop' ? 'stop' : 'length',
      logprobs,
    };
    if (topLogprobs !== undefined) {
      out.tokens = tokenIds.map((id) => text.tokenText(id));
      out.topLogprobs = (lp.top_logprobs ?? []).map((d) => topOf(d, text, topLogprobs));
    }
    return out;
  });
}

/** One step's alternatives ({"token_id:5": -0.1, ...}), most likely first, at most k. */
function topOf(d: unknown, text: ModelText, k: number): TopLogprob[] {
  if (!isRecord(d)) return [];
  return Object.entries(d)
    .map(([tok, lp]) => {
      const id = tokenIdOf(tok);
      return { id, token: text.tokenText(id), logprob: Number(lp) };
    })
    .sort((a, b) => b.logprob - a.logprob)
    .slice(0, k);
}

/**
 * An echo answer's log-probs of the prompt's `count` tokens (null for the first), checked
 * against the ids sent: a server that retokenized the prompt would score other tokens.
 */
export function parseEcho(json: unknown, ids: number[]): (number | null)[] {
  const [c] = choicesOf(json);
  const lp = logprobsOf(c, 0);
  if (lp.tokens.length < ids.length)
    throw new AnswerProblem(
      `the prompt's tokens echoed with their log-probs (echo: true; got ${lp.tokens.length} tokens for ${ids.length})`,
    );
  return ids.map((id, t) => {
    const got = tokenIdOf(lp.tokens[t]);
    if (got !== id)
      throw new AnswerProblem(
        `the prompt's own token ids echoed back (token ${t} is ${got}, sent ${id})`,
      );
    const v = lp.token_logprobs[t];
    if (t === 0) return null;
    if (typeof v !== 'number') throw new AnswerProblem(`a log-prob for prompt token ${t}`);
    return v;
  });
}
