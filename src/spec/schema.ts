// The pipeline file's schema: one zod schema is the single source for parsing, the TypeScript
// types the runner uses, the defaults, and the JSON Schema editors complete the YAML with.
//
// Every object is strict so a typo ("temprature") is an error instead of a silently ignored
// setting; a mistyped training option would otherwise cost a whole run. Training options keep
// TRL's names (beta, label_smoothing, learning_rate, lr_scheduler_type, ...) so a researcher can
// carry values over from a TRL DPOConfig unchanged.
//
// `.describe()` is called last on every field: zod 4 keeps descriptions in a registry keyed by
// schema instance, so describing the inner schema and then wrapping it in `.optional()` or
// `.default()` would drop the text from the JSON Schema.

import * as z from 'zod';
import {
  DEFAULT_QUANT_BLOCK_SIZE,
  DEVICES,
  LOSS_TYPES,
  QUANT_BLOCK_SIZES,
  QUANTIZE_KINDS,
  PG_LOSS_TYPES,
  RL_ALGORITHMS,
  SCALE_REWARDS,
} from '../engine/index.js';
import type { EvalMetric } from './eval-metrics.js';
import type { StageKind } from './stage-kinds.js';

export { STAGE_KINDS, type StageKind } from './stage-kinds.js';

/** The judge name that means "the current policy M_t judges its own answers". */
export const SELF_JUDGE = 'self';

export const REFERENCES = ['round-start', 'initial'] as const;
export const JUDGE_KINDS = ['model', 'openai', 'rule', 'reward_model'] as const;
export const RULE_KINDS = ['length', 'regex', 'json_valid', 'banned_phrases', 'sandbox'] as const;
export const JUDGE_MODES = ['generate', 'logprobs', 'pairwise'] as const;
export const JUDGE_COMBINES = ['mean', 'majority'] as const;
export const AUDIT_STRATA = ['margin', 'judges', 'principle'] as const;
export const HUMAN_LABEL_USES = ['ignore', 'override'] as const;
export const META_JUDGE_RESPONSES = ['max-variance', 'all'] as const;
export const META_JUDGE_BATTLES = ['position-weighted', 'mean-probability'] as const;
export const PAIR_STRATEGIES = [
  'max-min',
  'max-random',
  'all-pairs-above-margin',
  'revision',
  'label',
] as const;
export const LR_SCHEDULERS = ['constant', 'linear', 'cosine'] as const;
/** The metrics a gate may test: some of the evaluate stage's metrics (eval-metrics.ts). */
export const EVAL_METRICS = [
  'mean_score',
  'win_rate',
  'mean_length',
  'kl',
  'refusal_rate',
  'boilerplate_rate',
  'judge_agreement',
  'judge_tau',
  'judge_score_drift',
  'judge_flip_rate',
  'position_bias',
  'inter_judge_agreement',
  'true_score',
  'judge_accuracy',
  'reward_gap',
  'candidate_judge_accuracy',
  'pair_accuracy',
  'audit_complete',
  'judge_human_agreement',
  'judge_human_kappa',
  'meta_judge_position_bias',
  'meta_judge_agreement',
  'meta_judge_win_rate',
] as const satisfies readonly EvalMetric[];
export const GATE_OPS = ['<', '<=', '>', '>='] as const;
export const GATE_ACTIONS = ['stop', 'warn'] as const;

/** Judge names become row values and CLI arguments, so keep them plain identifiers. */
export const JUDGE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*$/;
/** What JUDGE_NAME_PATTERN asks for, in words. */
export const JUDGE_NAME_RULE = "letters, digits, '_' or '-', starting with a letter";
/** Pipeline names become folder names under runs/. */
export const PIPELINE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const posInt = () => z.int().min(1);
const nonNegInt = () => z.int().min(0);
const filePath = () => z.string().min(1);
const temperature = () => z.number().min(0);
const weight = () =>
  z
    .number()
    .min(0)
    .default(1)
    .describe('Weight of this rule in the weighted mean that gives the rule judge its score.');

// ---------------------------------------------------------------------------------------------
// model, prompts

/** Where the policy runs: in process, or on an OpenAI-compatible server. */
export const POLICY_BACKENDS = ['engine', 'openai'] as const;
/** How a served policy takes each round's adapter: vLLM's runtime LoRA API, or not at all. */
export const SERVED_ADAPTERS = ['vllm', 'none'] as const;
/** `quantize` and its block size, shared by the model and model judges. */
function quantizeFields() {
  return {
    quantize: z
      .enum(QUANTIZE_KINDS)
      .optional()
      .describe(
        'Weight-only quantization of the linear layers for generation, scoring and judging ' +
          "(onnxruntime MatMulNBits, symmetric, block-wise): 'int8' or 'int4'. Made once at load " +
          'and cached; embeddings and norms stay float32. Not with train, rl or reward_model ' +
          'stages (training over a quantized base is not supported yet). Default: float32.',
      ),
    quantize_block_size: z
      .union(QUANT_BLOCK_SIZES.map((n) => z.literal(n)))
      .optional()
      .describe(
        'Weights per quantization block (one scale each) along the input dimension, with ' +
          `quantize: 16, 32, 64 or 128 (default ${DEFAULT_QUANT_BLOCK_SIZE}). Smaller blocks are ` +
          'more accurate and slightly larger.',
      ),
  };
}

export const modelSchema = z
  .strictObject({
    path: filePath().describe(
      "The policy M_0: 'builtin:tiny' (the embedded test model) or a Hugging Face model folder " +
        '(config.json, tokenizer.json, *.safetensors), relative to this file. Download one with ' +
        '`pipeline pull <repo-id>`.',
    ),
    adapter: filePath()
      .optional()
      .describe(
        'A PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors) applied ' +
          'on top of `path` before round 1.',
      ),
    device: z
      .enum(DEVICES)
      .default('cpu')
      .describe('onnxruntime execution provider: cpu, webgpu or cuda.'),
    threads: z
      .int()
      .min(1)
      .max(1024)
      .optional()
      .describe('onnxruntime intra-op threads (default: one per core).'),
    backend: z
      .enum(POLICY_BACKENDS)
      .default('engine')
      .describe(
        'Where the policy generates, judges itself and scores: engine (in-process, the default) ' +
          'or openai (an OpenAI-compatible server such as vLLM or `pipeline serve`, which must ' +
          'serve the checkpoint at `path`; `path` stays the local copy the tokenizer and the train ' +
          'stage read).',
      ),
    base_url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        'backend: openai — the server, e.g. http://127.0.0.1:8000/v1. It must offer ' +
          '/v1/completions with token-id prompts, echo + logprobs, and (for LoRA rounds with ' +
          "adapters: vllm) vLLM's /v1/load_lora_adapter.",
      ),
    model: z
      .string()
      .min(1)
      .optional()
      .describe('backend: openai — the name the server serves the base model under.'),
    api_key_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name such as VLLM_API_KEY')
      .optional()
      .describe(
        'backend: openai — environment variable holding the API key (keys never go in pipeline files).',
      ),
    adapters: z
      .enum(SERVED_ADAPTERS)
      .optional()
      .describe(
        "backend: openai — vllm (default): each round's LoRA adapter is loaded into the server " +
          "with vLLM's runtime LoRA API under the round's name and used from then on (start vLLM " +
          'with --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True; the adapter folder must ' +
          'be readable by the server at the same path); none: the server cannot load adapters, so ' +
          'train stages must be full: true.',
      ),
    concurrency: posInt()
      .optional()
      .describe('backend: openai — requests in flight at once (default 8).'),
    timeout_s: z
      .number()
      .gt(0)
      .optional()
      .describe('backend: openai — seconds before a request is abandoned (default 600).'),
    allow_insecure_http: z
      .boolean()
      .optional()
      .describe(
        'backend: openai — send the API key over plain http:// to a host other than this machine.',
      ),
    restart_command: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'backend: openai — after a full fine-tune (train stage with full: true), the command (argv, ' +
          "no shell) that makes the server serve the round's checkpoint, with {path} (its folder) " +
          'and {name} (the name to serve it under, <run-id>-round-<r>) filled in; it must exit 0, ' +
          'then the run waits until the server lists {name}. Without it the run stops with the ' +
          'command to run by hand and resumes with --resume.',
      ),
    restart_timeout_s: z
      .number()
      .gt(0)
      .optional()
      .describe(
        'backend: openai — seconds to wait for a restarted server to list the checkpoint (default 900).',
      ),
    ...quantizeFields(),
  })
  .describe('The model being aligned.');

export const selfInstructSchema = z
  .strictObject({
    count: posInt()
      .default(8)
      .describe('New prompts the model writes for itself each round (self-instruct).'),
    rubric: filePath().describe(
      'Handlebars template asking the model for new prompts, relative to this file.',
    ),
    temperature: temperature()
      .default(1)
      .describe('Sampling temperature for writing new prompts (0 = greedy).'),
    max_new_tokens: posInt().default(256).describe('Token limit for each generated prompt.'),
  })
  .describe('Let the policy add prompts of its own each round.');

export const promptsSchema = z
  .strictObject({
    file: filePath().describe(
      'JSONL prompt set in TRL prompt format, relative to this file: one ' +
        '{"prompt": [{"role": "user", "content": "..."}]} or {"prompt": "..."} per line.',
    ),
    per_round: posInt()
      .optional()
      .describe('Prompts drawn from `file` each round (default: all of them).'),
    self_instruct: selfInstructSchema.optional(),
  })
  .describe('Where the prompts of each round come from.');

// ---------------------------------------------------------------------------------------------
// judges

const lengthRule = z
  .strictObject({
    kind: z.literal('length'),
    min: nonNegInt().optional().describe('Shortest acceptable answer.'),
    max: posInt().optional().describe('Longest acceptable answer.'),
    unit: z.enum(['chars', 'words']).default('chars').describe('What min and max count.'),
    weight: weight(),
  })
  .describe('Scores 1 when the answer length is within [min, max], else 0.');

const regexRule = z
  .strictObject({
    kind: z.literal('regex'),
    pattern: z.string().min(1).describe('JavaScript regular expression (without slashes).'),
    flags: z
      .string()
      .regex(/^[imsu]*$/, 'any of the flags i, m, s, u')
      .default('')
      .describe('Regular expression flags: any of i, m, s, u.'),
    must: z
      .boolean()
      .default(true)
      .describe('true: the answer must match the pattern; false: it must not.'),
    weight: weight(),
  })
  .describe('Scores 1 when the answer matches (must: true) or does not match (must: false).');

const jsonValidRule = z
  .strictObject({
    kind: z.literal('json_valid'),
    weight: weight(),
  })
  .describe('Scores 1 when the whole answer parses as JSON.');

const bannedPhrasesRule = z
  .strictObject({
    kind: z.literal('banned_phrases'),
    file: filePath().describe('Text file with one banned phrase per line, relative to this file.'),
    case_sensitive: z
      .boolean()
      .default(false)
      .describe('Match phrases with case (default: ignore case).'),
    weight: weight(),
  })
  .describe('Scores 1 when the answer contains none of the phrases.');

const sandboxRule = z
  .strictObject({
    kind: z.literal('sandbox'),
    weight: weight(),
  })
  .describe(
    "The sandbox world's exact grader (src/sandbox): the answer's ground-truth points / 5 for " +
      'its request; 0 for a request that is not a sandbox task.',
  );

export const ruleSchema = z
  .discriminatedUnion('kind', [
    lengthRule,
    regexRule,
    jsonValidRule,
    bannedPhrasesRule,
    sandboxRule,
  ])
  .describe('One programmatic check.');

const modelJudge = z
  .strictObject({
    kind: z.literal('model'),
    path: filePath().describe(
      "Judge model: 'builtin:tiny' or a Hugging Face model folder, relative to this file. " +
        'It stays frozen for the whole run.',
    ),
    adapter: filePath().optional().describe('PEFT LoRA adapter folder applied to the judge.'),
    device: z.enum(DEVICES).default('cpu').describe('onnxruntime execution provider.'),
    threads: z.int().min(1).max(1024).optional().describe('onnxruntime intra-op threads.'),
    ...quantizeFields(),
    concurrency: posInt().default(1).describe('Judge requests in flight at once.'),
  })
  .describe('Another local model, frozen.');

const openaiJudge = z
  .strictObject({
    kind: z.literal('openai'),
    base_url: z
      .url({ protocol: /^https?$/ })
      .describe(
        'OpenAI-compatible server (vLLM, llama.cpp, Ollama, TGI), e.g. http://127.0.0.1:8000/v1.',
      ),
    model: z.string().min(1).describe('Model name the server expects.'),
    api_key_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name such as OPENAI_API_KEY')
      .optional()
      .describe('Environment variable holding the API key (keys never go in pipeline files).'),
    concurrency: posInt().default(8).describe('Requests in flight at once.'),
    timeout_s: z.number().gt(0).default(120).describe('Seconds before a request is abandoned.'),
    allow_insecure_http: z
      .boolean()
      .default(false)
      .describe(
        'Send the API key over plain http:// to a host other than this machine (the run warns).',
      ),
  })
  .describe('A model behind an OpenAI chat-completions server.');

const ruleJudge = z
  .strictObject({
    kind: z.literal('rule'),
    rules: z.array(ruleSchema).min(1).describe('Checks whose weighted mean is the score.'),
  })
  .describe('A programmatic judge: no model, deterministic.');

const rewardModelJudge = z
  .strictObject({
    kind: z.literal('reward_model'),
    path: filePath()
      .optional()
      .describe(
        'A reward model folder: a one-label …ForSequenceClassification checkpoint (from ' +
          '`pipeline train-rm` or transformers), relative to this file. Its score is sigmoid(r).',
      ),
    trained: z
      .boolean()
      .optional()
      .describe(
        "true: the reward model the round's reward_model stage trained (instead of a path).",
      ),
    device: z.enum(DEVICES).default('cpu').describe('onnxruntime execution provider.'),
    threads: z.int().min(1).max(1024).optional().describe('onnxruntime intra-op threads.'),
    batch_size: posInt().default(8).describe('Answers scored per forward pass.'),
  })
  .describe('A trained reward model (Bradley-Terry): rewards rl stages.');

export const judgeSchema = z
  .discriminatedUnion('kind', [modelJudge, openaiJudge, ruleJudge, rewardModelJudge])
  .describe('A named judge.');

// ---------------------------------------------------------------------------------------------
// stages

const maxNewTokens = (what: string) =>
  posInt().default(256).describe(`Token limit for each ${what}.`);

const generateStage = z
  .strictObject({
    kind: z.literal('generate'),
    candidates: posInt().default(4).describe('Candidate answers per prompt (N).'),
    temperature: temperature()
      .default(0.7)
      .describe('Sampling temperature (0 = greedy, as in vLLM).'),
    top_p: z.number().gt(0).max(1).default(0.9).describe('Nucleus sampling mass; 1 disables it.'),
    top_k: nonNegInt().default(0).describe('Keep the k most likely tokens; 0 disables it.'),
    max_new_tokens: maxNewTokens('candidate'),
    stop: z
      .array(z.string().min(1))
      .optional()
      .describe('Strings that end a candidate (not included in it).'),
  })
  .describe('Sample N candidate answers per prompt from the current policy.');

const critiqueStage = z
  .strictObject({
    kind: z.literal('critique'),
    constitution: filePath().describe(
      'Constitution (principles, Markdown or text), relative to this file.',
    ),
    critique_rubric: filePath().describe(
      'Handlebars template asking for a critique of an answer against a principle.',
    ),
    revision_rubric: filePath().describe(
      'Handlebars template asking for a revision that addresses the critique.',
    ),
    temperature: temperature().default(0.7).describe('Sampling temperature (0 = greedy).'),
    max_new_tokens: maxNewTokens('critique and revision'),
  })
  .describe(
    'Constitutional AI: critique each candidate against a sampled principle and revise it; ' +
      'the revision becomes a candidate.',
  );

/** Meta-Rewarding's meta-judge (Wu et al. 2024, arXiv 2407.19594), inside a judge stage. */
export const metaJudgeSchema = z
  .strictObject({
    rubric: filePath().describe(
      'Meta-rubric: a Handlebars template of mode meta-judge (answer_format: ab-choice) that shows ' +
        'two judgements of one answer (judge_prompt, judgement_a, judgement_b), relative to this file.',
    ),
    responses: z
      .enum(META_JUDGE_RESPONSES)
      .default('max-variance')
      .describe(
        "Which answers' judgements the meta-judge compares: max-variance, per prompt the answer " +
          'whose K judgement scores vary most (the paper); all, every answer whose scores differ.',
      ),
    battles: z
      .enum(META_JUDGE_BATTLES)
      .default('position-weighted')
      .describe(
        "How the two orders of a battle become Elo games: position-weighted, the paper's " +
          '(each verdict weighted by how rarely its slot wins); mean-probability, P(A) averaged ' +
          'over both orders (for a meta-judge that favours one slot so much that hard verdicts tie).',
      ),
    max_battles: posInt()
      .optional()
      .describe(
        'Judgement pairs compared per answer, each in both orders (default: all K(K-1)/2).',
      ),
    length_control: z
      .boolean()
      .default(true)
      .describe(
        'Judge length control: keep out of training a judge pair whose chosen judgement is ' +
          'longer than its rejected one (stored with dropped: length).',
      ),
    max_pairs: posInt()
      .optional()
      .describe('Judge-role pairs trained on per round, the widest Elo gaps first (default: all).'),
  })
  .describe(
    'Meta-Rewarding: the policy, as meta-judge, compares pairs of its own K judgements of an ' +
      'answer in both orders; Elo over the battles picks a chosen and a rejected judgement, a ' +
      '"judge-role" preference pair the train stage adds to the round\'s actor pairs.',
  );

const judgeStage = z
  .strictObject({
    kind: z.literal('judge'),
    judge: z
      .string()
      .min(1)
      .optional()
      .describe(`Shorthand for judges: [name]. '${SELF_JUDGE}' is the current policy.`),
    judges: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        `Judge names from \`judges\`, or '${SELF_JUDGE}' (the current policy). Default: [${SELF_JUDGE}].`,
      ),
    rubric: filePath().describe('Handlebars judge prompt, relative to this file.'),
    constitution: filePath()
      .optional()
      .describe('Constitution rendered into the rubric, relative to this file.'),
    mode: z
      .enum(JUDGE_MODES)
      .default('generate')
      .describe(
        'generate: sample and parse "Score: n"; logprobs: expected score from one prefill; ' +
          'pairwise: (A)/(B) preference in both orders.',
      ),
    samples: posInt()
      .default(3)
      .describe('Judgements per candidate in generate mode (K), combined by `combine`.'),
    temperature: temperature().default(0.7).describe('Judge sampling temperature (0 = greedy).'),
    max_new_tokens: maxNewTokens('judgement'),
    combine: z
      .enum(JUDGE_COMBINES)
      .default('mean')
      .describe(
        'How the K samples (and several judges) become one score. Judges are first put on one ' +
          '0-1 scale by their range (the rubric scale; rules and pairwise win shares are 0-1).',
      ),
    weights: z
      .record(z.string(), z.number().gt(0))
      .optional()
      .describe(
        'Weight of each judge in the combined score (judge name -> weight > 0; default 1 each): ' +
          "the weighted mean of the judges' 0-1 scores.",
      ),
    meta_judge: metaJudgeSchema.optional(),
  })
  .transform(({ judge, judges, ...rest }, ctx) => {
    if (judge !== undefined && judges !== undefined)
      ctx.issues.push({
        code: 'custom',
        message:
          "both 'judge' and 'judges' are given (expected judge: <name> or judges: [<names>], not both)",
        input: judge,
        path: ['judge'],
      });
    return { ...rest, judges: judges ?? (judge !== undefined ? [judge] : [SELF_JUDGE]) };
  })
  .describe('Rate every candidate against a rubric (and constitution) with one or more judges.');

const pairStage = z
  .strictObject({
    kind: z.literal('pair'),
    strategy: z
      .enum(PAIR_STRATEGIES)
      .default('max-min')
      .describe(
        'max-min: best vs worst; max-random: best vs a random lower one; ' +
          'all-pairs-above-margin: every pair whose score gap is at least min_margin; ' +
          'revision: each critique-stage revision (chosen) against its original (rejected), ' +
          'no judge needed; label: no pairs, each candidate marked desirable or undesirable by ' +
          'desirable_threshold / undesirable_threshold (unpaired rows for a train stage with loss: kto).',
      ),
    min_margin: z
      .number()
      .min(0)
      .default(0.1)
      .describe(
        "Smallest gap of the combined score (the judges' common 0-1 scale) that makes a pair; " +
          'ties are always dropped.',
      ),
    length_control: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe(
        'Meta-Rewarding length control rho: among candidates scoring within rho of the best ' +
          '(as a fraction of the score range), choose the shortest. 0 disables it.',
      ),
    soft_labels: z
      .boolean()
      .default(false)
      .describe(
        'Keep the judge preference probability as a soft label on each pair: ' +
          'p = sigmoid((chosen score - rejected score) / soft_label_temperature).',
      ),
    soft_label_temperature: z
      .number()
      .gt(0)
      .default(0.1)
      .describe(
        'Temperature of the score-gap sigmoid that makes soft labels, on the 0-1 scale: a gap ' +
          'of one temperature gives p = 0.73, three give 0.95.',
      ),
    // No defaults: the parsed spec of every other strategy (hashed into its pairs) stays as it was.
    desirable_threshold: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        'strategy label: a candidate whose combined score (0-1 scale) is at least this is ' +
          'desirable (KTO label true).',
      ),
    undesirable_threshold: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        'strategy label: a candidate whose combined score is at most this is undesirable (KTO ' +
          'label false); scores strictly between the two thresholds are dropped and counted, ' +
          'as are prompts whose candidates all tie and unscored candidates.',
      ),
  })
  .describe(
    'Turn judged candidates into chosen/rejected preference pairs (or, with strategy label, ' +
      'into desirable/undesirable labels for KTO).',
  );

/**
 * TRL's `loss_type` values this project trains: the DPO family on pairs (`sft` is TRL's name for
 * the NLL term on chosen answers when combined with a preference loss), and `kto` alone on the
 * unpaired rows of a pair stage with `strategy: label`.
 */
const lossName = z.enum(LOSS_TYPES);

export const loraSchema = z
  .strictObject({
    r: posInt().default(16).describe('LoRA rank.'),
    alpha: z.number().gt(0).default(32).describe('LoRA scaling numerator (PEFT lora_alpha).'),
    dropout: z
      .number()
      .min(0)
      .lt(1)
      .default(0)
      .describe('Dropout on the LoRA input (PEFT lora_dropout).'),
    target_modules: z
      .array(z.string().min(1))
      .min(1)
      .default(['q_proj', 'k_proj', 'v_proj', 'o_proj'])
      .describe('Linear layers that get adapters, by module name.'),
  })
  .describe('LoRA adapter settings (PEFT names).');

/**
 * What every training stage sets the same way (train, rl): schedule, clipping, AdamW, memory, and
 * what trains (LoRA or every weight). TRL TrainingArguments names.
 */
const optimizerFields = {
  lr_scheduler_type: z
    .enum(LR_SCHEDULERS)
    .default('linear')
    .describe('Learning-rate schedule after warmup.'),
  warmup_steps: nonNegInt().default(0).describe('Linear warmup steps.'),
  gradient_checkpointing: z
    .boolean()
    .default(false)
    .describe(
      'Recompute each layer in the backward pass instead of storing its activations ' +
        '(transformers gradient_checkpointing): about half the memory of a full fine-tune, one more forward pass of time.',
    ),
  max_grad_norm: z
    .number()
    .min(0)
    .default(1)
    .describe('Gradient clipping norm; 0 disables clipping.'),
  weight_decay: z.number().min(0).default(0).describe('AdamW decoupled weight decay.'),
  adam_beta1: z.number().min(0).lt(1).default(0.9).describe('AdamW beta1.'),
  adam_beta2: z.number().min(0).lt(1).default(0.999).describe('AdamW beta2.'),
  adam_epsilon: z.number().gt(0).default(1e-8).describe('AdamW epsilon.'),
  full: z.boolean().default(false).describe('Fine-tune every weight instead of a LoRA adapter.'),
  lora: loraSchema.prefault({}),
};

/** Who trains a train stage: the in-process engine, or TRL in Python (src/stages/train-trl/). */
export const TRAIN_BACKENDS = ['engine', 'trl'] as const;

/**
 * How the TRL backend runs: the Python that has TRL, the launcher in front of the script, and
 * DPOConfig options beyond the ones the train stage already names.
 */
const trlSchema = z
  .strictObject({
    python: z
      .string()
      .min(1)
      .default('python3')
      .describe(
        'Python with torch, transformers, trl and peft (requirements-trl.txt): a path relative to ' +
          'the pipeline file, or a command on PATH.',
      ),
    launch: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        "Command prefix that runs the training script, in the pipeline file's folder, e.g. " +
          '[accelerate, launch, --config_file, acc.yaml] (accelerate, DeepSpeed and FSDP configs ' +
          'work unchanged); default: python runs it directly.',
      ),
    dtype: z
      .enum(['float32', 'bfloat16', 'float16'])
      .default('float32')
      .describe('torch dtype the model is loaded in (transformers from_pretrained dtype).'),
    precompute_ref_log_probs: z
      .boolean()
      .default(true)
      .describe(
        'TRL precompute_ref_log_probs: score the reference once before training (as the ' +
          'in-process trainer does) instead of at every step.',
      ),
    args: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        'More DPOConfig / TrainingArguments options by their TRL names, passed as they are ' +
          '(e.g. bf16: true, gradient_checkpointing_kwargs, deepspeed); they win over the ones ' +
          'this stage derives.',
      ),
  })
  .describe('The TRL trainer backend (backend: trl): its Python, launcher and extra options.');

/** The TRL settings of a `backend: trl` stage that gives none. */
export const TRL_DEFAULTS = trlSchema.parse({});

const trainStage = z
  .strictObject({
    kind: z.literal('train'),
    loss: z
      .union([lossName, z.array(lossName).min(1)])
      .default('sigmoid')
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .describe(
        'TRL loss_type: one name (sigmoid = DPO) or a list combined with loss_weights, e.g. ' +
          "[sigmoid, sft]; kto alone trains KTO on the round's labels (a pair stage with strategy label).",
      ),
    loss_weights: z
      .array(z.number().min(0))
      .min(1)
      .optional()
      .describe('One weight per entry of loss (default: all 1).'),
    beta: z.number().gt(0).default(0.1).describe('DPO beta: strength of the KL penalty.'),
    label_smoothing: z
      .number()
      .min(0)
      .lt(0.5)
      .default(0)
      .describe('Conservative DPO / robust loss: assumed probability that a label is flipped.'),
    soft_labels: z
      .boolean()
      .default(false)
      .describe(
        "Train the sigmoid (DPO) loss on each pair's soft label p (the pair stage's soft_labels): " +
          'conservative DPO with a per-pair epsilon = 1 - p. Pairs without one use label_smoothing.',
      ),
    human_labels: z
      .enum(HUMAN_LABEL_USES)
      .default('ignore')
      .describe(
        "override: audited pairs train on the human's verdict (`pipeline audit`): a pair the " +
          'annotator preferred the other way is trained swapped, a tie is dropped (soft label 1 ' +
          "where kept); ignore: the judge's pairs as they are (labels still count in agreement).",
      ),
    // No defaults: the parsed spec of the pair-trained stages stays as it was.
    desirable_weight: z
      .number()
      .gt(0)
      .optional()
      .describe("KTO (TRL desirable_weight): weight of the desirable rows' losses (default 1)."),
    undesirable_weight: z
      .number()
      .gt(0)
      .optional()
      .describe(
        "KTO (TRL undesirable_weight): weight of the undesirable rows' losses (default 1).",
      ),
    simpo_gamma: z
      .number()
      .min(0)
      .default(0.5)
      .describe('SimPO target reward margin (simpo loss).'),
    learning_rate: z.number().gt(0).default(5e-6).describe('Peak learning rate (AdamW).'),
    epochs: z
      .number()
      .gt(0)
      .default(1)
      .describe("Passes over the round's pairs (TRL num_train_epochs)."),
    max_steps: posInt()
      .optional()
      .describe('Optimizer steps per round; when set it overrides epochs, as in TRL.'),
    batch_size: posInt()
      .default(8)
      .describe('Pairs per micro-batch (TRL per_device_train_batch_size).'),
    gradient_accumulation_steps: posInt().default(1).describe('Micro-batches per optimizer step.'),
    max_length: posInt().default(512).describe('Prompt + answer tokens kept per sequence.'),
    ...optimizerFields,
    merge: z
      .boolean()
      .default(false)
      .describe('Also write merged safetensors (base + adapter) after each round.'),
    // No defaults: the parsed spec of in-process train stages stays as it was.
    backend: z
      .enum(TRAIN_BACKENDS)
      .optional()
      .describe(
        'Who trains: engine (in-process, the default) or trl (TRL DPOTrainer in Python through ' +
          'trl.launch; the same pairs, options, metrics and output layout).',
      ),
    trl: trlSchema
      .optional()
      .describe(
        'Settings of backend: trl (python, launch, dtype, precompute_ref_log_probs, args).',
      ),
  })
  .describe(
    'Retrain the policy on the pairs with a DPO-family loss (or on the labels with KTO); gives M_{t+1}.',
  );

/**
 * Online RL (GRPO, RLOO, REINFORCE++) on the round's prompts: sample a group of completions per
 * prompt from the policy as it trains, reward them with the pipeline's judges, update. TRL
 * GRPOConfig names where TRL has them.
 */
/**
 * PPO's own settings (TRL PPOConfig names), only for algorithm: ppo; unset, TRL's defaults apply
 * (stages/rl/job.ts PPO_DEFAULTS).
 */
const ppoFields = {
  kl_coef: z
    .number()
    .min(0)
    .optional()
    .describe(
      'ppo: coefficient of the per-token KL penalty in the reward (TRL kl_coef, default 0.05).',
    ),
  kl_estimator: z
    .enum(['k1', 'k3'])
    .optional()
    .describe('ppo: estimator of that KL (TRL kl_estimator, default k1).'),
  cliprange: z
    .number()
    .gt(0)
    .lt(1)
    .optional()
    .describe('ppo: clip range of the policy ratio (TRL cliprange, default 0.2).'),
  cliprange_value: z
    .number()
    .gt(0)
    .optional()
    .describe(
      "ppo: how far the value head's prediction may move from its sampling-time value before " +
        'the loss clips it (TRL cliprange_value, default 0.2).',
    ),
  vf_coef: z
    .number()
    .min(0)
    .optional()
    .describe('ppo: weight of the value loss (TRL vf_coef, default 0.1).'),
  gamma: z.number().min(0).max(1).optional().describe('ppo: discount (TRL gamma, default 1.0).'),
  lam: z.number().min(0).max(1).optional().describe('ppo: GAE lambda (TRL lam, default 0.95).'),
  whiten_rewards: z
    .boolean()
    .optional()
    .describe(
      'ppo: whiten the KL-shaped rewards over the batch before GAE (TRL whiten_rewards, default false).',
    ),
  num_ppo_epochs: posInt()
    .optional()
    .describe('ppo: optimizer steps per generation batch (TRL num_ppo_epochs, default 4).'),
};

/** The ppo-only fields of an rl stage. */
export const PPO_FIELDS = Object.keys(ppoFields) as (keyof typeof ppoFields)[];

export const rlStageSchema = z
  .strictObject({
    kind: z.literal('rl'),
    algorithm: z
      .enum(RL_ALGORITHMS)
      .default('grpo')
      .describe(
        'grpo: group-relative advantages (DeepSeekMath); rloo: leave-one-out baseline ' +
          '(Ahmadian et al. 2024); reinforce_pp: REINFORCE++ (token-level KL in the reward, ' +
          'advantages normalised over the batch, Hu 2025); reinforce_pp_baseline: the same after ' +
          "subtracting the group's mean reward (OpenRLHF reinforce_baseline); ppo: PPO with a value " +
          'head on the policy, GAE and a per-token KL penalty in the reward (TRL PPOTrainer, ' +
          'InstructGPT), its settings the ppo-only fields below.',
      ),
    reward_judges: z
      .array(z.string().regex(JUDGE_NAME_PATTERN, JUDGE_NAME_RULE))
      .min(1)
      .describe(
        'Judges (names under judges:) whose 0-1 scores are the reward; rule judges are ' +
          'verifiable rewards. Several are combined with reward_weights.',
      ),
    reward_weights: z
      .array(z.number())
      .min(1)
      .optional()
      .describe(
        'One weight per reward judge (TRL reward_weights; default all 1): reward = sum of weight x score.',
      ),
    num_generations: z
      .int()
      .min(1)
      .default(8)
      .describe(
        'Completions sampled per prompt: the group advantages are relative to (TRL num_generations; ' +
          'at least 2 except for ppo, whose critic is the baseline).',
      ),
    prompts_per_step: posInt()
      .default(4)
      .describe("Prompts per generation batch, drawn from the round's prompts in a seeded order."),
    steps: posInt()
      .default(16)
      .describe('Generation batches per round; each gives num_iterations optimizer steps.'),
    num_iterations: posInt()
      .default(1)
      .describe(
        'Optimizer steps per generation batch (TRL num_iterations; above 1 the clip matters).',
      ),
    beta: z
      .number()
      .min(0)
      .default(0)
      .describe(
        'KL coefficient to the reference (k3 estimator in the loss; for reinforce_pp the token ' +
          'KL penalty in the reward). 0 (TRL default) skips the reference pass.',
      ),
    use_bias_correction_kl: z
      .boolean()
      .default(true)
      .describe(
        'Weight the k3 KL term by the importance ratio (TRL use_bias_correction_kl, default true).',
      ),
    epsilon: z.number().gt(0).lt(1).default(0.2).describe('Lower clip range (TRL epsilon).'),
    epsilon_high: z
      .number()
      .gt(0)
      .optional()
      .describe(
        "Upper clip range (TRL epsilon_high; DAPO's clip-higher uses 0.28). Default: epsilon.",
      ),
    loss_type: z
      .enum(PG_LOSS_TYPES)
      .default('dapo')
      .describe(
        'How token losses aggregate (TRL loss_type): grpo per-sequence means, bnpo token mean ' +
          'of the micro-batch, dr_grpo divided by max_completion_length, dapo token mean of the step.',
      ),
    scale_rewards: z
      .enum(SCALE_REWARDS)
      .default('group')
      .describe(
        'GRPO advantage scaling (TRL scale_rewards): by the group std, the batch std, or none (Dr. GRPO).',
      ),
    mask_truncated_completions: z
      .boolean()
      .default(false)
      .describe('Completions cut at max_completion_length get no loss (TRL, DAPO).'),
    importance_sampling_level: z
      .enum(['token', 'sequence'])
      .default('token')
      .describe(
        'token: per-token ratios (GRPO); sequence: one length-normalised ratio per completion (GSPO).',
      ),
    ...ppoFields,
    temperature: z
      .number()
      .gt(0)
      .default(1)
      .describe('Sampling temperature; log-probs are taken at the same temperature (TRL).'),
    top_p: z.number().gt(0).max(1).default(1).describe('Nucleus sampling.'),
    top_k: nonNegInt().default(0).describe('Top-k sampling (0: off).'),
    max_completion_length: posInt()
      .default(256)
      .describe('New tokens per completion (TRL max_completion_length).'),
    batch_size: posInt()
      .default(8)
      .describe(
        'Completions per micro-batch (TRL per_device_train_batch_size); a generation batch accumulates over them.',
      ),
    ...optimizerFields,
    learning_rate: z
      .number()
      .gt(0)
      .default(1e-6)
      .describe('Peak learning rate (AdamW; TRL GRPO default 1e-6).'),
  })
  .describe(
    "Online RL on the round's prompts with judge rewards (GRPO / RLOO / REINFORCE++ / PPO); gives M_{t+1}.",
  );

/**
 * A Bradley-Terry reward model trained on the round's preference pairs (TRL RewardTrainer), for
 * the judges with `trained: true` (an rl stage's rewards: RLHF). Held-out pairs measure it.
 */
const rewardModelStage = z
  .strictObject({
    kind: z.literal('reward_model'),
    model: filePath()
      .optional()
      .describe(
        "Base of the reward model (a causal LM gets a new score head): default the run's model.",
      ),
    held_out: z
      .number()
      .min(0)
      .lt(1)
      .default(0.2)
      .describe("Share of the round's pairs kept out of training to measure the model's accuracy."),
    center_rewards_coefficient: z
      .number()
      .min(0)
      .optional()
      .describe(
        'TRL center_rewards_coefficient: pulls the mean reward towards 0 (TRL suggests 0.01).',
      ),
    epochs: z.number().gt(0).default(3).describe("Passes over the round's pairs (TRL default 3)."),
    max_steps: posInt().optional().describe('Optimizer steps; overrides epochs.'),
    batch_size: posInt().default(8).describe('Pairs per micro-batch.'),
    gradient_accumulation_steps: posInt().default(1).describe('Micro-batches per optimizer step.'),
    max_length: posInt()
      .default(1024)
      .describe('Pairs with a longer side are dropped (TRL filters, it does not cut).'),
    ...optimizerFields,
    learning_rate: z
      .number()
      .gt(0)
      .default(1e-4)
      .describe('Peak learning rate (AdamW; TRL RewardConfig default 1e-4).'),
  })
  .describe(
    "Train a reward model on the round's pairs (for reward_model judges with trained: true).",
  );

export const gateSchema = z
  .strictObject({
    metric: z
      .enum(EVAL_METRICS)
      .describe(
        'Metric the evaluate stage computed. Some need a setting: refusal_rate and ' +
          'boilerplate_rate a phrase file; the judge_* agreement metrics a self-judging, pairwise ' +
          'or several-judge judge stage; true_score and the accuracies ground_truth: sandbox; ' +
          'audit_complete and judge_human_* an audit stage. A gate on a metric its stage cannot ' +
          'compute is refused when the file is checked.',
      ),
    op: z.enum(GATE_OPS).describe('Comparison that triggers the gate: metric <op> value.'),
    value: z.number().describe('Threshold.'),
    action: z
      .enum(GATE_ACTIONS)
      .default('stop')
      .describe(
        'stop: end the run after this stage, stored as stopped, exit code 3, not resumable; ' +
          'warn: report and go on.',
      ),
    from_round: nonNegInt()
      .default(1)
      .describe(
        'First round the gate is checked at (default 1: round 0 is the untrained model, whose ' +
          'baseline should not stop a run; 0 checks the baseline too).',
      ),
  })
  .describe('Stop (or warn) when `metric op value` holds.');

const evaluateStage = z
  .strictObject({
    kind: z.literal('evaluate'),
    probes: filePath().describe(
      'JSONL probe prompts in TRL prompt format (optional "reference" answers for the log-prob ' +
        'shift), fixed for the whole run, relative to this file.',
    ),
    judge: z
      .string()
      .min(1)
      .describe(`Judge name from \`judges\` (a frozen anchor judge), or '${SELF_JUDGE}'.`),
    rubric: filePath()
      .optional()
      .describe('Handlebars judge prompt (default: the rubric of the last judge stage).'),
    temperature: temperature()
      .default(0)
      .describe('Sampling temperature for probe answers (default greedy, for comparability).'),
    max_new_tokens: maxNewTokens('probe answer'),
    refusal_phrases: filePath()
      .optional()
      .describe('Text file of refusal phrases, one per line, for the refusal rate.'),
    boilerplate_phrases: filePath()
      .optional()
      .describe('Text file of boilerplate phrases, one per line, for the boilerplate rate.'),
    ground_truth: z
      .enum(['sandbox'])
      .optional()
      .describe(
        "'sandbox': probes are sandbox tasks with exact graders; adds true_score (grader), " +
          'reward_gap (judged gain minus true gain since round 0), judge_accuracy (the policy ' +
          "as judge, with this stage's or the last judge stage's rubric, ordering answers of a " +
          'fixed calibration set as the grader does), and from round 1 candidate_judge_accuracy ' +
          "(the round's judge stage ordering the round's own candidates as the grader does) and " +
          "pair_accuracy (share of the round's training pairs the grader agrees with).",
      ),
    gates: z.array(gateSchema).optional().describe('Checks that can stop the run.'),
  })
  .describe('Measure the new policy on fixed probes: scores, length, win rate, KL, refusals.');

const auditStage = z
  .strictObject({
    kind: z.literal('audit'),
    sample: posInt()
      .default(8)
      .describe(
        "Pairs drawn from the round's pairs into the human audit queue (fewer when the round " +
          'has fewer). Label them with `pipeline audit <run-id>`.',
      ),
    strata: z
      .array(z.enum(AUDIT_STRATA))
      .default([...AUDIT_STRATA])
      .describe(
        'What the draw is stratified by: margin (low / mid / high third of the round), judges ' +
          '(some judge, sample or order preferred the rejected answer, or not) and principle ' +
          "(the constitution principle the pair's judgement used). Strata are visited in turn, " +
          'so rare ones (disagreements) are not crowded out by common ones.',
      ),
    require_complete: z
      .boolean()
      .default(false)
      .describe(
        'Wait for the audit: while a drawn pair of the round has no label, the run stops before ' +
          'the next stage (exit code 4) and resumes with `pipeline run <file> --resume <run-id>` ' +
          'once `pipeline audit` has them all.',
      ),
  })
  .describe("Draw a stratified sample of the round's pairs into the human audit queue.");

export const stageSchema = z
  .discriminatedUnion('kind', [
    generateStage,
    critiqueStage,
    judgeStage,
    pairStage,
    auditStage,
    trainStage,
    rewardModelStage,
    rlStageSchema,
    evaluateStage,
  ])
  .describe('One step of a round, selected by kind.');

// ---------------------------------------------------------------------------------------------
// the file

export const pipelineSchema = z
  .strictObject({
    name: z
      .string()
      .regex(
        PIPELINE_NAME_PATTERN,
        "letters, digits, '_', '.' or '-', starting with a letter or digit",
      )
      .describe('Run name (letters, digits, _ . -); runs are stored under it.'),
    description: z.string().optional().describe('Free text for people reading the file.'),
    seed: nonNegInt().default(0).describe('Seed for sampling, shuffling and LoRA init.'),
    model: modelSchema,
    rounds: z.int().min(1).max(1000).default(1).describe('Rounds of the loop (M_0 -> M_rounds).'),
    reference: z
      .enum(REFERENCES)
      .default('round-start')
      .describe('DPO reference model: the policy at the start of each round, or M_0 throughout.'),
    prompts: promptsSchema,
    judges: z
      .record(z.string().regex(JUDGE_NAME_PATTERN, JUDGE_NAME_RULE), judgeSchema)
      .default({})
      .describe(`Named judges for judge and evaluate stages; '${SELF_JUDGE}' is built in.`),
    stages: z
      .array(stageSchema)
      .min(1)
      .describe('The stages of one round, run in order every round.'),
  })
  .describe('A self-rewarding / constitutional-AI pipeline (rlaif-pipeline).');

export type PipelineSpec = z.output<typeof pipelineSchema>;
/** What a researcher writes (defaults not yet applied). */
export type PipelineInput = z.input<typeof pipelineSchema>;
export type ModelSpec = z.output<typeof modelSchema>;
export type PromptsSpec = z.output<typeof promptsSchema>;
export type JudgeSpec = z.output<typeof judgeSchema>;
export type RuleSpec = z.output<typeof ruleSchema>;
export type StageSpec = z.output<typeof stageSchema>;
export type GenerateStageSpec = Extract<StageSpec, { kind: 'generate' }>;
export type CritiqueStageSpec = Extract<StageSpec, { kind: 'critique' }>;
export type JudgeStageSpec = Extract<StageSpec, { kind: 'judge' }>;
export type MetaJudgeSpec = z.output<typeof metaJudgeSchema>;
export type PairStageSpec = Extract<StageSpec, { kind: 'pair' }>;
export type TrainStageSpec = Extract<StageSpec, { kind: 'train' }>;
export type RlStageSpec = Extract<StageSpec, { kind: 'rl' }>;
export type RewardModelStageSpec = Extract<StageSpec, { kind: 'reward_model' }>;
export type AuditStageSpec = Extract<StageSpec, { kind: 'audit' }>;
export type EvaluateStageSpec = Extract<StageSpec, { kind: 'evaluate' }>;
export type LoraSpec = z.output<typeof loraSchema>;
export type TrlSpec = z.output<typeof trlSchema>;
export type GateSpec = z.output<typeof gateSchema>;

// Each list of kinds must name exactly the members of its union: the stage kinds because the
// events and the UI name stages by that list, the judge and rule kinds for whoever lists them.
// Adding a schema without its kind, or the reverse, fails to compile.
type SameKinds<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
type _StageKindsMatch = Assert<SameKinds<StageSpec['kind'], StageKind>>;
type _JudgeKindsMatch = Assert<SameKinds<JudgeSpec['kind'], (typeof JUDGE_KINDS)[number]>>;
type _RuleKindsMatch = Assert<SameKinds<RuleSpec['kind'], (typeof RULE_KINDS)[number]>>;

/**
 * The JSON Schema of a pipeline file, for editor completion (e.g. yaml-language-server's
 * `# yaml-language-server: $schema=...`). It describes the input side: fields with defaults are
 * optional and the `judge:` shorthand is allowed. Draft-07 because that is the version YAML
 * editors support most completely.
 */
export function pipelineJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(pipelineSchema, { target: 'draft-07', io: 'input' }) as Record<
    string,
    unknown
  >;
}
