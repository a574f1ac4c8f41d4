// The latest candidate and judgement, kept as a one-line preview and a bounded full text, and
// the per-round counts of both (a judgement that could not be parsed is also a warning).

import { oneLine } from '../format.js';
import type { EventHandlers } from './types.js';
import { updateRound } from './update.js';
import { addWarning } from './warnings.js';

/** Characters kept of a candidate or judgement for the one-line preview. */
export const PREVIEW_CHARS = 160;
/** Characters kept of the full text (shown in details mode). */
export const FULL_TEXT_CHARS = 4000;

export const textHandlers: EventHandlers<'candidate' | 'judgement'> = {
  candidate: (s, e) =>
    updateRound(
      {
        ...s,
        latestCandidate: {
          round: e.round,
          promptId: e.promptId,
          index: e.index,
          tokens: e.tokens,
          ...texts(e.text),
        },
      },
      e.round,
      (r) => ({ ...r, candidates: r.candidates + 1 }),
    ),

  judgement: (s, e, t) => {
    const next = updateRound(
      {
        ...s,
        latestJudgement: {
          round: e.round,
          promptId: e.promptId,
          judge: e.judge,
          score: e.score ?? null,
          verdict: e.verdict ?? null,
          parseError: e.parseError ?? null,
          ...texts(e.text),
        },
      },
      e.round,
      (r) => ({
        ...r,
        judgements: r.judgements + 1,
        parseFailures: r.parseFailures + (e.parseError != null ? 1 : 0),
      }),
    );
    if (e.parseError == null) return next;
    // One entry per judge and round: a bad rubric fails hundreds of times the same way.
    return addWarning(next, {
      key: `parse:${e.round}:${e.judge}`,
      kind: 'parse',
      round: e.round,
      message: `judge ${e.judge} could not parse an answer (${e.promptId}): ${oneLine(e.parseError, 120)}`,
      time: t,
    });
  },
};

/** The preview and the clipped full text of an event's text. */
function texts(text: string): { preview: string; text: string; truncated: boolean } {
  const preview = oneLine(text.slice(0, PREVIEW_CHARS * 4), PREVIEW_CHARS);
  return text.length > FULL_TEXT_CHARS
    ? { preview, text: text.slice(0, FULL_TEXT_CHARS - 1) + '…', truncated: true }
    : { preview, text, truncated: false };
}
