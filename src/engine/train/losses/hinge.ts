// `hinge`: the SLiC-style hinge loss on the DPO margin (Zhao et al. 2023, "SLiC-HF: Sequence
// Likelihood Calibration with Human Feedback", eq. 3 with the reference log-ratio as in TRL):
//
//   L = mean over pairs of  max(0, 1 − β·h)
//
// with h the DPO margin (see sigmoid.ts). Source: TRL DPOTrainer, `loss_type == "hinge"`.
import type { V } from '../../graph/builder.js';
import { PairTerms, meanAll } from './common.js';

export function buildHingeLoss(t: PairTerms): V {
  const { b, opts } = t;
  return b.scope('hinge', () => {
    const z = b.mul(t.margin('hinge'), b.constF(opts.beta));
    return meanAll(b, b.op1('Relu', [b.sub(b.constF(1), z)]));
  });
}
