import { formatTimestamp } from './format.js';
import type { RunOverview } from './show.js';

/** What a resume changed on purpose: accepted input changes and round resets. */
export function resumeNotes(o: Pick<RunOverview, 'inputChanges' | 'roundResets'>): string[] {
  return [
    ...o.inputChanges.map(
      (c) =>
        `accepted changed input: ${c.path} ${c.oldHash.slice(0, 12)} → ${c.newHash.slice(0, 12)} ` +
        `(by ${c.acceptedBy}, ${formatTimestamp(c.acceptedAt)})`,
    ),
    ...o.roundResets.map(
      (r) =>
        `retrained from round ${r.fromRound}: ${r.discards} checkpoint(s) set aside ` +
        `(by ${r.resetBy}, ${formatTimestamp(r.resetAt)})`,
    ),
  ];
}
