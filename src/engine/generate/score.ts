import { hostData, tensor, type OrtSession } from '../runtime/ort-session.js';

export interface ScoreSequence {
  promptIds: number[];
  responseIds: number[];
}

export interface SequenceScore {
  /** Sum over response tokens of log p(token | all previous tokens) (TRL's convention). */
  logps: number;
  /** The per-token terms of that sum. */
  tokenLogprobs: number[];
}

/**
 * Log-probabilities of responses given prompts with the logprobs graph (inference-graphs.ts):
 * sequences are right-padded into batches of `batchSize` with `padId` and an attention mask, so
 * padding never changes a number.
 */
export async function scoreSequences(
  session: OrtSession,
  seqs: ScoreSequence[],
  opts: { padId: number; batchSize?: number },
): Promise<SequenceScore[]> {
  const batchSize = Math.max(1, opts.batchSize ?? 8);
  const results: SequenceScore[] = [];
  for (let start = 0; start < seqs.length; start += batchSize) {
    const batch = seqs.slice(start, start + batchSize);
    const S = Math.max(...batch.map((s) => s.promptIds.length + s.responseIds.length));
    const B = batch.length;
    const ids = new BigInt64Array(B * S).fill(BigInt(opts.padId));
    const mask = new BigInt64Array(B * S);
    batch.forEach((s, b) => {
      const all = [...s.promptIds, ...s.responseIds];
      for (let t = 0; t < all.length; t++) {
        ids[b * S + t] = BigInt(all[t]);
        mask[b * S + t] = 1n;
      }
    });
    const feeds = {
      input_ids: tensor('int64', ids, [B, S]),
      attention_mask: tensor('int64', mask, [B, S]),
    };
    const out = await session.run(feeds, ['token_logprobs']);
    const lp = hostData<Float32Array>(out.token_logprobs); // [B, S-1]
    batch.forEach((s, b) => {
      const P = s.promptIds.length;
      const tokenLogprobs: number[] = [];
      let sum = 0;
      // token t (t >= P) is predicted at position t-1
      for (let t = P; t < P + s.responseIds.length; t++) {
        const v = lp[b * (S - 1) + t - 1];
        tokenLogprobs.push(v);
        sum += v;
      }
      results.push({ logps: sum, tokenLogprobs });
    });
    feeds.input_ids.dispose();
    feeds.attention_mask.dispose();
    out.token_logprobs.dispose();
  }
  return results;
}
