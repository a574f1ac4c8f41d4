// The warnings list: repeats fold into one entry with a count, and at most WARNINGS_MAX distinct
// entries are kept (the oldest go first; `warningCount` still counts every occurrence).

import type { RunState, WarningKind, WarningView } from './types.js';

/** Distinct warnings kept; the oldest are dropped (their occurrences stay in `warningCount`). */
export const WARNINGS_MAX = 50;

export function addWarning(s: RunState, w: Omit<WarningView, 'count'>): RunState {
  const i = s.warnings.findIndex((x) => x.key === w.key);
  const count = i >= 0 ? s.warnings[i].count + 1 : 1;
  const rest = i >= 0 ? [...s.warnings.slice(0, i), ...s.warnings.slice(i + 1)] : s.warnings;
  const warnings = [...rest, { ...w, count }];
  return {
    ...s,
    warnings: warnings.length > WARNINGS_MAX ? warnings.slice(-WARNINGS_MAX) : warnings,
    warningCount: s.warningCount + 1,
  };
}

/** The kind of a free-text `warning` event, guessed from its words (it decides the icon's tone). */
export function classifyWarning(message: string): WarningKind {
  if (/\bnan\b|non-finite|not finite|\binf(inity)?\b/i.test(message)) return 'nan';
  if (/pars(e|ing)|unparseable/i.test(message)) return 'parse';
  if (/\bgate\b/i.test(message)) return 'gate';
  return 'warning';
}
