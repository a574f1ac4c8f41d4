// Where a judge's API key may come from and where it may go.
//
// A pipeline file is shared, copied and downloaded; the environment it runs in holds every secret
// the user has (cloud credentials, CI tokens). So a pipeline file may only name variables that
// look like an inference API key, and the user widens that list outside the file. `*_TOKEN` is
// deliberately not a pattern: it would admit AWS_SESSION_TOKEN, GITHUB_TOKEN and CI job tokens.
//
// A key sent over plain http:// can be read by anyone on the path, so it goes unencrypted only to
// this machine (loopback), or where the file says so in so many words (allow_insecure_http).

import { isIP } from 'node:net';
import type { JudgeSpec } from '../schema.js';

/** The variable users set to allow further api_key_env names (comma or space separated). */
export const ALLOWED_KEY_ENVS_VAR = 'RLAIF_ALLOWED_KEY_ENVS';

const KEY_ENV_PATTERNS: readonly RegExp[] = [
  /^[A-Z0-9_]+_API_KEY$/,
  /^[A-Z0-9_]+_API_TOKEN$/,
  /^HF_TOKEN$/,
  /^OPENAI_[A-Z0-9_]+$/,
];

/** The documented rule, as error messages state it. */
export const KEY_ENV_RULE = `a name matching *_API_KEY, *_API_TOKEN, HF_TOKEN or OPENAI_*, or one listed in $${ALLOWED_KEY_ENVS_VAR} (set outside the pipeline file)`;

/** May a pipeline file name `name` as api_key_env? */
export function keyEnvAllowed(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (KEY_ENV_PATTERNS.some((p) => p.test(name))) return true;
  const listed = (env[ALLOWED_KEY_ENVS_VAR] ?? '').split(/[\s,]+/).filter(Boolean);
  return listed.includes(name);
}

/** 127.0.0.0/8, ::1 (also as an IPv4-mapped address) and localhost: traffic never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h) || /^::ffff:7f/.test(h);
  return false;
}

/** The host a key would travel to in cleartext, or undefined when it would not. */
export function cleartextKeyHost(baseUrl: string, hasKey: boolean): string | undefined {
  if (!hasKey) return undefined;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return undefined; // the schema reports a malformed URL
  }
  if (url.protocol !== 'http:' || isLoopbackHost(url.hostname)) return undefined;
  return url.host;
}

type OpenAISpec = Extract<JudgeSpec, { kind: 'openai' }>;

/** The warning a run prints for each judge allowed to send its key in cleartext. */
export function insecureKeyWarnings(judges: Record<string, JudgeSpec>): string[] {
  return Object.entries(judges)
    .filter((e): e is [string, OpenAISpec] => e[1].kind === 'openai')
    .flatMap(([name, j]) => {
      const host = cleartextKeyHost(j.base_url, !!j.api_key_env);
      return host && j.allow_insecure_http
        ? [
            `judge '${name}': the API key in ${j.api_key_env} is sent unencrypted over http:// to ${host} (allow_insecure_http: true)`,
          ]
        : [];
    });
}

type AddProblem = (path: (string | number)[], message: string) => void;

/** Reports api_key_env names outside the rule and keys bound for a non-loopback http:// host. */
export function checkSecrets(
  raw: unknown,
  add: AddProblem,
  env: NodeJS.ProcessEnv = process.env,
): void {
  const top = isRecord(raw) ? raw : {};
  if (isRecord(top.model) && top.model.backend === 'openai')
    checkServerKey(top.model, ['model'], 'model', 'the policy server', add, env);
  const judges = top.judges;
  if (!isRecord(judges)) return;
  for (const [name, j] of Object.entries(judges))
    if (isRecord(j) && j.kind === 'openai')
      checkServerKey(j, ['judges', name], `judges.${name}`, 'a judge', add, env);
}

/** One server's api_key_env name and where its key would travel. */
function checkServerKey(
  j: Record<string, unknown>,
  at: string[],
  label: string,
  whom: string,
  add: AddProblem,
  env: NodeJS.ProcessEnv,
): void {
  const keyEnv = typeof j.api_key_env === 'string' ? j.api_key_env : undefined;
  if (keyEnv !== undefined && !keyEnvAllowed(keyEnv, env))
    add(
      [...at, 'api_key_env'],
      `${label}.api_key_env: '${keyEnv}' may not be sent to ${whom} (expected ${KEY_ENV_RULE})`,
    );
  const host = typeof j.base_url === 'string' ? cleartextKeyHost(j.base_url, !!keyEnv) : undefined;
  if (host && j.allow_insecure_http !== true)
    add(
      [...at, 'base_url'],
      `${label}.base_url: the API key in ${keyEnv} would be sent unencrypted over http:// to ${host} ` +
        '(expected https://, a loopback host (127.0.0.0/8, ::1, localhost), or allow_insecure_http: true)',
    );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
