// npm run bench:rl — one GRPO step, our engine vs TRL's GRPOTrainer on PyTorch CPU, in one run:
// same SmolLM2-135M-shaped checkpoint, same thread count (BENCH_THREADS, default 2), the same
// step: 8 prompts of 64 token ids x 4 completions each = 32 completions of exactly 128 tokens,
// generation included, then the step over them as TRL 1.13's defaults make it (beta 0, so no
// reference model; loss dapo, epsilon 0.2, num_iterations 1, scale_rewards group, temperature 1,
// learning rate 1e-6, max_grad_norm 1, AdamW; micro-batches of 8 completions, TRL's
// per_device_train_batch_size, accumulated over 4). Modes: LoRA (r 16, alpha 32 on
// q,k,v,o,gate,up,down) and full fine-tuning, each optionally with gradient checkpointing on both
// sides (lora-gc, full-gc: GRPOConfig's own default is gradient_checkpointing=True, bench-train's
// modes are without). Each mode of each side runs in its own process, so peak memory is per mode.
//
// Reported per side: the whole step, generation (our RlSession.generate; TRL's _generate) and
// training (everything after generation: rewards, the log-prob passes, loss/backward/optimizer),
// and the ratios ours/TRL.
//
// Environment: BENCH_THREADS (2), BENCH_REPEATS (timed steps, 2), BENCH_WARMUP (untimed steps, 1),
// BENCH_MODES (lora,full; also lora-gc, full-gc), BENCH_PYTHON (python3: it needs torch,
// transformers, trl and peft).
import { DEFAULT_LORA_TARGETS, Engine, type RlJob } from '../src/engine/index.js';
import { ensureBenchCheckpoint, SMOLLM2_135M_SHAPES } from './bench-checkpoint.js';
import { runTrlGrpoBaseline, type TrlGrpoNumbers } from './trl-grpo-baseline.js';
import { gb, load, minstdIds, resetHwm, spawnChild, statusBytes } from './bench-child.js';

type Mode = 'lora' | 'full' | 'lora-gc' | 'full-gc';
const MODES: readonly Mode[] = ['lora', 'full', 'lora-gc', 'full-gc'];

const threads = Number(process.env.BENCH_THREADS ?? 2);
const repeats = Number(process.env.BENCH_REPEATS ?? 2);
const warmups = Number(process.env.BENCH_WARMUP ?? 1);
const modes = (process.env.BENCH_MODES ?? 'lora,full')
  .split(',')
  .map((m) => m.trim())
  .filter((m): m is Mode => (MODES as readonly string[]).includes(m));
const PROMPTS = 8;
const GROUP = 4;
const PROMPT_LEN = 64;
const COMPLETION_LEN = 128;
const BATCH = 8;
const SEED = 0;
const LORA = { r: 16, alpha: 32, targets: DEFAULT_LORA_TARGETS };

/** What a child process (one mode of our engine) reports. */
interface OursNumbers {
  mode: Mode;
  step_ms: number;
  generation_ms: number;
  training_ms: number;
  step_ms_all: number[];
  generation_ms_all: number[];
  /** CPU seconds (user + system, all threads) of each timed step. */
  step_cpu_s_all: number[];
  warmup_ms: number | null;
  /** Engine.rl: worker, models, trainer graph and sessions. */
  setup_ms: number;
  losses: number[];
  grad_norms: number[];
  rewards: number[];
  completion_lengths: [number, number];
  /** VmHWM of the whole child process. */
  peak_rss_bytes: number;
  /** VmHWM over the timed steps alone (null where /proc/self/clear_refs could not reset it). */
  steps_peak_rss_bytes: number | null;
}

// ---- the shared prompts and reward (scripts/bench/trl_grpo_step.py has the same) ----------------

function benchPrompts(vocab: number): number[][] {
  const flat = minstdIds(SEED, PROMPTS * PROMPT_LEN, vocab);
  return [...Array(PROMPTS).keys()].map((p) => flat.slice(p * PROMPT_LEN, (p + 1) * PROMPT_LEN));
}

/** Cheap, deterministic and different across a group's completions, so advantages are not zero. */
const rewardOfIds = (ids: number[]) =>
  ids.length ? ids.reduce((a, id) => a + (id % 7) / 6, 0) / ids.length : 0;

// ---- memory -------------------------------------------------------------------------------------

// ---- our side: one mode per child process, through the engine API the rl stage uses -------------

async function runOurs(dir: string, mode: Mode): Promise<OursNumbers> {
  const t0 = performance.now();
  const rows = PROMPTS * GROUP;
  const job: RlJob = {
    model: dir,
    full: mode.startsWith('full'),
    lora: LORA,
    algorithm: 'grpo',
    loss: {
      lossType: 'dapo',
      beta: 0,
      epsilon: 0.2,
      epsilonHigh: 0.2,
      importanceSamplingLevel: 'token',
      useBiasCorrectionKl: true,
      maxCompletionLength: COMPLETION_LEN,
    },
    temperature: 1,
    numIterations: 1,
    scaleRewards: 'group',
    // Every completion is cut at 128 tokens on purpose: TRL's default trains on them too.
    maskTruncatedCompletions: false,
    rowsPerStep: rows,
    totalSteps: warmups + repeats,
    batchSize: BATCH,
    gradAccum: rows / BATCH,
    optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 },
    learningRate: 1e-6,
    lrSchedule: 'linear',
    warmupSteps: 0,
    gradientCheckpointing: mode.endsWith('-gc'),
    seed: SEED,
    threads,
  };
  const session = await Engine.rl(job);
  const setupMs = performance.now() - t0;
  const prompts = benchPrompts(SMOLLM2_135M_SHAPES.vocab_size).map((ids) => ({ ids }));
  const steps: { ms: number; gen: number; cpu: number }[] = [];
  const losses: number[] = [];
  const norms: number[] = [];
  const rewardMeans: number[] = [];
  const lengths: number[] = [];
  let setupPeak = NaN;
  let reset = false;
  try {
    for (let s = 0; s < warmups + repeats; s++) {
      if (s === warmups) {
        setupPeak = statusBytes('VmHWM'); // setup + warm-up, before the counter is reset
        reset = resetHwm();
      }
      const t = performance.now();
      const c = process.cpuUsage();
      const { results, promptIds } = await session.generate(prompts, {
        n: GROUP,
        maxNewTokens: COMPLETION_LEN,
        seed: SEED + 1 + s,
        temperature: 1,
        topP: 1,
        topK: 0,
        greedy: false,
        stopStrings: [],
        // exactly 128 tokens: a sampled end-of-sequence does not end a completion
        ignoreEos: true,
      });
      const gen = performance.now() - t;
      const completions = results.flatMap((r) => r.completions);
      const rewards = completions.map((x) => rewardOfIds(x.tokenIds));
      const out = await session.train(
        completions.map((x, i) => ({
          promptIds: promptIds[Math.floor(i / GROUP)],
          completionIds: x.tokenIds,
          truncated: x.finishReason === 'length',
        })),
        rewards,
        GROUP,
      );
      const ms = performance.now() - t;
      const cu = process.cpuUsage(c);
      steps.push({ ms, gen, cpu: (cu.user + cu.system) / 1e6 });
      lengths.push(...completions.map((x) => x.tokenIds.length));
      const m = out.steps[out.steps.length - 1];
      losses.push(m.loss);
      norms.push(m.grad_norm);
      rewardMeans.push(rewards.reduce((a, b) => a + b, 0) / rewards.length);
      process.stderr.write(
        `  ours ${mode}: step ${s + 1} ${(ms / 1000).toFixed(1)} s (generation ${(gen / 1000).toFixed(1)} s), loss ${m.loss.toExponential(3)}\n`,
      );
    }
  } finally {
    await session.close();
  }
  const stepsPeak = reset ? statusBytes('VmHWM') : null;
  const timed = steps.slice(warmups);
  const best = timed.reduce((b, x) => (x.ms < b.ms ? x : b), timed[0]);
  return {
    mode,
    step_ms: best.ms,
    generation_ms: best.gen,
    training_ms: best.ms - best.gen,
    step_ms_all: timed.map((x) => x.ms),
    generation_ms_all: timed.map((x) => x.gen),
    step_cpu_s_all: timed.map((x) => x.cpu),
    warmup_ms: warmups > 0 ? steps[warmups - 1].ms : null,
    setup_ms: setupMs,
    losses,
    grad_norms: norms,
    rewards: rewardMeans,
    completion_lengths: [Math.min(...lengths), Math.max(...lengths)],
    peak_rss_bytes: Math.max(Number.isFinite(setupPeak) ? setupPeak : 0, statusBytes('VmHWM')),
    steps_peak_rss_bytes: stepsPeak,
  };
}

const spawnOurs = (mode: Mode) => spawnChild<OursNumbers>(import.meta.url, mode);

// ---- the report ---------------------------------------------------------------------------------

const secs = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(1)).join('/');

async function main(): Promise<void> {
  const dir = ensureBenchCheckpoint();
  process.stderr.write(
    `checkpoint ${dir}, ${threads} threads, ${PROMPTS} prompts x ${GROUP} completions of ${COMPLETION_LEN} tokens ` +
      `(prompts ${PROMPT_LEN} tokens), best of ${repeats} steps after ${warmups} warm-up; load average ${load()}\n`,
  );
  const loadStart = load();
  const rows: { mode: Mode; ours: OursNumbers | string; trl: TrlGrpoNumbers | string }[] = [];
  for (const mode of modes) {
    let ours: OursNumbers | string;
    try {
      ours = spawnOurs(mode);
    } catch (e) {
      ours = (e as Error).message;
    }
    process.stderr.write(`  trl ${mode}: running (${load()})\n`);
    let trl: TrlGrpoNumbers | string;
    try {
      trl = runTrlGrpoBaseline(dir, {
        mode: mode.startsWith('full') ? 'full' : 'lora',
        gradientCheckpointing: mode.endsWith('-gc'),
        threads,
        prompts: PROMPTS,
        generations: GROUP,
        batchSize: BATCH,
        promptLen: PROMPT_LEN,
        completionLen: COMPLETION_LEN,
        repeats,
        warmup: warmups,
        seed: SEED,
      });
    } catch (e) {
      trl = (e as Error).message;
    }
    rows.push({ mode, ours, trl });
  }

  const cell = (x: string, w: number) => x.padStart(w);
  const ms = (x?: number) => (x === undefined ? '-' : x.toFixed(0));
  const ratio = (a?: number, b?: number) => (a && b ? (a / b).toFixed(2) + 'x' : '-');
  const lines = [
    [
      'mode'.padEnd(8),
      'side'.padEnd(5),
      cell('step ms', 9),
      cell('generation ms', 14),
      cell('training ms', 12),
      cell('cpu-s', 7),
      cell('peak mem', 9),
      cell('in steps', 9),
    ].join(' '),
  ];
  const notes: string[] = [];
  for (const { mode, ours, trl } of rows) {
    const o = typeof ours === 'string' ? undefined : ours;
    const t = typeof trl === 'string' ? undefined : trl;
    const cpu = (xs?: number[]) => (xs?.length ? Math.min(...xs).toFixed(1) : '-');
    const row = (side: string, n?: OursNumbers | TrlGrpoNumbers) =>
      [
        mode.padEnd(8),
        side.padEnd(5),
        cell(ms(n?.step_ms), 9),
        cell(ms(n?.generation_ms), 14),
        cell(ms(n?.training_ms), 12),
        cell(cpu(n?.step_cpu_s_all), 7),
        cell(gb(n?.peak_rss_bytes), 9),
        cell(gb(n?.steps_peak_rss_bytes), 9),
      ].join(' ');
    lines.push(row('ours', o), row('trl', t));
    lines.push(
      `${mode.padEnd(8)} ours/trl: step ${ratio(o?.step_ms, t?.step_ms)}, training ${ratio(o?.training_ms, t?.training_ms)}` +
        ` (generation ${ratio(o?.generation_ms, t?.generation_ms)})`,
    );
    if (o)
      notes.push(
        `${mode}: ours: setup ${(o.setup_ms / 1000).toFixed(1)} s, warm-up ${((o.warmup_ms ?? 0) / 1000).toFixed(1)} s, ` +
          `steps ${secs(o.step_ms_all)} s (generation ${secs(o.generation_ms_all)} s), completions ${o.completion_lengths.join('-')} tokens, ` +
          `losses ${o.losses.map((x) => x.toExponential(2)).join('/')}, grad norms ${o.grad_norms.map((x) => x.toFixed(4)).join('/')}, ` +
          `mean rewards ${o.rewards.map((x) => x.toFixed(4)).join('/')}`,
      );
    if (t)
      notes.push(
        `${mode}: trl: warm-up ${((t.warmup_ms ?? 0) / 1000).toFixed(1)} s, steps ${secs(t.step_ms_all)} s ` +
          `(generation ${secs(t.generation_ms_all)} s), completions ${t.completion_lengths?.join('-') ?? '-'} tokens, ` +
          `losses ${t.losses.map((x) => x.toExponential(2)).join('/')}, grad norms ${t.grad_norms.map((x) => x.toFixed(4)).join('/')}, ` +
          `mean rewards ${t.rewards.map((x) => x.toFixed(4)).join('/')}, ${t.trainable_params} trainable params`,
      );
    if (typeof ours === 'string') notes.push(`${mode}: our engine failed: ${ours}`);
    if (typeof trl === 'string') notes.push(`${mode}: TRL baseline unavailable: ${trl}`);
  }
  lines.push(...notes);
  lines.push(
    'ms: the fastest timed step and its parts (generation: RlSession.generate / GRPOTrainer._generate; training: ' +
      'the rest of the step: rewards, log-prob passes, loss, backward, optimizer); cpu-s: least CPU seconds ' +
      '(user + system, all threads) of a timed step; peak mem: VmHWM / ru_maxrss of the process, setup included; ' +
      'in steps: VmHWM over the timed steps alone',
  );
  lines.push(
    'work that differs: ours computes π_old in a separate forward pass over the 32 completions before the ' +
      'optimizer step (TRL skips it when num_iterations is 1 and generation is aligned with the step: it uses the ' +
      "training forward's detached log-probs); ours samples prompt by prompt, the 4 completions of a prompt " +
      'sharing one prefill, where TRL generates all 32 rows in one batch (each prompt repeated 4 times); ours ' +
      'samples from LoRA merged into the weights, rebuilding the sampling session after every update (in ' +
      'generation time), TRL through the unmerged PEFT model; LoRA A inits differ (B = 0 on both sides)',
  );
  const anyTrl = rows.map((r) => r.trl).find((t): t is TrlGrpoNumbers => typeof t !== 'string');
  if (anyTrl)
    lines.push(
      `TRL ${anyTrl.trl}, transformers ${anyTrl.transformers}, PyTorch ${anyTrl.torch}, ${anyTrl.threads} threads`,
    );
  lines.push(`load average at start ${loadStart}, at end ${load()}`);
  process.stdout.write(lines.join('\n') + '\n');
}

if (process.argv[2] === '--child') {
  const mode = process.argv[3] as Mode;
  const dir = ensureBenchCheckpoint();
  const res = await runOurs(dir, mode);
  process.stdout.write(JSON.stringify(res) + '\n');
} else {
  await main();
}
