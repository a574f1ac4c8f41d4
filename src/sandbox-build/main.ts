// Entry point of `npm run build:sandbox-model [-- <out-dir>]` (default assets/sandbox-model).
// SANDBOX_STEPS overrides the recipe's step count for a quick trial build.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSandboxModel } from './build.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const steps = process.env.SANDBOX_STEPS ? Number(process.env.SANDBOX_STEPS) : undefined;
await buildSandboxModel({ out: process.argv[2] ?? join(root, 'assets', 'sandbox-model'), steps });
