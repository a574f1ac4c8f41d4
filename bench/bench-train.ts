// npm run bench:train — one DPO training step, our engine vs PyTorch eager autograd, in one run:
// same SmolLM2-135M-shaped checkpoint, same batch (4 pairs x 256 tokens: prompt 128 + response
// 128, chosen and rejected), same thread count (BENCH_THREADS, default 2), for LoRA (r 16, alpha
// 32 on q,k,v,o,gate,up,down), full fine-tuning, and full fine-tuning with gradient
// checkpointing on both sides (full-gc: torch.utils.checkpoint per layer). Sigmoid loss (beta 0.1), AdamW (lr 1e-5, no
// weight decay), gradient clipping 1.0; reference log-probs are fixed numbers, so both sides time
// only the step. Each mode of each side runs in its own process, so peak memory is per mode.
//
// Environment: BENCH_THREADS (2), BENCH_REPEATS (timed steps, 3), BENCH_WARMUP (untimed steps, 1),
// BENCH_MODES (lora,full,full-gc), BENCH_PYTHON (/usr/bin/python3).
import { GraphBuilder } from '../src/engine/graph/builder.js';
import { toOnnxBytes } from '../src/engine/graph/serialize.js';
import type { ModelConfig } from '../src/engine/model/config.js';
import { loadModel } from '../src/engine/model/load-model.js';
import { OrtSession, tensor } from '../src/engine/runtime/ort-session.js';
import { DEFAULT_LORA_TARGETS, loraModules } from '../src/engine/train/lora.js';
import type { TokenizedPair } from '../src/engine/train/pair-batches.js';
import type { TrainerOptions } from '../src/engine/train/trainer-options.js';
import { DpoTrainer } from '../src/engine/train/trainer.js';
import { ensureBenchCheckpoint } from './bench-checkpoint.js';
import {
  runTorchTrainBaseline,
  torchMatmulGflops,
  type TorchTrainNumbers,
} from './torch-train-baseline.js';
import { gb, load, minstdIds, resetHwm, spawnChild, statusBytes } from './bench-child.js';

type Mode = 'lora' | 'full' | 'full-gc';

const threads = Number(process.env.BENCH_THREADS ?? 2);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const warmups = Number(process.env.BENCH_WARMUP ?? 1);
const modes = (process.env.BENCH_MODES ?? 'lora,full,full-gc')
  .split(',')
  .map((m) => m.trim())
  .filter((m): m is Mode => m === 'lora' || m === 'full' || m === 'full-gc');
const PAIRS = 4;
const PROMPT_LEN = 128;
const RESPONSE_LEN = 128;
const SEED = 0;
const LORA = { r: 16, alpha: 32, targets: DEFAULT_LORA_TARGETS };

/** What a child process (one mode of our engine) reports. */
interface OursNumbers {
  mode: Mode;
  step_ms: number;
  step_ms_all: number[];
  /** CPU seconds (user + system, all threads) of each timed step. */
  step_cpu_s_all: number[];
  warmup_ms: number;
  /** Graph build + session creation + trainer state. */
  setup_ms: number;
  losses: number[];
  grad_norms: number[];
  trainable_params: number;
  tokens: number;
  /** VmHWM of the whole child process (includes graph serialization and session creation). */
  peak_rss_bytes: number;
  /** VmHWM over the timed steps alone (null where /proc/self/clear_refs could not reset it). */
  steps_peak_rss_bytes: number | null;
}

// ---- the shared batch (scripts/bench/torch_dpo_step.py builds the same one) -------------------

function benchBatch(vocab: number): {
  pairs: TokenizedPair[];
  refs: { chosen: number; rejected: number }[];
} {
  const per = PROMPT_LEN + 2 * RESPONSE_LEN;
  const flat = minstdIds(SEED, PAIRS * per, vocab);
  const pairs: TokenizedPair[] = [];
  for (let p = 0; p < PAIRS; p++) {
    const c = flat.slice(p * per, (p + 1) * per);
    pairs.push({
      promptIds: c.slice(0, PROMPT_LEN),
      chosenIds: c.slice(PROMPT_LEN, PROMPT_LEN + RESPONSE_LEN),
      rejectedIds: c.slice(PROMPT_LEN + RESPONSE_LEN),
      where: `bench pair ${p}`,
    });
  }
  const refs = pairs.map((_, i) => ({ chosen: -1386 + 0.5 * i, rejected: -1386 - 0.5 * i }));
  return { pairs, refs };
}

// ---- memory -------------------------------------------------------------------------------------

// ---- FLOPs --------------------------------------------------------------------------------------

/**
 * Matmul FLOPs of one step (multiply-add = 2), with T = 2P·S tokens:
 *   N_lin  = weights of the 7 projections of every layer, N_head = vocab·hidden (lm_head);
 *   attn   = 4·rows·layers·heads·head_dim·S² (QKᵀ and P·V, the full S×S square: both sides
 *            compute the masked half too);
 *   F      = 2·(N_lin + N_head)·T + attn                 (forward)
 *   full   = 3F      backward = grads w.r.t. activations (≈F) + w.r.t. weights (≈F)
 *   LoRA   = 2F + 6·N_lora·T   backward through the activations only (frozen weights get no
 *            gradient), plus the adapters' forward (2·N_lora·T) and backward (4·N_lora·T).
 * Elementwise work (norms, softmax, log-softmax over the vocabulary, AdamW) is not counted.
 * These are the model's FLOPs as PyTorch spends them: we compute logits only at the positions
 * that predict response tokens (half of them here) and gradient checkpointing recomputes each
 * layer, so GFLOP/s is work-equivalent throughput, the same yardstick for both sides.
 */
function stepFlops(cfg: ModelConfig, mode: Mode, rows: number, seq: number): number {
  const H = cfg.hiddenSize;
  const q = cfg.numAttentionHeads * cfg.headDim;
  const kv = cfg.numKeyValueHeads * cfg.headDim;
  const I = cfg.intermediateSize;
  const nLin = cfg.numHiddenLayers * (H * q + 2 * H * kv + q * H + 3 * H * I);
  const nHead = cfg.vocabSize * H;
  const T = rows * seq;
  const attn = 4 * rows * cfg.numHiddenLayers * cfg.numAttentionHeads * cfg.headDim * seq * seq;
  const fwd = 2 * (nLin + nHead) * T + attn;
  if (mode !== 'lora') return 3 * fwd;
  const nLora = loraModules(cfg, LORA.targets).reduce((a, m) => a + LORA.r * (m.in + m.out), 0);
  return 2 * fwd + 6 * nLora * T;
}

/** onnxruntime's MatMul GFLOP/s with our session options and threads, best of 5. */
async function ortMatmulGflops(n: number, k: number, m: number): Promise<number> {
  const b = new GraphBuilder('matmul_peak');
  const w = new Float32Array(k * m).map((_, i) => ((i % 97) - 48) / 97);
  const y = b.matMul(b.input('a', 'float32', [n, k]), b.initializer('w', 'float32', [k, m], w));
  b.output(y, 'y', 'float32', [n, m]);
  const session = await OrtSession.create(toOnnxBytes(b.build()), { threads });
  try {
    const a = tensor(
      'float32',
      new Float32Array(n * k).map((_, i) => ((i % 89) - 44) / 89),
      [n, k],
    );
    await session.run({ a });
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      await session.run({ a });
      best = Math.min(best, performance.now() - t);
    }
    return (2 * n * k * m) / (best / 1000) / 1e9;
  } finally {
    await session.release();
  }
}

// ---- our side: one mode per child process ------------------------------------------------------

async function runOurs(dir: string, mode: Mode): Promise<OursNumbers> {
  const t0 = performance.now();
  const base = loadModel(dir);
  const { pairs, refs } = benchBatch(base.config.vocabSize);
  const opts: TrainerOptions = {
    mode: mode === 'lora' ? { kind: 'lora', lora: LORA } : { kind: 'full' },
    gradientCheckpointing: mode === 'full-gc',
    losses: ['sigmoid'],
    lossWeights: [1],
    lossOptions: {
      beta: 0.1,
      labelSmoothing: 0,
      simpoGamma: 0,
      desirableWeight: 1,
      undesirableWeight: 1,
    },
    optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 },
    learningRate: 1e-5,
    lrSchedule: 'constant',
    warmupSteps: 0,
    epochs: 1,
    batchSize: PAIRS,
    gradAccum: 1,
    seed: SEED,
    threads,
  };
  const trainer = await DpoTrainer.create(base, opts);
  const setupMs = performance.now() - t0;
  const trainable = trainer.graph.params.reduce((a, p) => a + p.dims.reduce((x, y) => x * y, 1), 0);
  const micro = [{ pairs, refs }];
  const losses: number[] = [];
  const norms: number[] = [];
  const cpus: number[] = [];
  const timed = async () => {
    const t = performance.now();
    const c = process.cpuUsage();
    const m = await trainer.step(micro, 100, 0);
    const ms = performance.now() - t;
    const cu = process.cpuUsage(c);
    cpus.push((cu.user + cu.system) / 1e6);
    losses.push(m.loss);
    norms.push(m.grad_norm);
    process.stderr.write(
      `  ours ${mode}: step ${m.step} ${(ms / 1000).toFixed(2)} s, loss ${m.loss.toFixed(4)}\n`,
    );
    return ms;
  };
  let warmupMs = 0;
  for (let w = 0; w < warmups; w++) warmupMs = await timed();
  const setupPeak = statusBytes('VmHWM'); // setup + warm-up, before the counter is reset
  const reset = resetHwm();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) times.push(await timed());
  const stepsPeak = reset ? statusBytes('VmHWM') : null;
  await trainer.close();
  base.close();
  return {
    mode,
    step_ms: Math.min(...times),
    step_ms_all: times,
    step_cpu_s_all: cpus.slice(warmups),
    warmup_ms: warmupMs,
    setup_ms: setupMs,
    losses,
    grad_norms: norms,
    trainable_params: trainable,
    tokens: 2 * PAIRS * (PROMPT_LEN + RESPONSE_LEN),
    peak_rss_bytes: Math.max(setupPeak, statusBytes('VmHWM')),
    steps_peak_rss_bytes: stepsPeak,
  };
}

const spawnOurs = (mode: Mode) => spawnChild<OursNumbers>(import.meta.url, mode);

// ---- the report ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  const dir = ensureBenchCheckpoint();
  const cfg = loadModel(dir);
  const config = cfg.config;
  cfg.close();
  process.stderr.write(
    `checkpoint ${dir}, ${threads} threads, ${PAIRS} pairs x (${PROMPT_LEN} + ${RESPONSE_LEN}) tokens, ` +
      `best of ${repeats} steps after ${warmups} warm-up; load average ${load()}\n`,
  );
  const loadStart = load();
  const rows: { mode: Mode; ours: OursNumbers | string; torch: TorchTrainNumbers | string }[] = [];
  for (const mode of modes) {
    let ours: OursNumbers | string;
    try {
      ours = spawnOurs(mode);
    } catch (e) {
      ours = (e as Error).message;
    }
    process.stderr.write(`  pytorch ${mode}: running (${load()})\n`);
    let torch: TorchTrainNumbers | string;
    try {
      torch = runTorchTrainBaseline(dir, {
        mode: mode === 'lora' ? 'lora' : 'full',
        gradientCheckpointing: mode === 'full-gc',
        threads,
        pairs: PAIRS,
        promptLen: PROMPT_LEN,
        responseLen: RESPONSE_LEN,
        repeats,
        warmup: warmups,
        seed: SEED,
      });
    } catch (e) {
      torch = (e as Error).message;
    }
    rows.push({ mode, ours, torch });
  }
  // The two matmul probes run back to back, so they see the same machine load.
  const T = 2 * PAIRS * (PROMPT_LEN + RESPONSE_LEN);
  const ortSquare = await ortMatmulGflops(2048, 2048, 2048);
  const ortMlp = await ortMatmulGflops(T, config.hiddenSize, config.intermediateSize);
  let torchMm: { square_2048: number; mlp_shape: number } | undefined;
  try {
    torchMm = torchMatmulGflops(threads, T, config.hiddenSize, config.intermediateSize);
  } catch {
    torchMm = undefined;
  }

  const seq = PROMPT_LEN + RESPONSE_LEN;
  const cell = (x: string, w: number) => x.padStart(w);
  const lines = [
    [
      'mode'.padEnd(7),
      cell('ours ms', 9),
      cell('pytorch ms', 11),
      cell('ratio', 7),
      cell('cpu-s ours', 11),
      cell('pytorch', 8),
      cell('GFLOP/s ours', 13),
      cell('pytorch', 8),
      cell('peak mem ours', 14),
      cell('pytorch', 9),
      cell('in steps ours', 14),
      cell('pytorch', 9),
    ].join(' '),
  ];
  const notes: string[] = [];
  for (const { mode, ours, torch } of rows) {
    const o = typeof ours === 'string' ? undefined : ours;
    const t = typeof torch === 'string' ? undefined : torch;
    const flops = stepFlops(config, mode, 2 * PAIRS, seq);
    const gf = (ms?: number) => (ms ? ((flops / (ms / 1000)) * 1e-9).toFixed(1) : '-');
    const cpu = (xs?: number[]) => (xs?.length ? Math.min(...xs).toFixed(1) : '-');
    lines.push(
      [
        mode.padEnd(7),
        cell(o ? o.step_ms.toFixed(0) : '-', 9),
        cell(t ? t.step_ms.toFixed(0) : '-', 11),
        cell(o && t ? (o.step_ms / t.step_ms).toFixed(2) + 'x' : '-', 7),
        cell(cpu(o?.step_cpu_s_all), 11),
        cell(cpu(t?.step_cpu_s_all), 8),
        cell(gf(o?.step_ms), 13),
        cell(gf(t?.step_ms), 8),
        cell(gb(o?.peak_rss_bytes), 14),
        cell(gb(t?.peak_rss_bytes), 9),
        cell(gb(o?.steps_peak_rss_bytes), 14),
        cell(gb(t?.steps_peak_rss_bytes), 9),
      ].join(' '),
    );
    const secs = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(2)).join('/');
    notes.push(
      `${mode}: ${(flops / 1e9).toFixed(0)} GFLOP/step, ${o?.trainable_params ?? t?.trainable_params ?? '-'} trainable params` +
        (o
          ? `; ours: setup ${(o.setup_ms / 1000).toFixed(1)} s, warm-up ${(o.warmup_ms / 1000).toFixed(1)} s, steps ${secs(o.step_ms_all)} s`
          : '') +
        (t
          ? `; pytorch: warm-up ${(t.warmup_ms / 1000).toFixed(1)} s, steps ${secs(t.step_ms_all)} s`
          : ''),
    );
    if (o && t)
      notes.push(
        `${mode}: first-step loss ours ${o.losses[0].toFixed(6)} / pytorch ${t.losses[0].toFixed(6)} (same weights and batch: should agree), ` +
          `grad norm ${o.grad_norms[0].toFixed(4)} / ${t.grad_norms[0].toFixed(4)}` +
          (mode === 'lora' ? ' (LoRA A inits differ: close, not equal)' : ''),
      );
    if (typeof ours === 'string') notes.push(`${mode}: our engine failed: ${ours}`);
    if (typeof torch === 'string') notes.push(`${mode}: PyTorch baseline unavailable: ${torch}`);
  }
  const anyTorch = rows
    .map((r) => r.torch)
    .find((t): t is TorchTrainNumbers => typeof t !== 'string');
  lines.push(...notes);
  lines.push(
    `matmul peak, ${threads} threads: onnxruntime ${ortSquare.toFixed(0)} GFLOP/s (2048³), ${ortMlp.toFixed(0)} GFLOP/s ` +
      `(${2 * PAIRS * seq}x${config.hiddenSize}x${config.intermediateSize})` +
      (torchMm
        ? `; torch.mm ${torchMm.square_2048.toFixed(0)} / ${torchMm.mlp_shape.toFixed(0)} GFLOP/s`
        : ''),
  );
  lines.push(
    'ms: best wall time of the timed steps; cpu-s: least CPU seconds (user + system, all threads) of a timed step, ' +
      "less sensitive to a busy machine (onnxruntime's spinning workers count in it); peak mem: VmHWM / ru_maxrss of " +
      'the process, setup included; in steps: VmHWM over the timed steps alone',
  );
  if (anyTorch)
    lines.push(`PyTorch ${anyTorch.torch} (${anyTorch.blas}), ${anyTorch.threads} threads`);
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
