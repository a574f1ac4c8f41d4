// Aggregate decode throughput of `pipeline serve` with 1 client vs 4 concurrent clients, over a
// random Llama of SmolLM2-135M's layer shape (fewer layers, builtin:tiny's small vocabulary), in
// this process. Prints tokens/s and the ratio; asserts nothing (these machines are noisy).
//   npm run build && node dist/bench/bench-serve.js [--layers 8] [--tokens 64] [--requests 8]
//                                                   [--batch-wait-ms 2] [--threads 2]
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
    requests: { type: 'string', default: '8' },
    threads: { type: 'string', default: '2' },
    'batch-wait-ms': { type: 'string', default: '2' },
    repeats: { type: 'string', default: '3' },
  },
});
const L = Number(values.layers);
const tokens = Number(values.tokens);
const requests = Number(values.requests);

const dir = mkdtempSync(join(tmpdir(), 'rlaif-bench-serve-'));
writeRandomLlama(dir, { H: 576, I: 1536, L, NH: 9, KV: 3, D: 64 }, 1, 'bench-serve');
const engine = await Engine.open(dir, { threads: Number(values.threads) });
const server = await startServer({ engine, modelName: 'bench' }, { host: '127.0.0.1', port: 0 });

async function ask(i: number): Promise<number> {
  const res = await fetch(`${server.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'bench',
      prompt: `Request number ${i} asks for a story about`,
      max_tokens: tokens,
      ignore_eos: true,
      temperature: 0.8,
      seed: i,
    }),
  });
  const body = (await res.json()) as { usage: { completion_tokens: number } };
  return body.usage.completion_tokens;
}

/** `clients` clients, each sending its share of the requests one after another. */
async function run(clients: number): Promise<number> {
  const t0 = performance.now();
  const per = Math.ceil(requests / clients);
  const counts = await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let n = 0;
      for (let k = 0; k < per; k++) n += await ask(c * per + k);
      return n;
    }),
  );
  const total = counts.reduce((a, b) => a + b, 0);
  return (total * 1000) / (performance.now() - t0);
}

await run(2); // warm-up: sessions, first runs of each shape
// The machine is shared and noisy: alternate the two settings and compare each pair.
const pairs: [number, number][] = [];
for (let rep = 0; rep < Number(values.repeats); rep++) pairs.push([await run(1), await run(4)]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = server.registry.base.batcher.stats;
for (const [one, four] of pairs)
  console.log(
    `1 client ${one.toFixed(1)} tok/s, 4 clients ${four.toFixed(1)} tok/s (x${(four / one).toFixed(2)})`,
  );
console.log(
  `${L} layers, ${requests} requests x ${tokens} tokens, wait ${values['batch-wait-ms']} ms: ` +
    `median ratio 4 clients / 1 client x${median(pairs.map(([a, b]) => b / a)).toFixed(2)}; ` +
    `engine calls ${s.calls} for ${s.requests} requests, largest batch ${s.largestBatch}`,
);
await server.drain();
