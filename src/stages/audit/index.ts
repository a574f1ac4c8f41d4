import { Rng } from '../../core/rng.js';
import type { AuditStageSpec } from '../../spec/schema.js';
import { inputHash } from '../../store/hash.js';
import type { RunContext } from '../context.js';
import type { Stage, StageInput, StageResult } from '../stage.js';
import { drawAudit } from './draw.js';
import { pairEvidence } from './evidence.js';

/**
 * Draws the round's audit sample (stratified, seeded: a resumed stage draws the same pairs and
 * gets the stored items back) into the queue `pipeline audit` serves. With `require_complete`
 * the round waits here until every drawn pair has a label: the stage reports what is missing
 * and the runner stops the run, resumable, before the next stage trains on unaudited pairs.
 */
async function runAuditStage(
  ctx: RunContext,
  { spec, round, index }: StageInput<AuditStageSpec>,
): Promise<StageResult> {
  const { store } = ctx;
  const pairs = store.pairsForRound(round);
  const evidence = pairs.map((p) => pairEvidence(store, p));
  const rng = new Rng(ctx.seedFor('audit', round, spec.strata.join(',')));
  const drawn = drawAudit(evidence, spec.sample, spec.strata, rng);
  store.transaction(() => {
    for (const d of drawn)
      store.addAuditItem({
        round,
        stageIndex: index,
        inputHash: inputHash('audit', round, d.pairId),
        ...d,
      });
  });
  const items = store.auditItems(round);
  const labelled = items.filter((i) => i.label !== null).length;
  const counts = { pairs: pairs.length, drawn: items.length, labelled };
  const pending = items.length - labelled;
  if (pending > 0)
    ctx.emit({
      type: 'warning',
      round,
      message:
        `${pending} of ${items.length} audit pairs await a human label ` +
        `(\`pipeline audit ${ctx.runId}\`)`,
    });
  return spec.require_complete && pending > 0 ? { counts, awaiting: { pending } } : { counts };
}

export const auditStage: Stage<AuditStageSpec> = { kind: 'audit', run: runAuditStage };
