// What a pull is asked for: a Hugging Face model repository id and the hub it lives on, checked
// before anything touches the network so a typo fails fast with a usage error (exit code 2).

import { join } from 'node:path';
import { PipelineError } from '../core/errors.js';

export const DEFAULT_HUB_URL = 'https://huggingface.co';

// HF's own rule (huggingface_hub validate_repo_id): word chars, '-', '.', at most 96, no '--'/'..'.
const REPO_PART = /^[A-Za-z0-9](?:[\w.-]{0,94}[A-Za-z0-9_])?$/;
const REPO_TYPE_PREFIXES = ['datasets', 'spaces', 'models', 'model', 'buckets', 'kernels'];

/** Check a repo id and split it; throws E_PULL_REPO_ID. */
export function parseRepoId(input: string): { id: string; owner?: string; name: string } {
  const raw = input.trim().replace(/^hf:/, '');
  const bad = (why: string): never => {
    throw new PipelineError({
      code: 'E_PULL_REPO_ID',
      message: `invalid repository id '${input}': ${why}`,
      hint: 'give a Hugging Face model id as owner/name or name, e.g. HuggingFaceTB/SmolLM2-135M-Instruct',
      exitCode: 2,
    });
  };
  if (raw === '') bad('it is empty');
  if (/^https?:\/\//i.test(raw)) bad('that is a URL, not a repository id');
  const parts = raw.split('/');
  if (parts.length > 2) bad('expected at most one "/" (owner/name)');
  if (parts.length === 2 && REPO_TYPE_PREFIXES.includes(parts[0]))
    bad(`'${parts[0]}/' repositories are not models; pull only downloads model repositories`);
  for (const p of parts) {
    if (!REPO_PART.test(p))
      bad(`'${p}' must be 1-96 letters, digits, '-', '_' or '.', starting with a letter or digit`);
    if (p.includes('--') || p.includes('..')) bad(`'${p}' must not contain '--' or '..'`);
  }
  if (raw.endsWith('.git')) bad("it must not end with '.git'");
  return parts.length === 2
    ? { id: raw, owner: parts[0], name: parts[1] }
    : { id: raw, name: parts[0] };
}

/** Default output folder of a pull: `models/<name part of the repo id>`. */
export function defaultPullDir(repo: string): string {
  return join('models', parseRepoId(repo).name);
}

/** Normalise and check a hub base URL (http or https, no trailing slash). */
export function normalizeHubUrl(url: string | undefined): string {
  const u = (url ?? DEFAULT_HUB_URL).trim();
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    throw new PipelineError({
      code: 'E_PULL_HUB_URL',
      message: `invalid hub URL '${u}'`,
      hint: `give an http(s) URL such as ${DEFAULT_HUB_URL} or a mirror's address`,
      exitCode: 2,
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new PipelineError({
      code: 'E_PULL_HUB_URL',
      message: `invalid hub URL '${u}': expected http:// or https://`,
      hint: `give an http(s) URL such as ${DEFAULT_HUB_URL}`,
      exitCode: 2,
    });
  return u.replace(/\/+$/, '');
}
