// Color only shows when chalk thinks the terminal has it, which it decides when first imported:
// so this file forces color before loading Ink, and checks that NO_COLOR still wins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oneRoundScript } from './script.js';

process.env.FORCE_COLOR = '1';
const { render, cleanup } = await import('ink-testing-library');
const { LiveView } = await import('../../src/ui/live-view.js');
const { createViewStore } = await import('../../src/ui/view-store.js');
const { colorEnabled } = await import('../../src/ui/reporter.js');

async function frames(color: boolean): Promise<string[]> {
  const store = createViewStore({ throttleMs: 0 });
  const app = render(<LiveView store={store} color={color} />);
  for (const e of oneRoundScript().slice(0, -1)) store.push(e);
  store.flush();
  await new Promise((r) => setTimeout(r, 30));
  const out = [...app.frames];
  cleanup();
  return out;
}

test('with color on, the view uses color', async () => {
  const f = await frames(true);
  assert.ok(f[f.length - 1].includes('\x1b['));
});

test('NO_COLOR: no escape codes even where the terminal has color', async () => {
  assert.equal(colorEnabled({ NO_COLOR: '1' }), false);
  assert.equal(colorEnabled({ NO_COLOR: '' }), true, 'an empty NO_COLOR does not count');
  assert.equal(colorEnabled({}), true);
  const f = await frames(colorEnabled({ NO_COLOR: '1' }));
  assert.ok(f.length > 0);
  for (const frame of f) assert.ok(!frame.includes('\x1b['), JSON.stringify(frame.slice(0, 80)));
});
