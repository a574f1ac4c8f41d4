// The prompts a round works on (seed prompts, self-instructed ones, probes), with their messages.

import type { ChatMessage } from '../../engine/index.js';
import { parseJson, prepareAll, type Raw, type StoreClass } from '../store-base.js';
import type { StageOutput } from '../run-types.js';

export type PromptSource = 'seed' | 'self_instruct' | 'probe';

export interface NewPrompt extends StageOutput {
  source: PromptSource;
  messages: ChatMessage[];
  /** The prompt file it came from, as stored by putText(kind 'prompt_file'). */
  fileHash?: string | null;
  meta?: Record<string, unknown> | null;
}

export interface PromptRow {
  id: string;
  runId: string;
  round: number;
  stageIndex: number | null;
  source: PromptSource;
  messages: ChatMessage[];
  fileHash: string | null;
  meta: Record<string, unknown> | null;
  inputHash: string;
  createdAt: string;
}

const COLS = `id, run_id AS runId, round, stage_index AS stageIndex, source, messages,
  file_hash AS fileHash, meta, input_hash AS inputHash, created_at AS createdAt`;

const SQL = {
  insert: `INSERT INTO prompts (id, run_id, round, stage_index, source, messages, file_hash,
      meta, input_hash, created_at)
    VALUES (@id, @runId, @round, @stageIndex, @source, @messages, @fileHash, @meta, @inputHash,
      @now)
    ON CONFLICT (run_id, input_hash) DO NOTHING`,
  get: `SELECT ${COLS} FROM prompts WHERE id = ?`,
  forRound: `SELECT ${COLS} FROM prompts WHERE run_id = ? AND round = ? ORDER BY rowid`,
};

function mapPrompt(r: Raw): PromptRow {
  return {
    ...(r as unknown as PromptRow),
    messages: parseJson(r.messages) ?? [],
    meta: parseJson(r.meta),
  };
}

export function withPrompts<B extends StoreClass>(Base: B) {
  abstract class Prompts extends Base {
    readonly #s = prepareAll(this.db, SQL);

    addPrompt(p: NewPrompt): string {
      return this.guard('adding a prompt', () =>
        this.ledgerInsert('prompts', this.#s.insert, {
          round: p.round,
          stageIndex: p.stageIndex ?? null,
          source: p.source,
          messages: this.json(p.messages, 'messages'),
          fileHash: p.fileHash ?? null,
          meta: this.json(p.meta, 'meta'),
          inputHash: p.inputHash,
        }),
      );
    }

    getPrompt(id: string): PromptRow | undefined {
      return this.guard('reading a prompt', () => {
        const r = this.#s.get.get(id) as Raw | undefined;
        return r && mapPrompt(r);
      });
    }

    promptsForRound(round: number): PromptRow[] {
      return this.guard(`listing prompts of round ${round}`, () =>
        (this.#s.forRound.all(this.runId, round) as Raw[]).map(mapPrompt),
      );
    }
  }
  return Prompts;
}
