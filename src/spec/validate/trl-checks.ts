// The TRL trainer backend (`backend: trl`) runs TRL's DPOTrainer, which has the DPO loss family
// but not every loss the in-process trainer has: what it cannot train is refused when the file is
// checked, not when the round reaches the train stage.

import type { TrainStageSpec } from '../schema.js';
import type { Path } from './problems.js';

/** loss_type values TRL 1.x's DPOTrainer trains (of the ones this project names). */
export const TRL_DPO_LOSSES: readonly string[] = [
  'sigmoid',
  'ipo',
  'hinge',
  'robust',
  'sigmoid_norm',
  'apo_zero',
  'sft',
];

/** Why a train stage's settings do not fit its backend, each at the field it concerns. */
export function trlProblems(s: TrainStageSpec): { path: Path; message: string }[] {
  if (s.backend !== 'trl')
    return s.trl
      ? [
          {
            path: ['trl'],
            message:
              'trl settings apply only to backend: trl, and this stage trains in-process ' +
              '(expected backend: trl, or no trl settings)',
          },
        ]
      : [];
  const out: { path: Path; message: string }[] = [];
  const other = s.loss.filter((l) => !TRL_DPO_LOSSES.includes(l));
  if (s.loss.includes('kto'))
    out.push({
      path: ['loss'],
      message:
        'loss kto cannot train with backend trl yet: the TRL backend runs DPOTrainer on pairs, ' +
        'not KTOTrainer (expected backend: engine for kto, or a DPO-family loss)',
    });
  else if (other.length)
    out.push({
      path: ['loss'],
      message:
        `backend trl trains TRL's DPOTrainer losses (${TRL_DPO_LOSSES.join(', ')}), not ` +
        `${other.join(', ')} (expected one of those losses, or backend: engine)`,
    });
  if (s.soft_labels)
    out.push({
      path: ['soft_labels'],
      message:
        "TRL's DPOTrainer has no per-pair soft labels (expected soft_labels: false with backend " +
        'trl, or backend: engine)',
    });
  return out;
}
