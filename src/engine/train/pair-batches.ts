import { fail } from '../../core/errors.js';
import { isPreferenceRow, parseScoreRow, promptIds, responseIds } from '../data/trl-rows.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { shuffled, type Rng } from '../../core/rng.js';
import type { ScoreSequence } from '../generate/score.js';

/** One preference pair as token ids (TRL conventions: see data/trl-rows.ts). */
export interface TokenizedPair {
  promptIds: number[];
  chosenIds: number[];
  rejectedIds: number[];
  /** P(chosen ≻ rejected), from the row's `soft_label` (trained on with soft labels only). */
  softLabel?: number;
  /** Where the row came from (`file:line`). */
  where: string;
}

/**
 * Fit prompt + response into `maxLength` tokens the way TRL's DPO collation does by default:
 * drop the start of the prompt first (keep its end, next to the answer), then the end of the
 * response.
 */
export function truncatePair(p: TokenizedPair, maxLength: number): TokenizedPair {
  const longest = Math.max(p.chosenIds.length, p.rejectedIds.length);
  let prompt = p.promptIds;
  if (prompt.length + longest > maxLength) {
    const keep = Math.max(1, maxLength - longest);
    prompt = prompt.slice(prompt.length - keep);
  }
  const room = Math.max(1, maxLength - prompt.length);
  return {
    ...p,
    promptIds: prompt,
    chosenIds: p.chosenIds.slice(0, room),
    rejectedIds: p.rejectedIds.slice(0, room),
  };
}

export function tokenizePairs(
  tok: Tokenizer,
  rows: unknown[],
  labels: string[],
  maxLength: number,
): TokenizedPair[] {
  return rows.map((v, i) => {
    const where = labels[i] ?? `row ${i + 1}`;
    const row = parseScoreRow(v, where);
    if (!isPreferenceRow(row))
      fail(
        'E_DATA_ROW',
        `${where}: preference training needs "chosen" and "rejected"`,
        'use TRL preference rows: {"prompt", "chosen", "rejected"}',
      );
    const p = promptIds(tok, row.prompt);
    if (p.length === 0)
      fail('E_DATA_ROW', `${where}: the prompt is empty`, 'every row needs a non-empty prompt');
    return truncatePair(
      {
        promptIds: p,
        chosenIds: responseIds(tok, row.chosen, where),
        rejectedIds: responseIds(tok, row.rejected, where),
        ...softLabelOf(v, where),
        where,
      },
      maxLength,
    );
  });
}

/** A row's optional `soft_label`: P(chosen ≻ rejected), a number in [0, 1]. */
function softLabelOf(v: unknown, where: string): { softLabel?: number } {
  const label = (v as { soft_label?: unknown }).soft_label;
  if (label === undefined || label === null) return {};
  if (typeof label !== 'number' || !(label >= 0 && label <= 1))
    fail(
      'E_DATA_ROW',
      `${where}: soft_label must be a number in [0, 1] (P(chosen preferred)), got ${JSON.stringify(label)}`,
      'write the judge confidence as a probability, or leave soft_label out',
    );
  return { softLabel: label };
}

/**
 * A micro-batch laid out for a step graph: one row per sequence (prompt then response), all
 * right-padded with the pad id to the longest, so position ids are simply 0..S−1 on every row.
 */
export interface RightPaddedBatch {
  rows: number;
  seq: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  responseMask: Float32Array;
  /** Real (unpadded) tokens, for throughput. */
  tokens: number;
}

export function layoutRightPadded(seqs: ScoreSequence[], padId: number): RightPaddedBatch {
  const rows = seqs.length;
  const seq = Math.max(...seqs.map((s) => s.promptIds.length + s.responseIds.length));
  const inputIds = new BigInt64Array(rows * seq).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(rows * seq);
  const responseMask = new Float32Array(rows * seq);
  let tokens = 0;
  seqs.forEach((s, r) => {
    const all = [...s.promptIds, ...s.responseIds];
    tokens += all.length;
    for (let t = 0; t < all.length; t++) {
      inputIds[r * seq + t] = BigInt(all[t]);
      attentionMask[r * seq + t] = 1n;
      if (t >= s.promptIds.length) responseMask[r * seq + t] = 1;
    }
  });
  return { rows, seq, inputIds, attentionMask, responseMask, tokens };
}

/** Chosen rows then rejected rows, the order the DPO step graph splits them in. */
export function layoutPairs(pairs: TokenizedPair[], padId: number): RightPaddedBatch {
  return layoutRightPadded(
    [
      ...pairs.map((p) => ({ promptIds: p.promptIds, responseIds: p.chosenIds })),
      ...pairs.map((p) => ({ promptIds: p.promptIds, responseIds: p.rejectedIds })),
    ],
    padId,
  );
}

/** How the rows of a run are cut into optimizer steps (the TrainerOptions fields). */
export interface BatchingOptions {
  batchSize: number;
  gradAccum: number;
  epochs: number;
  maxSteps?: number;
}

/** Optimizer steps of a run over `n` rows: `maxSteps`, else whole epochs (a short last step each). */
export function runSteps(n: number, opts: BatchingOptions): number {
  return opts.maxSteps ?? opts.epochs * Math.ceil(n / (opts.batchSize * opts.gradAccum));
}

/**
 * The micro-batches of a run, one optimizer step per item: `items` reshuffled with `rng` at each
 * epoch and cut into slices of `batchSize`, `gradAccum` slices per step, with `epoch` the
 * fractional position reached. Endless: callers take as many steps as they run.
 */
export function* epochSteps<T>(
  items: T[],
  opts: Pick<BatchingOptions, 'batchSize' | 'gradAccum'>,
  rng: Rng,
): Generator<{ epoch: number; micro: T[][] }, never> {
  let epoch = 0;
  let order = shuffled(rng, items);
  let cursor = 0;
  for (;;) {
    const micro: T[][] = [];
    for (let k = 0; k < opts.gradAccum; k++) {
      if (cursor >= order.length) {
        epoch++;
        order = shuffled(rng, items);
        cursor = 0;
        if (micro.length) break; // an optimizer step never spans two epochs
      }
      const slice = order.slice(cursor, cursor + opts.batchSize);
      cursor += slice.length;
      micro.push(slice);
    }
    yield { epoch: epoch + cursor / order.length, micro };
  }
}
