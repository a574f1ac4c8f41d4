// The judge against the human, on the audited pairs of a round. Each item was shown with its
// answers in a seeded order, so both verdicts are positions: the judge's is the slot its chosen
// answer was shown in (A, or B when swapped), the human's the key they pressed (A, B or tie;
// skips are left out). Agreement on positions, not on "chosen", is what makes κ meaningful: a
// judge that always prefers its own chosen answer would otherwise have one category only, and
// κ would be 0 whatever the human said.

import type { AuditItemRow } from '../store/ledger/audit.js';
import type { RunStore } from '../store/run-store.js';

/**
 * Cohen's kappa (Cohen 1960) between two raters over the same items:
 *   κ = (p_o − p_e) / (1 − p_e),  p_o = (1/n) Σ_i [a_i = b_i],  p_e = Σ_k p_a(k) · p_b(k),
 * with p_a(k), p_b(k) each rater's share of category k. NaN when p_e = 1 (both raters used one
 * and the same category: agreement by chance alone, κ undefined) or when there are no items.
 * Equals sklearn.metrics.cohen_kappa_score(a, b) (unweighted).
 */
export function cohenKappa(a: readonly string[], b: readonly string[]): number {
  if (a.length !== b.length) throw new Error(`cohenKappa: ${a.length} vs ${b.length} ratings`);
  const n = a.length;
  if (n === 0) return NaN;
  const countA = new Map<string, number>();
  const countB = new Map<string, number>();
  let same = 0;
  for (let i = 0; i < n; i++) {
    countA.set(a[i], (countA.get(a[i]) ?? 0) + 1);
    countB.set(b[i], (countB.get(b[i]) ?? 0) + 1);
    if (a[i] === b[i]) same++;
  }
  const po = same / n;
  let pe = 0;
  for (const [k, na] of countA) pe += (na / n) * ((countB.get(k) ?? 0) / n);
  return pe === 1 ? NaN : (po - pe) / (1 - pe);
}

export interface HumanAgreement {
  /** Items drawn for the round. */
  drawn: number;
  /** Items with a label (skips included). */
  labelled: number;
  /** labelled / drawn; 1 when nothing was drawn. */
  complete: number;
  /** Items with an A / B / tie label: those κ and agreement are computed on. */
  compared: number;
  /** Share of compared items where the human pressed the judge's slot. NaN when none. */
  agreement: number;
  /** Cohen's κ, judge vs human, over A / B / tie (see cohenKappa). */
  kappa: number;
  ties: number;
  /** Items the human preferred the other way (the judge's rejected answer). */
  reversed: number;
}

export function humanAgreement(items: readonly AuditItemRow[]): HumanAgreement {
  const labelled = items.filter((i) => i.label !== null);
  const compared = labelled.filter((i) => i.label !== 'skip');
  const judge = compared.map((i) => (i.swapped ? 'B' : 'A'));
  const human = compared.map((i) => i.label!);
  const agree = compared.filter((_, k) => judge[k] === human[k]).length;
  return {
    drawn: items.length,
    labelled: labelled.length,
    complete: items.length ? labelled.length / items.length : 1,
    compared: compared.length,
    agreement: compared.length ? agree / compared.length : NaN,
    kappa: cohenKappa(judge, human),
    ties: human.filter((h) => h === 'tie').length,
    reversed: compared.filter((i, k) => i.label !== 'tie' && judge[k] !== human[k]).length,
  };
}

/** The metric rows a round's audit gives: name, value (NaN when undefined), detail. */
export function humanAgreementMetrics(
  a: HumanAgreement,
): { metric: string; value: number; detail: Record<string, unknown> }[] {
  const detail = { ...a, agreement: undefined, kappa: undefined, complete: undefined };
  const out = [{ metric: 'audit_complete', value: a.complete, detail }];
  if (a.compared > 0)
    out.push(
      { metric: 'judge_human_agreement', value: a.agreement, detail },
      { metric: 'judge_human_kappa', value: a.kappa, detail },
    );
  return out;
}

/**
 * Rewrites a round's human-agreement metrics from the labels stored now (called whenever
 * `pipeline audit` stores labels, so drift and the report follow the annotators). A metric keeps
 * the stage it was first stored under (the evaluate stage that gates on it).
 */
export function refreshHumanMetrics(store: RunStore, round: number): HumanAgreement {
  const a = humanAgreement(store.auditItems(round));
  const stored = store.evalMetrics().filter((m) => m.round === round);
  store.transaction(() => {
    for (const m of humanAgreementMetrics(a))
      store.putEvalMetric({
        round,
        metric: m.metric,
        value: Number.isFinite(m.value) ? m.value : null,
        stageIndex: stored.find((s) => s.metric === m.metric)?.stageIndex ?? null,
        detail: m.detail,
      });
  });
  return a;
}

/** One line for the CLI: '3/4 labelled; judge vs human: agreement 0.67, kappa 0.40 on 3'. */
export function agreementLine(a: HumanAgreement): string {
  const kappa = Number.isFinite(a.kappa) ? a.kappa.toFixed(2) : 'undefined';
  const vs =
    a.compared > 0
      ? `; judge vs human: agreement ${a.agreement.toFixed(2)}, kappa ${kappa} on ${a.compared}`
      : '';
  return `${a.labelled}/${a.drawn} labelled${vs}`;
}
