import { readFileSync } from 'node:fs';

/** The package version, read from package.json next to dist/ (the single source of truth). */
export function packageVersion(): string {
  // dist/src/cli/version.js -> ../../../package.json
  const url = new URL('../../../package.json', import.meta.url);
  const pkg = JSON.parse(readFileSync(url, 'utf8')) as { version: string };
  return pkg.version;
}
