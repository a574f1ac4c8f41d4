#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's built-in test runner.
// Listing files explicitly behaves the same on Node 20 (directory arguments) and 22+ (globs).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const testRoot = join(root, 'dist', 'test');

function collect(dir) {
  const files = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files.push(...collect(p));
    else if (name.endsWith('.test.js')) files.push(p);
  }
  return files;
}

let files;
try {
  files = collect(testRoot);
} catch {
  console.error(
    'error: no compiled tests in dist/test\nhint: run `npm run build` first (npm test does)',
  );
  process.exit(1);
}
const filter = process.argv.slice(2);
if (filter.length) files = files.filter((f) => filter.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('error: no test files matched');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
