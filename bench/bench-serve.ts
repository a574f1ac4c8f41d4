// Aggregate decode throughput and time to first token of `pipeline serve` under N = 1, 4, 8, 16
// concurrent streaming clients, over a random Llama of SmolLM2-135M's layer shape (fewer layers
// by default, builtin:tiny's small vocabulary), in this process. Each client sends its requests
// one after another (`stream: true`). Two servers over the same checkpoint take turns: continuous
// batching (the default: requests join the running decode loop) and static batching (requests
// waiting together share one call; the baseline). Prints tokens/s, p50/p95 time to first token,
// and the ratio of each N's aggregate to one client's; asserts nothing (these machines are noisy).
//   npm run build && node dist/bench/bench-serve.js [--layers 8] [--tokens 64] [--per-client 2]
//     [--clients 1,4,8,16] [--batch-wait-ms 2 (static)] [--max-batch-size 16] [--threads 2]
//     [--repeats 2]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Engine, writeRandomLlama } from '../src/engine/index.js';
import { startServer } from '../src/serve/server.js';

const { values } = parseArgs({
  options: {
    layers: { type: 'string', default: '8' },
    tokens: { type: 'string', default: '64' },
    'per-client': { type: 'string', default: '2' },
    clients: { type: 'string', default: '1,4,8,16' },
    threads: { type: 'string', default: '2' },
    'batch-wait-ms': { type: 'string', default: '2' },
    'max-batch-size': { type: 'string', default: '16' },
    repeats: { type: 'string', default: '2' },
  },
});
const L = Number(values.layers);
const tokens = Number(values.tokens);
const perClient = Number(values['per-client']);
const settings = values.clients.split(',').map(Number);

const dir = mkdtempSync(join(tmpdir(), 'rlaif-bench-serve-'));
writeRandomLlama(dir, { H: 576, I: 1536, L, NH: 9, KV: 3, D: 64 }, 1, 'bench-serve');
const serve = async (continuousBatching: boolean) =>
  startServer(
    {
      engine: await Engine.open(dir, { threads: Number(values.threads) }),
      modelName: 'bench',
      batchWaitMs: Number(values['batch-wait-ms']),
      maxBatchSize: Number(values['max-batch-size']),
      maxQueue: 1024,
      continuousBatching,
    },
    { host: '127.0.0.1', port: 0 },
  );
const servers = { continuous: await serve(true), static: await serve(false) };
type Mode = keyof typeof servers;

/** One streaming request: its completion tokens and the ms until its first text arrived. */
async function ask(mode: Mode, i: number): Promise<{ tokens: number; ttftMs: number }> {
  const t0 = performance.now();
  const res = await fetch(`${servers[mode].url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'bench',
      prompt: `Request number ${i} asks for a story about`,
      max_tokens: tokens,
      ignore_eos: true,
      temperature: 0.8,
      seed: i,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  let ttftMs = -1;
  let used = 0;
  let buf = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/^data: /, '');
      buf = buf.slice(nl + 2);
      if (line === '[DONE]') continue;
      const ev = JSON.parse(line) as {
        choices: { text: string }[];
        usage?: { completion_tokens: number };
      };
      if (ttftMs < 0 && ev.choices[0]?.text) ttftMs = performance.now() - t0;
      if (ev.usage) used = ev.usage.completion_tokens;
    }
  }
  return { tokens: used, ttftMs };
}

interface Result {
  tokS: number;
  p50: number;
  p95: number;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

/** `clients` clients, each sending `perClient` requests one after another. */
async function run(mode: Mode, clients: number): Promise<Result> {
  const t0 = performance.now();
  const all = await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const out = [];
      for (let k = 0; k < perClient; k++) out.push(await ask(mode, c * perClient + k));
      return out;
    }),
  );
  const flat = all.flat();
  const total = flat.reduce((a, r) => a + r.tokens, 0);
  const ttft = flat.map((r) => r.ttftMs);
  return {
    tokS: (total * 1000) / (performance.now() - t0),
    p50: pct(ttft, 0.5),
    p95: pct(ttft, 0.95),
  };
}

for (const mode of ['continuous', 'static'] as const) await run(mode, 2); // warm-up: sessions
// The machine is shared and noisy: each repeat runs every setting in both modes, and ratios are
// taken to the one-client run of the same repeat and mode.
const ratios = new Map<string, number[]>();
const ttft = new Map<string, number[]>();
for (let rep = 0; rep < Number(values.repeats); rep++) {
  for (const mode of ['continuous', 'static'] as const) {
    const one = await run(mode, 1);
    for (const n of settings) {
      const r = n === 1 ? one : await run(mode, n);
      const ratio = r.tokS / one.tokS;
      ratios.set(`${mode} ${n}`, [...(ratios.get(`${mode} ${n}`) ?? []), ratio]);
      ttft.set(`${mode} ${n}`, [...(ttft.get(`${mode} ${n}`) ?? []), r.p50]);
      console.log(
        `repeat ${rep + 1} ${mode.padEnd(10)} ${String(n).padStart(2)} client(s) ` +
          `${r.tokS.toFixed(1).padStart(7)} tok/s (x${ratio.toFixed(2)} one client), ` +
          `time to first token p50 ${r.p50.toFixed(0)} ms, p95 ${r.p95.toFixed(0)} ms`,
      );
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `${L} layers, ${perClient} requests per client x ${tokens} tokens, max batch ${values['max-batch-size']}; ` +
    'median aggregate ratio to one client and p50 time to first token:',
);
for (const mode of ['continuous', 'static'] as const) {
  const s = servers[mode].registry.base.batcher.stats;
  console.log(
    `  ${mode.padEnd(10)} ` +
      settings
        .map(
          (n) =>
            `${n}: x${median(ratios.get(`${mode} ${n}`)!).toFixed(2)} ` +
            `${median(ttft.get(`${mode} ${n}`)!).toFixed(0)} ms`,
        )
        .join(', ') +
      ` (engine calls ${s.calls} for ${s.requests} requests; most sequences in one step ${mode === 'continuous' ? s.largestStep : 'n/a'})`,
  );
}
await Promise.all(Object.values(servers).map((s) => s.drain()));
