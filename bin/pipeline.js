#!/usr/bin/env node
// The `pipeline` executable: runs the compiled CLI (npm ci builds dist/ through the prepare script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'error: the CLI is not built (dist/ is missing)\nhint: run `npm ci` (or `npm run build`) in the project folder\n',
  );
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
