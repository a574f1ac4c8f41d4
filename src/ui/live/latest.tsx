// The latest candidate and judgement: a one-line preview each, or with details their full texts,
// which share the rows left (the judgement's text after the candidate's).

import { Box, Text } from 'ink';
import type { JudgementView } from '../run-state.js';
import { formatNumber } from '../format.js';
import { clipText } from './clip-text.js';
import { ORDER, frameLine, type Fit } from './layout.js';
import { T } from './tone.js';

export const latestFit: Fit = (frame, avail) => {
  const { state, details, width } = frame;
  const cand = state.latestCandidate;
  const judg = state.latestJudgement;
  const heads = (cand ? 1 : 0) + (judg ? 1 : 0);
  if (!heads || avail < 1 + heads) return null;
  let left = avail - 1 - heads;
  const candText =
    details && cand ? clipText(cand.text, width, Math.max(0, left - (judg ? 1 : 0))) : null;
  left -= candText?.lines ?? 0;
  const judgText = details && judg ? clipText(judg.text, width, left) : null;
  const height = 1 + heads + (candText?.lines ?? 0) + (judgText?.lines ?? 0);
  return {
    at: ORDER.latest,
    height,
    node: (
      <Box flexDirection="column" marginTop={1}>
        {cand ? (
          <Text wrap="truncate-end">
            <T tone="accent">candidate </T>
            {frameLine(
              frame,
              `${cand.promptId} #${cand.index} · ${cand.tokens} tok  ` +
                (details ? '' : `“${cand.preview}”`),
            )}
          </Text>
        ) : null}
        {candText?.lines ? <Text wrap="wrap">{candText.text}</Text> : null}
        {judg ? (
          <Text wrap="truncate-end">
            <T tone="accent">judgement </T>
            {judg.parseError != null ? (
              <T tone="warn">
                {frameLine(
                  frame,
                  `${judg.judge} on ${judg.promptId} · unparseable: ${judg.parseError}`,
                )}
              </T>
            ) : (
              frameLine(
                frame,
                `${judg.judge} on ${judg.promptId} · ${verdictText(judg)}  ` +
                  (details ? '' : `“${judg.preview}”`),
              )
            )}
          </Text>
        ) : null}
        {judgText?.lines ? <Text wrap="wrap">{judgText.text}</Text> : null}
      </Box>
    ),
  };
};

function verdictText(j: JudgementView): string {
  if (j.score != null) return `score ${formatNumber(j.score)}`;
  if (j.verdict != null) return `verdict ${j.verdict}`;
  return 'no score';
}
