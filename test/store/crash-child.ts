// Child process for concurrency.test.ts: commits some work, then dies by SIGKILL in the middle
// of a transaction, the way a killed or OOM-killed `pipeline run` would.
import { inputHash } from '../../src/store/hash.js';
import { openStore } from '../../src/store/run-store.js';

const path = process.argv[2];
const store = openStore(path);
const sampling = { temperature: 1, top_p: 1, top_k: 0, max_new_tokens: 8 };
const add = (i: number) => {
  const promptId = store.addPrompt({
    round: 0,
    source: 'seed',
    messages: [{ role: 'user', content: `prompt ${i}` }],
    inputHash: inputHash('crash', i),
  });
  for (let k = 0; k < 4; k++)
    store.addCandidate({
      round: 0,
      promptId,
      idx: k,
      text: 'x'.repeat(2000),
      sampling,
      inputHash: inputHash('crash', i, k),
    });
};
store.transaction(() => add(0));
store.transaction(() => {
  for (let i = 1; i < 50; i++) add(i);
  process.kill(process.pid, 'SIGKILL');
});
