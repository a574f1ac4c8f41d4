// The live view's end (issue 13): the verdict on the objective leads, then the regressions and how
// the run ended; a failure's error is left to the CLI, which prints it once after the view.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { render, cleanup } from 'ink-testing-library';
import type { PipelineEvent } from '../../src/events.js';
import { LiveView } from '../../src/ui/live-view.js';
import { createViewStore } from '../../src/ui/view-store.js';
import { T0, clock } from './script.js';

afterEach(() => cleanup());

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

async function endFrame(end: PipelineEvent): Promise<string> {
  const store = createViewStore({ throttleMs: 0 });
  const app = render(<LiveView store={store} now={() => T0 + 5_000} color={false} />);
  const c = clock();
  store.push(
    c.ev({ type: 'run-start', name: 'x', rounds: 2, stages: [], resumed: false, dir: 'd' }),
  );
  store.push(end);
  store.flush();
  await tick();
  return app.lastFrame() ?? '';
}

test('a finished run: WORSE with its threshold, the regressions, then finished', async () => {
  const frame = await endFrame(
    clock()
      .at(3000)
      .ev({
        type: 'run-end',
        status: 'finished',
        seconds: 3,
        verdict: {
          metric: 'mean_score',
          judge: 'format',
          fromRound: 0,
          toRound: 2,
          from: 0.7,
          to: 0.35,
          word: 'worse',
          threshold: 0.02,
          regressions: [{ metric: 'refusal_rate', from: 0.1, to: 0.3, worse: 2 }],
        },
      }),
  );
  const worse = frame.indexOf('WORSE: mean_score (anchor judge format) 0.7 → 0.35');
  const regress = frame.indexOf('biggest regressions: refusal_rate 0.1 → 0.3');
  const done = frame.indexOf('✔ finished in 3.0s');
  assert.ok(worse >= 0 && regress > worse && done > regress, frame);
});

test('a failed run does not show the error the CLI prints after it', async () => {
  const frame = await endFrame(
    clock()
      .at(1000)
      .ev({ type: 'run-end', status: 'failed', seconds: 1, error: 'model not found' }),
  );
  assert.match(frame, /✖ failed in 1\.0s/);
  assert.doesNotMatch(frame, /model not found/);
});
