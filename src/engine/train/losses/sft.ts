// `sft`: the negative log-likelihood of the chosen responses (supervised fine-tuning loss).
// Combined with `sigmoid` (weights [1, α]) it is RPO (Pang et al. 2024, "Iterative Reasoning
// Preference Optimization", eq. 1; TRL `rpo_alpha`), and it is the generation term of MPO.
//
//   L = −Σ_pairs log π(y_w|x) / Σ_pairs |y_w|     (token-level mean over the batch)
//
// Source: TRL DPOTrainer, `loss_type == "sft"`, which uses `model_output["nll_loss"]` =
// `F.cross_entropy` over the flattened chosen completion tokens, i.e. the token-level mean above.
// When PairLogps.chosenNll (per-pair mean NLL) is given, L = mean(chosenNll) instead.
import type { V } from '../../graph/builder.js';
import type { PairTerms } from './common.js';

export function buildSftLoss(t: PairTerms): V {
  return t.b.scope('sft', () => t.nll());
}
