// `violation/<rule>`: for a rule judge, the share of probe answers that failed each rule.
//
//   violation_rate(r) = |{ i : answer i failed rule r }| / N
//
// Every rule the judge checked appears, with 0 when no answer failed it, in the order the rules
// were first seen (the rule file's order), so reports list them stably.

/** One rule's outcome on one answer. */
export interface RuleCheck {
  name: string;
  passed: boolean;
}

/** Failures per rule name over all answers, answers in probe order. */
export function countViolations(
  checksPerAnswer: readonly (readonly RuleCheck[])[],
): Map<string, number> {
  const violations = new Map<string, number>();
  for (const checks of checksPerAnswer)
    for (const { name, passed } of checks) {
      if (!passed) violations.set(name, (violations.get(name) ?? 0) + 1);
      else violations.set(name, violations.get(name) ?? 0);
    }
  return violations;
}

export const violationRate = (failures: number, answers: number): number => failures / answers;
