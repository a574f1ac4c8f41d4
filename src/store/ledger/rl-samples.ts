// The completions an rl stage sampled and trained on: per completion its rewards, advantage and
// log-prob sums, keyed by (round-start checkpoint, step, prompt, place in the group, seed).

import { parseJson, prepareAll, type Raw, type StoreClass } from '../store-base.js';
import type { StageOutput } from '../run-types.js';

export interface NewRlSample extends StageOutput {
  step: number;
  promptId: string;
  idx: number;
  text: string;
  tokenIds: number[];
  finishReason: 'stop' | 'length';
  /** Each reward judge's score (0-1). */
  rewards: Record<string, number>;
  reward: number;
  advantage: number;
  oldLogps: number;
  refLogps: number | null;
  trained: boolean;
  seed: number;
  /** The policy the stage started from (samples after step 1 come from its updates). */
  checkpointId: string;
}

export interface RlSampleRow extends Required<NewRlSample> {
  id: string;
  runId: string;
  createdAt: string;
}

const COLS = `id, run_id AS runId, round, stage_index AS stageIndex, step, prompt_id AS promptId,
  idx, text, token_ids AS tokenIds, finish_reason AS finishReason, rewards, reward, advantage,
  old_logps AS oldLogps, ref_logps AS refLogps, trained, seed, checkpoint_id AS checkpointId,
  input_hash AS inputHash, created_at AS createdAt`;

const SQL = {
  // A re-run stage (resume) samples and trains again from its start: the latest attempt's numbers
  // are what the policy learnt from, so they replace the stored ones (the key is unchanged).
  upsert: `INSERT INTO rl_samples (id, run_id, round, stage_index, step, prompt_id, idx, text,
      token_ids, finish_reason, rewards, reward, advantage, old_logps, ref_logps, trained, seed,
      checkpoint_id, input_hash, created_at)
    VALUES (@id, @runId, @round, @stageIndex, @step, @promptId, @idx, @text, @tokenIds,
      @finishReason, @rewards, @reward, @advantage, @oldLogps, @refLogps, @trained, @seed,
      @checkpointId, @inputHash, @now)
    ON CONFLICT (run_id, input_hash) DO UPDATE SET text = excluded.text,
      token_ids = excluded.token_ids, finish_reason = excluded.finish_reason,
      rewards = excluded.rewards, reward = excluded.reward, advantage = excluded.advantage,
      old_logps = excluded.old_logps, ref_logps = excluded.ref_logps, trained = excluded.trained,
      created_at = excluded.created_at`,
  // samples from a checkpoint set aside by `--from-round` are no longer the round's
  forRound: `SELECT ${COLS} FROM rl_samples WHERE run_id = ? AND round = ?
      AND NOT EXISTS (SELECT 1 FROM checkpoint_discards d
        WHERE d.checkpoint_id = rl_samples.checkpoint_id)
    ORDER BY step, rowid`,
};

function mapRow(r: Raw): RlSampleRow {
  return {
    ...(r as unknown as RlSampleRow),
    tokenIds: parseJson(r.tokenIds) as number[],
    rewards: parseJson(r.rewards) as Record<string, number>,
    trained: r.trained === 1,
  };
}

export function withRlSamples<B extends StoreClass>(Base: B) {
  abstract class RlSamples extends Base {
    readonly #s = prepareAll(this.db, SQL);

    addRlSample(x: NewRlSample): string {
      return this.guard('adding an RL sample', () =>
        this.ledgerInsert('rl_samples', this.#s.upsert, {
          round: x.round,
          stageIndex: x.stageIndex ?? null,
          step: x.step,
          promptId: x.promptId,
          idx: x.idx,
          text: x.text,
          tokenIds: this.json(x.tokenIds, 'tokenIds'),
          finishReason: x.finishReason,
          rewards: this.json(x.rewards, 'rewards'),
          reward: x.reward,
          advantage: x.advantage,
          oldLogps: x.oldLogps,
          refLogps: x.refLogps,
          trained: x.trained ? 1 : 0,
          seed: x.seed,
          checkpointId: x.checkpointId,
          inputHash: x.inputHash,
        }),
      );
    }

    /** The round's samples in step order. */
    rlSamplesForRound(round: number): RlSampleRow[] {
      return this.guard(`listing RL samples of round ${round}`, () =>
        (this.#s.forRound.all(this.runId, round) as Raw[]).map(mapRow),
      );
    }
  }
  return RlSamples;
}
