// npm run bench:quantize — the accuracy, speed and memory of weight-only int8/int4 weights
// (onnxruntime MatMulNBits) against float32, on the hf-tiny fixtures and on the SmolLM2-135M-shaped
// benchmark checkpoint:
// - mean |Δ log-prob| per token: teacher-forced on the same tokens (the fixtures: a fixed text; the
//   135M checkpoint: 4 random prompts, each followed by float32's own greedy continuation);
// - greedy-token agreement: the fraction of positions where the quantized model's most likely next
//   token is float32's (teacher-forced, so one difference does not derail the rest), and how many
//   tokens free-running greedy decoding matches float32 before the first difference;
// - decode tokens/s at batch 1 and 8 (greedy, best of BENCH_REPEATS), weights read per second at
//   batch 1, and peak resident memory of load + warm-up + the decode runs, each kind in its own
//   process. The quantized copies are made (and timed) before, in their own processes.
// Environment: BENCH_THREADS (2), BENCH_REPEATS (3), BENCH_QUANT_BLOCK (32).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_GENERATE } from '../src/engine/generate/generate.js';
import { toOnnxBytes } from '../src/engine/graph/serialize.js';
import { LocalEngine } from '../src/engine/local-engine.js';
import { buildLogprobsGraph, inferenceBinder } from '../src/engine/model/inference-graphs.js';
import { loadModel } from '../src/engine/model/load-model.js';
import type { Quantize } from '../src/engine/model/quantize.js';
import { OrtSession, hostData, tensor } from '../src/engine/runtime/ort-session.js';
import { ensureBenchCheckpoint } from './bench-checkpoint.js';
import { gb, load, minstdIds, spawnChild, statusBytes } from './bench-child.js';

const threads = Number(process.env.BENCH_THREADS ?? 2);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const blockSize = Number(process.env.BENCH_QUANT_BLOCK ?? 32);
const KINDS = ['float32', 'int8', 'int4'] as const;
type Kind = (typeof KINDS)[number];
const promptLen = 64;
const continuation = 64;
const decodeTokens = 32;
/** One random prompt per seed: accuracy is averaged over their continuations. */
const PROMPT_SEEDS = [18, 19, 20, 21];

const quantizeOf = (k: Kind): Quantize | undefined => (k === 'float32' ? undefined : k);

/**
 * Teacher-forced token log-probs and next-token argmaxes of equal-length sequences, each
 * flattened to one list (sequence after sequence, length − 1 entries each).
 */
async function teacherForced(
  dir: string,
  seqs: number[][],
  quantize?: Quantize,
): Promise<{ lp: number[]; argmax: number[] }> {
  const m = loadModel(dir, { quantize, quantizeBlockSize: blockSize });
  try {
    const g = buildLogprobsGraph(m.config, inferenceBinder(m), { withLogits: true });
    const s = await OrtSession.create(toOnnxBytes(g), { threads });
    const B = seqs.length;
    const S = seqs[0].length;
    const res = await s.run({
      input_ids: tensor('int64', BigInt64Array.from(seqs.flat().map(BigInt)), [B, S]),
      attention_mask: tensor('int64', new BigInt64Array(B * S).fill(1n), [B, S]),
    });
    await s.release();
    const logits = hostData<Float32Array>(res.logits);
    const V = m.config.vocabSize;
    const argmax: number[] = [];
    for (let b = 0; b < B; b++)
      for (let t = 0; t + 1 < S; t++) {
        const at = (b * S + t) * V;
        let best = 0;
        for (let v = 1; v < V; v++) if (logits[at + v] > logits[at + best]) best = v;
        argmax.push(best);
      }
    return { lp: [...hostData<Float32Array>(res.token_logprobs)], argmax };
  } finally {
    m.close();
  }
}

interface Accuracy {
  meanAbs: number;
  maxAbs: number;
  agree: number;
}

/** Compare at the positions `keep` selects (default all). */
function compare(
  ref: { lp: number[]; argmax: number[] },
  q: { lp: number[]; argmax: number[] },
  keep: (i: number) => boolean = () => true,
): Accuracy {
  let sum = 0;
  let max = 0;
  let same = 0;
  let n = 0;
  for (let i = 0; i < ref.lp.length; i++) {
    if (!keep(i)) continue;
    const d = Math.abs(ref.lp[i] - q.lp[i]);
    sum += d;
    max = Math.max(max, d);
    if (ref.argmax[i] === q.argmax[i]) same++;
    n++;
  }
  return { meanAbs: sum / n, maxAbs: max, agree: same / n };
}

interface ChildResult {
  kind: Kind;
  decodeB1: number;
  decodeB8: number;
  peakRss: number;
  weightBytes: number;
  /** Free-running greedy continuation of each prompt. */
  greedy: number[][];
  lp: number[];
  argmax: number[];
  buildMs?: number;
}

const greedyOpts = { ...DEFAULT_GENERATE, ignoreEos: true, greedy: true, seed: 0 };

/** One kind in this process: prepare (make the cached copy) or measure. */
async function child(mode: string): Promise<void> {
  const [what, kind] = mode.split(':') as ['prepare' | 'measure', Kind];
  const dir = ensureBenchCheckpoint();
  const quantize = quantizeOf(kind);
  if (what === 'prepare') {
    const t = performance.now();
    const m = loadModel(dir, { quantize, quantizeBlockSize: blockSize });
    const built = m.quantized?.built;
    m.close();
    process.stdout.write(JSON.stringify({ buildMs: performance.now() - t, built }) + '\n');
    return;
  }
  const prompts = PROMPT_SEEDS.map((seed) => minstdIds(seed, promptLen, 49152));
  const prompt = prompts[0];
  const engine = LocalEngine.open(dir, { threads, quantize, quantizeBlockSize: blockSize });
  const weightBytes = statSync(
    engine.model.quantized
      ? join(engine.model.quantized.dir, 'model.safetensors')
      : join(dir, 'model.safetensors'),
  ).size;
  // Free-running greedy continuations (float32's are also the teacher-forced text).
  const greedy: number[][] = [];
  for (const p of prompts) {
    const g = await engine.generate([{ ids: p }], { ...greedyOpts, maxNewTokens: continuation });
    greedy.push(g.results[0].completions[0].tokenIds);
  }
  await engine.generate([{ ids: prompt }], { ...greedyOpts, n: 8, maxNewTokens: 3 }); // warm-up
  let decodeB1 = 0;
  let decodeB8 = 0;
  for (let r = 0; r < repeats; r++)
    for (const n of [1, 8]) {
      const { stats } = await engine.generate([{ ids: prompt }], {
        ...greedyOpts,
        n,
        maxNewTokens: decodeTokens + 1,
      });
      const rate = (stats.decodeTokens * 1000) / stats.decodeMs;
      if (n === 1) decodeB1 = Math.max(decodeB1, rate);
      else decodeB8 = Math.max(decodeB8, rate);
    }
  const peakRss = statusBytes('VmHWM'); // before the accuracy pass's second session
  await engine.close();
  const texts = process.env.BENCH_QUANT_TEXT
    ? (JSON.parse(process.env.BENCH_QUANT_TEXT) as number[][])
    : prompts.map((p, i) => [...p, ...greedy[i]]);
  const tf = await teacherForced(dir, texts, quantize);
  const out: ChildResult = { kind, decodeB1, decodeB8, peakRss, weightBytes, greedy, ...tf };
  process.stdout.write(JSON.stringify(out) + '\n');
}

const fmt = (x: number, d = 4) => x.toFixed(d);

async function fixtures(): Promise<string[]> {
  const root = join(fileURLToPath(new URL('../..', import.meta.url)), '..', 'shared', 'fixtures');
  const lines: string[] = [];
  for (const name of ['tiny-llama', 'tiny-qwen2']) {
    const dir = join(process.env.RLAIF_FIXTURES ?? root, 'hf-tiny', name);
    try {
      statSync(dir);
    } catch {
      lines.push(`${name}: fixture not found (${dir})`);
      continue;
    }
    const m = loadModel(dir);
    const ids = m.tokenizer.encode(
      'The quick brown fox jumps over the lazy dog. A constitution is a list of principles; ' +
        'the judge rates each answer against them and the pairs train the next round. ' +
        'Each round the policy writes candidates, a judge scores them, and DPO learns the pairs.',
    );
    m.close();
    const ref = await teacherForced(dir, [ids]);
    for (const q of ['int8', 'int4'] as const) {
      const a = compare(ref, await teacherForced(dir, [ids], q));
      lines.push(
        `${name.padEnd(11)} ${q}: mean |Δ log-prob| ${fmt(a.meanAbs)} (max ${fmt(a.maxAbs, 3)}), greedy agreement ${fmt(a.agree, 3)} over ${ids.length - 1} tokens`,
      );
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const dir = ensureBenchCheckpoint();
  process.stderr.write(
    `checkpoint ${dir}, ${threads} threads, block ${blockSize}, load ${load()}\n`,
  );
  const lines = [`hf-tiny fixtures (teacher-forced vs float32, block ${blockSize}):`];
  lines.push(...(await fixtures()));

  const builds: Record<string, string> = {};
  for (const k of KINDS.slice(1)) {
    const r = spawnChild<{ buildMs: number; built: boolean }>(import.meta.url, `prepare:${k}`);
    builds[k] = r.built ? `${(r.buildMs / 1000).toFixed(1)} s (made now)` : 'cached';
  }
  const results: Record<string, ChildResult> = {};
  for (const k of KINDS) {
    if (k !== 'float32') {
      const f = results.float32;
      process.env.BENCH_QUANT_TEXT = JSON.stringify(
        PROMPT_SEEDS.map((seed, i) => [...minstdIds(seed, promptLen, 49152), ...f.greedy[i]]),
      );
    }
    results[k] = spawnChild<ChildResult>(import.meta.url, `measure:${k}`);
  }
  delete process.env.BENCH_QUANT_TEXT;
  const f = results.float32;
  lines.push(
    '',
    `SmolLM2-135M shapes (random weights), ${threads} threads, prompt ${promptLen} tokens; accuracy on float32's ${continuation}-token greedy continuations of ${PROMPT_SEEDS.length} random prompts, teacher-forced:`,
    `${'weights'.padEnd(8)} ${'file'.padStart(9)} ${'mean|Δlp|'.padStart(10)} ${'max|Δlp|'.padStart(9)} ${'agree'.padStart(6)} ${'free-run'.padStart(9)} ${'b1 tok/s'.padStart(9)} ${'b8 tok/s'.padStart(9)} ${'b1 GB/s'.padStart(8)} ${'peak RSS'.padStart(9)}  quantize`,
  );
  for (const k of KINDS) {
    const r = results[k];
    // Only the continuation positions: those predicting tokens float32 chose itself.
    const perSeq = promptLen + continuation - 1;
    const a =
      k === 'float32'
        ? { meanAbs: 0, maxAbs: 0, agree: 1 }
        : compare(f, r, (i) => i % perSeq >= promptLen - 1);
    // Free-running: tokens equal to float32's before the first difference, summed over prompts.
    let run = 0;
    for (let p = 0; p < f.greedy.length; p++) {
      let j = 0;
      while (j < f.greedy[p].length && r.greedy[p][j] === f.greedy[p][j]) j++;
      run += j;
    }
    lines.push(
      `${k.padEnd(8)} ${gb(r.weightBytes).padStart(9)} ${fmt(a.meanAbs).padStart(10)} ${fmt(a.maxAbs, 3).padStart(9)} ${fmt(a.agree, 3).padStart(6)} ${`${run}/${f.greedy.length * continuation}`.padStart(9)} ${r.decodeB1.toFixed(1).padStart(9)} ${r.decodeB8.toFixed(1).padStart(9)} ${((r.decodeB1 * r.weightBytes) / 1e9).toFixed(1).padStart(8)} ${gb(r.peakRss).padStart(9)}  ${builds[k] ?? '-'}`,
    );
  }
  lines.push(
    `decode speed vs float32: int8 ${(results.int8.decodeB1 / f.decodeB1).toFixed(2)}x (b1) ${(results.int8.decodeB8 / f.decodeB8).toFixed(2)}x (b8); int4 ${(results.int4.decodeB1 / f.decodeB1).toFixed(2)}x (b1) ${(results.int4.decodeB8 / f.decodeB8).toFixed(2)}x (b8); load after: ${load()}`,
  );
  process.stdout.write(lines.join('\n') + '\n');
}

const i = process.argv.indexOf('--child');
if (i >= 0) await child(process.argv[i + 1]);
else await main();
