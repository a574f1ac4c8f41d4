import { createRequire } from 'node:module';

/** The onnxruntime-node version in use (read from its package.json; loading the addon is not needed). */
export function onnxruntimeVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('onnxruntime-node/package.json') as { version: string }).version;
}
