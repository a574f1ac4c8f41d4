import { PipelineError } from '../core/errors.js';
import type { PipelineSpec } from '../spec/schema.js';
import { cleartextKeyHost } from '../spec/validate/secrets.js';
import type { ServerSettings } from './served-policy.js';

/** Defaults of a served policy's settings (schema fields without a default of their own). */
export const SERVED_DEFAULTS = { adapters: 'vllm', concurrency: 8, timeout_s: 600 } as const;

/**
 * A served policy's settings from `model:` (backend: openai). The key is read now, so a missing
 * variable stops the run before any request; the cleartext rule is enforced here too, so no path
 * around validation can send it.
 */
export function serverSettings(
  model: PipelineSpec['model'],
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): ServerSettings {
  if (!model.base_url || !model.model)
    throw new PipelineError({
      code: 'E_POLICY_SERVER_CONFIG',
      message: 'model: backend: openai needs base_url and model',
      hint: 'give the server URL (e.g. http://127.0.0.1:8000/v1) and the name it serves the model under',
    });
  const keyEnv = model.api_key_env;
  const host = cleartextKeyHost(model.base_url, !!keyEnv);
  if (host && model.allow_insecure_http !== true)
    throw new PipelineError({
      code: 'E_POLICY_SERVER_INSECURE',
      message: `refusing to send the API key in ${keyEnv} unencrypted over http:// to ${host}`,
      hint: 'use https://, a server on this machine (127.0.0.1, ::1, localhost), or set model.allow_insecure_http: true',
    });
  let apiKey: string | undefined;
  if (keyEnv) {
    apiKey = env[keyEnv];
    if (!apiKey)
      throw new PipelineError({
        code: 'E_POLICY_SERVER_API_KEY',
        message: `the environment variable ${keyEnv} (model.api_key_env) is ${apiKey === '' ? 'empty' : 'not set'}`,
        hint: `export ${keyEnv}=<key> before running, or remove api_key_env if the server needs no key`,
      });
  }
  return {
    baseUrl: model.base_url,
    model: model.model,
    apiKey,
    apiKeyEnv: keyEnv,
    adapters: model.adapters ?? SERVED_DEFAULTS.adapters,
    concurrency: model.concurrency ?? SERVED_DEFAULTS.concurrency,
    timeoutS: model.timeout_s ?? SERVED_DEFAULTS.timeout_s,
    restartCommand: model.restart_command,
    restartTimeoutS: model.restart_timeout_s,
    signal,
  };
}
