// The token-level mean NLL that `sft` (sft.ts) and the pair losses' NLL term (common.ts) share:
//
//   L = −Σ_rows log π(y|x) / Σ_rows |y|
//
// Its own file so sft.ts can take PairTerms from common.ts while common.ts takes this from here
// (no import circle). Built from raw ops, not common.ts's helpers.
import type { GraphBuilder, V } from '../../graph/builder.js';

/**
 * −Σ logps / max(Σ tokens, 1) for per-row log-prob sums `logps` [R] and completion token counts
 * `tokens` [R]. The clamp keeps a batch without completion tokens at 0 instead of NaN.
 */
export function tokenMeanNll(b: GraphBuilder, logps: V, tokens: V): V {
  const sum = (x: V) => b.op1('ReduceSum', [x], { keepdims: 0 });
  const n = b.op1('Max', [sum(tokens), b.constF(1)]);
  return b.neg(b.div(sum(logps), n));
}
