import type { ModelEngine } from '../../engine/index.js';
import type { PromptFileRow } from '../../prompts/prompt-set.js';
import type { EvaluateStageSpec } from '../../spec/schema.js';
import { inputHash } from '../../store/hash.js';
import type { CandidateRow } from '../../store/types.js';
import type { RunContext } from '../context.js';
import { generateOptions } from '../sampling.js';

/** A probe prompt and the current policy's stored answer to it. */
export interface ProbeAnswer {
  probe: PromptFileRow;
  cand: CandidateRow;
}

/** Where the probe answers go: the stage's round and index, and the stored probe file's hash. */
export interface ProbeTarget {
  spec: EvaluateStageSpec;
  round: number;
  stageIndex: number;
  probeFileHash: string;
}

/**
 * Step 1: the current policy's answer to each probe, stored as a candidate of a `probe` prompt.
 * An answer already stored under the same input hash (same probe, sampling, seed and checkpoint)
 * is reused, so a resumed stage generates only what is missing. Stops early when the run is
 * stopped; the answers so far are returned.
 */
export async function answerProbes(
  ctx: RunContext,
  target: ProbeTarget,
  probes: readonly PromptFileRow[],
  engine: ModelEngine,
): Promise<ProbeAnswer[]> {
  const { spec, round, stageIndex } = target;
  const sampling = {
    temperature: spec.temperature,
    top_p: 1,
    top_k: 0,
    max_new_tokens: spec.max_new_tokens,
  };
  const answers: ProbeAnswer[] = [];
  for (let i = 0; i < probes.length; i++) {
    if (ctx.stopped) break;
    const probe = probes[i];
    const promptId = ctx.store.addPrompt({
      round,
      stageIndex,
      source: 'probe',
      messages: probe.messages,
      fileHash: target.probeFileHash,
      meta: { probe: probe.id },
      inputHash: inputHash('probe', round, stageIndex, probe.id, probe.messages),
    });
    const id = await answerOne(ctx, target, probe, promptId, sampling, engine);
    answers.push({ probe, cand: ctx.store.getCandidate(id)! });
    ctx.emit({
      type: 'stage-progress',
      round,
      stage: stageIndex,
      kind: 'evaluate',
      done: i + 1,
      total: probes.length * 2,
      unit: 'probe steps',
    });
  }
  return answers;
}

type ProbeSampling = { temperature: number; top_p: number; top_k: number; max_new_tokens: number };

/** The id of the stored answer to one probe, generating and storing it if it is not there yet. */
async function answerOne(
  ctx: RunContext,
  { round, stageIndex }: ProbeTarget,
  probe: PromptFileRow,
  promptId: string,
  sampling: ProbeSampling,
  engine: ModelEngine,
): Promise<string> {
  const seed = ctx.seedFor('probe', probe.id);
  const checkpointId = ctx.policy.checkpointId;
  const hash = inputHash('probe-answer', round, stageIndex, probe.id, sampling, seed, checkpointId);
  const existing = ctx.store.existingId('candidates', hash);
  if (existing) return existing;
  const { results } = await engine.generate(
    [{ messages: probe.messages }],
    generateOptions(sampling, 1, seed),
  );
  const c = results[0].completions[0];
  return ctx.store.addCandidate({
    round,
    stageIndex,
    inputHash: hash,
    promptId,
    idx: 0,
    text: c.text,
    tokenIds: c.tokenIds,
    logprobsSum: c.logprobs.reduce((a, b) => a + b, 0),
    finishReason: c.finishReason,
    sampling,
    seed,
    checkpointId,
    origin: 'sample',
    meta: { probe: probe.id },
  });
}
