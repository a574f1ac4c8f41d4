// The engine's public face: everything outside src/engine/ imports the engine from here (the
// layer lint enforces it), so the library's inside can move without touching its users.
export { Engine, type ModelEngine } from './engine.js';
export type { PromptLogprobs } from './local-engine.js';
export {
  ModelText,
  scoreResults,
  type ModelInfo,
  type PromptInput,
  type ScoreResult,
} from './model-text.js';
export type { SequenceScore } from './generate/score.js';
export {
  DEFAULT_GENERATE,
  type GenerateOptions,
  type GenerateResult,
  type GenerateStats,
  type TopLogprob,
} from './generate/generate.js';
export { DEVICES, type Device } from './runtime/ort-session.js';
export {
  QUANTIZE_KINDS,
  QUANT_BLOCK_SIZES,
  DEFAULT_QUANT_BLOCK_SIZE,
  type Quantize,
} from './model/quantize.js';
export { onnxruntimeVersion } from './runtime/versions.js';
export type { ChatMessage } from './tokenizer/tokenizer.js';
export { LOSS_TYPES, type LossType } from './train/losses/index.js';
export { DEFAULT_LORA_TARGETS, LINEAR_MODULES } from './train/lora.js';
export type { TrainEvent, TrainJob, TrainOutcome } from './train/run-training.js';
export { trainSft, type SftJob } from './train/train-sft.js';
export type { StepMetrics } from './train/trainer.js';
export type {
  CheckpointCheck,
  RewardModelEvent,
  RewardModelJob,
  RewardModelOutcome,
} from './train/reward-model/run-rm-training.js';
export { RewardModelScorer, type RewardScorerOptions } from './train/reward-model/rm-scorer.js';
export { loadModelTextLimits, type ModelTextLimits } from './model/text-limits.js';
export { writeRandomLlama, type LlamaShape } from './model/builtin-tiny.js';
export { checkModelWeightFiles } from './model/check-weights-files.js';
export { resolveModelDir } from './model/load-model.js';
export { PG_LOSS_TYPES, type PgLossType } from './train/losses/policy-gradient.js';
export {
  RL_ALGORITHMS,
  type RlAlgorithm,
  type RlBatchResult,
  type RlStepMetrics,
} from './train/rl-trainer.js';
export { SCALE_REWARDS, type ScaleRewards } from './train/advantages.js';
export type { RlJob } from './train/rl-run.js';
export type { RlSession } from './rl-session.js';
