import { humanAgreement, humanAgreementMetrics } from '../../audit/agreement.js';
import type { RunContext } from '../context.js';
import type { MetricLog } from './metric-log.js';

/**
 * The round's judge against the human on its audited pairs (src/audit/agreement.ts), from the
 * labels stored by the time the round is evaluated, so a gate can act on them (with an audit
 * stage that waits for its labels, they are all there). `pipeline audit` refreshes these rows
 * whenever later labels arrive. Nothing is stored for a round without an audit sample.
 */
export function recordHumanAgreement(ctx: RunContext, log: MetricLog, round: number): void {
  const items = ctx.store.auditItems(round);
  if (!items.length) return;
  for (const m of humanAgreementMetrics(humanAgreement(items)))
    log.record(m.metric, m.value, m.detail);
}
