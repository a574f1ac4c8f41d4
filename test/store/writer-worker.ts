// Worker for concurrency.test.ts: writes `prompts` prompts, each with `perPrompt` candidates in
// one transaction, into an existing run database while the main thread reads it.
import { parentPort, workerData } from 'node:worker_threads';
import { inputHash } from '../../src/store/hash.js';
import { openStore } from '../../src/store/run-store.js';

const { path, prompts, perPrompt } = workerData as {
  path: string;
  prompts: number;
  perPrompt: number;
};
const store = openStore(path);
const sampling = { temperature: 1, top_p: 1, top_k: 0, max_new_tokens: 8 };
for (let i = 0; i < prompts; i++) {
  store.transaction(() => {
    const promptId = store.addPrompt({
      round: 0,
      source: 'seed',
      messages: [{ role: 'user', content: `prompt ${i}` }],
      inputHash: inputHash('w', i),
    });
    for (let k = 0; k < perPrompt; k++)
      store.addCandidate({
        round: 0,
        promptId,
        idx: k,
        text: `answer ${i}.${k}`,
        sampling,
        inputHash: inputHash('w', i, k),
      });
  });
}
store.close();
parentPort?.postMessage('done');
