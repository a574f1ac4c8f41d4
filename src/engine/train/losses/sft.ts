// `sft`: the negative log-likelihood of the completions (supervised fine-tuning loss).
//
//   L = −Σ_rows log π(y|x) / Σ_rows |y|     (token-level mean over the batch)
//
// Alone on prompt-completion rows it is TRL's SFTTrainer with `completion_only_loss=True`: only
// completion tokens carry labels and `F.cross_entropy` averages over every labelled token of the
// batch (not per row then over rows), so long completions weigh more. On pairs it is the loss of
// the chosen responses: combined with `sigmoid` (weights [1, α]) it is RPO (Pang et al. 2024,
// "Iterative Reasoning Preference Optimization", eq. 1; TRL `rpo_alpha`), and it is the generation
// term of MPO (TRL DPOTrainer, `loss_type == "sft"`, `model_output["nll_loss"]`).
// When PairLogps.chosenNll (per-pair mean NLL) is given, L = mean(chosenNll) instead.
import type { V } from '../../graph/builder.js';
import type { PairTerms } from './common.js';

export function buildSftLoss(t: PairTerms): V {
  return t.b.scope('sft', () => t.nll());
}
