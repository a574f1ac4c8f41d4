// The audit draw: which of a round's pairs a human checks. A uniform sample would spend the
// annotator on the common case (a confident judge, the most used principle); auditing is for
// the places a judge is likely wrong. So pairs are grouped into strata and the strata are visited
// in turn (a seeded order), one pair each, until the sample is full: equal allocation across
// strata, uniform within each.

import { shuffled, type Rng } from '../../core/rng.js';

export type AuditStratum = 'margin' | 'judges' | 'principle';

/** What the draw knows of one pair. */
export interface PairEvidence {
  pairId: string;
  /** Chosen minus rejected score on the 0-1 scale; null when no judge scored the pair. */
  margin: number | null;
  /** Some judge, sample or order preferred the rejected answer; null when nothing judged both. */
  disagree: boolean | null;
  /** The constitution principle the pair's judgement (or revision) used. */
  principle: string | null;
}

export interface AuditDraw {
  pairId: string;
  stratum: string;
  /** Show the chosen answer as B (a coin per item, so the page's order tells nothing). */
  swapped: boolean;
  position: number;
}

/**
 * Margin thirds by rank within the round (low / mid / high): rank r of n (ascending margin, ties
 * by pair id) falls in third ⌊3r / n⌋. Ranks, not fixed cut-offs, since margins' scale varies by
 * judge and round.
 */
export function marginThirds(pairs: readonly PairEvidence[]): Map<string, string> {
  const scored = pairs
    .filter((p) => p.margin !== null)
    .sort((a, b) => a.margin! - b.margin! || (a.pairId < b.pairId ? -1 : 1));
  const out = new Map<string, string>();
  scored.forEach((p, r) =>
    out.set(p.pairId, ['low', 'mid', 'high'][Math.floor((3 * r) / scored.length)]),
  );
  return out;
}

/** 'margin:low|judges:disagree|principle:p3' over the strata asked for. */
export function strataOf(
  pairs: readonly PairEvidence[],
  strata: readonly AuditStratum[],
): Map<string, string> {
  const thirds = marginThirds(pairs);
  const key = (p: PairEvidence): string =>
    strata
      .map((s) => {
        if (s === 'margin') return `margin:${thirds.get(p.pairId) ?? 'none'}`;
        if (s === 'judges')
          return `judges:${p.disagree === null ? 'none' : p.disagree ? 'disagree' : 'agree'}`;
        return `principle:${p.principle ?? 'none'}`;
      })
      .join('|');
  return new Map(pairs.map((p) => [p.pairId, key(p)]));
}

/** Draws up to `sample` pairs, strata in turn (see the file comment); deterministic in `rng`. */
export function drawAudit(
  pairs: readonly PairEvidence[],
  sample: number,
  strata: readonly AuditStratum[],
  rng: Rng,
): AuditDraw[] {
  const keys = strataOf(pairs, strata);
  const groups = new Map<string, string[]>();
  for (const p of [...pairs].sort((a, b) => (a.pairId < b.pairId ? -1 : 1))) {
    const k = keys.get(p.pairId)!;
    groups.set(k, [...(groups.get(k) ?? []), p.pairId]);
  }
  const order = shuffled(rng, [...groups.keys()].sort());
  for (const k of order) groups.set(k, shuffled(rng, groups.get(k)!));
  const picked: { pairId: string; stratum: string }[] = [];
  for (let depth = 0; picked.length < sample; depth++) {
    const before = picked.length;
    for (const k of order) {
      const g = groups.get(k)!;
      if (depth < g.length && picked.length < sample) picked.push({ pairId: g[depth], stratum: k });
    }
    if (picked.length === before) break; // every stratum is used up
  }
  return picked.map((p, position) => ({ ...p, swapped: rng.nextFloat() < 0.5, position }));
}
