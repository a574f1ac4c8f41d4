// OpenAI's response bodies, built from the engine's results: chat.completion, text_completion,
// their streaming chunks, and the logprobs objects of each endpoint.
import type { GenerateResult, PromptLogprobs } from '../engine/index.js';

type Completion = GenerateResult['completions'][number];

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usageOf(results: GenerateResult[]): Usage {
  const prompt = results.reduce((s, r) => s + r.promptTokenIds.length, 0);
  const completion = results.reduce(
    (s, r) => s + r.completions.reduce((t, c) => t + c.tokenIds.length, 0),
    0,
  );
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
}

const bytes = (s: string) => Array.from(Buffer.from(s, 'utf8'));

/** Chat logprobs: {content: [{token, logprob, bytes, top_logprobs: [...]}], refusal: null}. */
export function chatLogprobs(c: Completion) {
  const tokens = c.tokens ?? [];
  return {
    content: tokens.map((token, t) => ({
      token,
      logprob: c.logprobs[t],
      bytes: bytes(token),
      top_logprobs: (c.topLogprobs?.[t] ?? []).map((e) => ({
        token: e.token,
        logprob: e.logprob,
        bytes: bytes(e.token),
      })),
    })),
    refusal: null,
  };
}

/**
 * Completions logprobs: parallel lists of tokens, their log-probs, per-token dicts of the top
 * alternatives (the sampled token included, as vLLM does) and each token's offset in the text.
 * `prefix` (from echo) comes first; its first token has no log-prob (null).
 */
export function completionLogprobs(
  c: Completion,
  startOffset: number,
  prefix?: { tokens: string[]; logprobs: (number | null)[] },
) {
  const tokens = [...(prefix?.tokens ?? []), ...(c.tokens ?? [])];
  const token_logprobs = [...(prefix?.logprobs ?? []), ...c.logprobs];
  const top_logprobs = [
    ...(prefix?.tokens ?? []).map((tok, i) =>
      prefix!.logprobs[i] === null ? null : { [tok]: prefix!.logprobs[i] as number },
    ),
    ...(c.tokens ?? []).map((tok, t) => {
      const d: Record<string, number> = {};
      for (const e of c.topLogprobs?.[t] ?? []) d[e.token] = e.logprob;
      d[tok] = c.logprobs[t];
      return d;
    }),
  ];
  const text_offset: number[] = [];
  let at = prefix ? 0 : startOffset;
  for (const tok of tokens) {
    text_offset.push(at);
    at += tok.length;
  }
  return { tokens, token_logprobs, top_logprobs, text_offset };
}

export interface ResponseHead {
  id: string;
  created: number;
  model: string;
}

export function chatCompletionBody(
  head: ResponseHead,
  result: GenerateResult,
  withLogprobs: boolean,
) {
  return {
    id: head.id,
    object: 'chat.completion',
    created: head.created,
    model: head.model,
    choices: result.completions.map((c, index) => ({
      index,
      message: { role: 'assistant', content: c.text, refusal: null },
      logprobs: withLogprobs ? chatLogprobs(c) : null,
      finish_reason: c.finishReason,
    })),
    usage: usageOf([result]),
  };
}

/** Choices are prompt-major: prompt p's candidate j is choice p * n + j. */
export function completionBody(
  head: ResponseHead,
  results: GenerateResult[],
  opts: {
    withLogprobs: boolean;
    /** Per prompt, the echoed text and (with logprobs) its tokens' log-probs. */
    echo?: { text: string; tokens?: string[]; logprobs?: (number | null)[] }[];
  },
) {
  return {
    id: head.id,
    object: 'text_completion',
    created: head.created,
    model: head.model,
    choices: results.flatMap((r, p) =>
      r.completions.map((c, j) => {
        const echo = opts.echo?.[p];
        return {
          index: p * r.completions.length + j,
          text: (echo?.text ?? '') + c.text,
          logprobs: opts.withLogprobs
            ? completionLogprobs(
                c,
                echo?.text.length ?? 0,
                echo?.tokens ? { tokens: echo.tokens, logprobs: echo.logprobs ?? [] } : undefined,
              )
            : null,
          finish_reason: c.finishReason,
        };
      }),
    ),
    usage: usageOf(results),
  };
}

/** One streaming chunk of a chat completion: a delta, or (with a reason) a choice's end. */
export function chatChunk(
  head: ResponseHead,
  index: number,
  delta: { role?: 'assistant'; content?: string },
  finishReason: string | null = null,
  logprobs: ReturnType<typeof chatLogprobs> | null = null,
) {
  return {
    id: head.id,
    object: 'chat.completion.chunk',
    created: head.created,
    model: head.model,
    choices: [{ index, delta, logprobs, finish_reason: finishReason }],
  };
}

export function completionChunk(
  head: ResponseHead,
  index: number,
  text: string,
  finishReason: string | null = null,
  logprobs: ReturnType<typeof completionLogprobs> | null = null,
) {
  return {
    id: head.id,
    object: 'text_completion',
    created: head.created,
    model: head.model,
    choices: [{ index, text, logprobs, finish_reason: finishReason }],
  };
}

/** The last chunk with stream_options.include_usage: no choices, the usage. */
export function usageChunk(head: ResponseHead, endpoint: 'chat' | 'completion', usage: Usage) {
  return {
    id: head.id,
    object: endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: head.created,
    model: head.model,
    choices: [],
    usage,
  };
}

/**
 * vLLM's prompt_logprobs: per prompt token, null for the first, else {token id: {logprob, rank,
 * decoded_token}} for the actual token (rank is not computed: null).
 */
export function vllmPromptLogprobs(p: PromptLogprobs) {
  return p.ids.map((id, t) =>
    p.logprobs[t] === null
      ? null
      : { [id]: { logprob: p.logprobs[t] as number, rank: null, decoded_token: p.tokens[t] } },
  );
}

/** vLLM's return_tokens_as_token_ids: every token of a result named "token_id:<id>". */
export function withTokenIds(r: GenerateResult): GenerateResult {
  const name = (id: number) => `token_id:${id}`;
  return {
    ...r,
    completions: r.completions.map((c) => ({
      ...c,
      tokens: c.tokens ? c.tokenIds.map(name) : undefined,
      topLogprobs: c.topLogprobs?.map((step) => step.map((e) => ({ ...e, token: name(e.id) }))),
    })),
  };
}

/** The same for an echoed prompt's tokens. */
export function promptWithTokenIds(p: PromptLogprobs): PromptLogprobs {
  return { ...p, tokens: p.ids.map((id) => `token_id:${id}`) };
}
