import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineError } from '../core/errors.js';
import { createOpenAIClient, type OpenAIClient } from '../judges/openai-judge.js';
import { RewardModelJudge, type RewardModelJudgeOptions } from '../judges/reward-model-judge.js';
import { RuleJudge } from '../judges/rule-judge.js';
import { loadConstitution, type Constitution } from '../prompts/constitution.js';
import { loadRubric, type Rubric } from '../prompts/rubric.js';
import type { JudgeSpec } from '../spec/schema.js';
import type { RunContext } from './context.js';
import type { ModelRef } from './engine-pool.js';

// Judge setup shared by every stage that judges (judge, critique, evaluate): which judge a name
// means, what identifies it in input hashes, and the rubric/constitution texts it renders.

/**
 * A judge as the stages use it: the current policy (`self`), a frozen model, a model behind an
 * OpenAI-compatible server, or rules.
 */
export type ResolvedJudge =
  | { id: string; kind: 'model'; model: ModelRef; checkpointId: string | null; concurrency: number }
  | { id: string; kind: 'openai'; client: OpenAIClient; concurrency: number }
  | { id: string; kind: 'rule'; rules: RuleJudge }
  | {
      id: string;
      kind: 'reward_model';
      /** The reward model of round r (the same folder every round, unless `trained`). */
      rm: (round: number) => RewardModelJudge;
      concurrency: 1;
    };

/** Where a reward_model stage writes its model, under the round's folder. */
export const REWARD_MODEL_DIR = 'reward-model';

/** Reward models stay loaded for the process: every stage that resolves one reads the same. */
const rewardModels = new Map<string, RewardModelJudge>();

function rewardModelAt(path: string, opts: RewardModelJudgeOptions): RewardModelJudge {
  const key = JSON.stringify([path, opts]);
  let rm = rewardModels.get(key);
  if (!rm) rewardModels.set(key, (rm = new RewardModelJudge(path, opts)));
  return rm;
}

/**
 * What a judgement's input hash records about who judged, besides the judge's name: the
 * checkpoint for model judges (unchanged from before openai judges existed, so resumed runs still
 * match), the server and model for openai judges, so pointing a name at another server re-judges.
 */
export function judgeIdentity(judge: ResolvedJudge): unknown {
  if (judge.kind === 'model') return judge.checkpointId;
  if (judge.kind === 'openai') return judge.client.identity;
  if (judge.kind === 'reward_model') return judge.id;
  return null;
}

export function resolveJudge(ctx: RunContext, id: string): ResolvedJudge {
  if (id === 'self')
    return {
      id,
      kind: 'model',
      model: ctx.policy,
      checkpointId: ctx.policy.checkpointId,
      concurrency: 1,
    };
  const spec: JudgeSpec | undefined = ctx.spec.judges[id];
  if (!spec)
    throw new PipelineError({
      code: 'E_JUDGE_UNKNOWN',
      message: `unknown judge '${id}'`,
      hint: 'define it under judges: in the pipeline file',
    });
  if (spec.kind === 'rule')
    return { id, kind: 'rule', rules: new RuleJudge(spec.rules, (p) => ctx.path(p)) };
  if (spec.kind === 'reward_model') {
    const opts = { device: spec.device, threads: spec.threads, batchSize: spec.batch_size };
    // `trained`: the reward_model stage of the round writes round-<r>/reward-model
    const at = (round: number) =>
      spec.path ? ctx.path(spec.path) : join(ctx.runDir, `round-${round}`, REWARD_MODEL_DIR);
    return {
      id,
      kind: 'reward_model',
      rm: (round) => rewardModelAt(at(round), opts),
      concurrency: 1,
    };
  }
  if (spec.kind === 'model')
    return {
      id,
      kind: 'model',
      model: {
        path: ctx.path(spec.path),
        adapter: spec.adapter ? ctx.path(spec.adapter) : undefined,
        device: spec.device,
        threads: spec.threads,
        quantize: spec.quantize,
        quantizeBlockSize: spec.quantize_block_size,
      },
      checkpointId: null,
      concurrency: spec.concurrency,
    };
  return {
    id,
    kind: 'openai',
    client: createOpenAIClient(id, spec, { signal: ctx.signal }),
    concurrency: spec.concurrency,
  };
}

/**
 * Reward-model judges reward rl stages; judge and evaluate stages store judgements with a rubric
 * or rules, which a reward model has neither of. Validation refuses the combination; this is its
 * guard for code that resolves judges by name.
 */
export function refuseRewardModel(judge: ResolvedJudge, stage: string): void {
  if (judge.kind === 'reward_model')
    throw new PipelineError({
      code: 'E_JUDGE_KIND',
      message: `judge '${judge.id}' is a reward model; a ${stage} stage cannot use it in this version`,
      hint: 'reward models reward rl stages (reward_judges); judge and evaluate stages take rule, model or openai judges',
    });
}

/** Loaded texts of a judge stage, recorded in the store by content hash. */
export interface JudgeTexts {
  rubric: Rubric;
  constitution?: Constitution;
}

export function loadJudgeTexts(
  ctx: RunContext,
  rubricPath: string,
  constitutionPath?: string,
): JudgeTexts {
  const rubric = loadRubric(ctx.path(rubricPath));
  ctx.store.putText('rubric', rubricPath, rubric.source);
  let constitution: Constitution | undefined;
  if (constitutionPath) {
    constitution = loadConstitution(ctx.path(constitutionPath));
    ctx.store.putText(
      'constitution',
      constitutionPath,
      readFileSync(ctx.path(constitutionPath), 'utf8'),
    );
  }
  return { rubric, constitution };
}

/** Provenance of a server judgement: which server and model answered, and why it stopped. */
export function serverDetail(
  judge: Extract<ResolvedJudge, { kind: 'openai' }>,
  servedModel: string,
  finishReason: string | null,
): Record<string, unknown> {
  return { ...judge.client.identity, served_model: servedModel, finish_reason: finishReason };
}
