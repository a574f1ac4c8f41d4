import type { TrainJob } from '../engine/index.js';
import type { RunStore } from '../store/run-store.js';

/** The round's labelled candidates as TRL's unpaired KTO rows, with a `label <id>` name each. */
export function ktoRows(
  store: Pick<RunStore, 'labelsForRound' | 'getPrompt' | 'getCandidate'>,
  round: number,
): { rows: TrainJob['rows']; labels: string[]; desirable: number; undesirable: number } {
  const kept = store.labelsForRound(round).filter((l) => l.label !== null);
  const desirable = kept.filter((l) => l.label === 'desirable').length;
  return {
    rows: kept.map((l) => ({
      prompt: store.getPrompt(l.promptId)!.messages,
      completion: [{ role: 'assistant', content: store.getCandidate(l.candidateId)!.text }],
      label: l.label === 'desirable',
    })),
    labels: kept.map((l) => `label ${l.id}`),
    desirable,
    undesirable: kept.length - desirable,
  };
}

/** Python's round(x, 2) for the bounds below (half-to-even differs only on exact ties). */
const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * TRL KTOTrainer's class-balance advice (trl/trainer/kto_trainer.py, "Calculate dataset
 * desirability balance", from eq. 8 of the KTO paper): with n_D desirable and n_U undesirable rows
 * (each at least 1), when n_D ≠ n_U it warns unless
 *
 *   λ_D ∈ [round(n_U·λ_U / n_D, 2), round(1.33 · n_U·λ_U / n_D, 2)]   or
 *   λ_U ∈ [round(n_D·λ_D / (1.33 · n_U), 2), round(n_D·λ_D / n_U, 2)]
 *
 * i.e. λ_D·n_D / (λ_U·n_U) in [1, 4/3]. Returns the warning's text, or null when in range.
 */
export function ktoWeightAdvice(
  nDesirable: number,
  nUndesirable: number,
  desirableWeight: number,
  undesirableWeight: number,
): string | null {
  const nD = Math.max(nDesirable, 1);
  const nU = Math.max(nUndesirable, 1);
  if (nD === nU) return null;
  const dLo = round2((nU * undesirableWeight) / nD);
  const dHi = round2(((nU * undesirableWeight) / nD) * 1.33);
  const uLo = round2((nD * desirableWeight) / nU / 1.33);
  const uHi = round2((nD * desirableWeight) / nU);
  const dIn = dLo <= desirableWeight && desirableWeight <= dHi;
  const uIn = uLo <= undesirableWeight && undesirableWeight <= uHi;
  if (dIn || uIn) return null;
  return (
    `${nDesirable} desirable and ${nUndesirable} undesirable rows with desirable_weight ` +
    `${desirableWeight} and undesirable_weight ${undesirableWeight}: TRL's KTOTrainer recommends ` +
    `EITHER desirable_weight in [${dLo}, ${dHi}] OR undesirable_weight in [${uLo}, ${uHi}] ` +
    '(desirable_weight·#desirable / (undesirable_weight·#undesirable) between 1 and 4/3)'
  );
}
