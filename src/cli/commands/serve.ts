import { Option, type Command } from 'commander';
import { type Device, Engine } from '../../engine/index.js';
import { PipelineError } from '../../core/errors.js';
import { SERVE_DEFAULTS, startServer, type RunningServer } from '../../serve/server.js';
import type { CliContext } from '../context.js';
import {
  deviceOption,
  intArg,
  threadsOption,
  quantizeOptions,
  quantizeOpts,
  type QuantizeFlags,
} from '../options.js';
import { untilStopped } from '../until-stopped.js';

interface ServeFlags extends QuantizeFlags {
  model: string;
  adapter?: string;
  host: string;
  port: number;
  servedModelName?: string;
  apiKeyEnv?: string;
  maxBatchSize: number;
  maxQueue: number;
  batchWaitMs: number;
  continuousBatching: boolean;
  maxBodyBytes: number;
  defaultMaxTokens: number;
  loraLoading: boolean;
  device: Device;
  threads?: number;
  quiet?: boolean;
}

function apiKeyFrom(env: string | undefined): string | undefined {
  if (env === undefined) return undefined;
  const key = process.env[env];
  if (!key)
    throw new PipelineError({
      code: 'E_SERVE_API_KEY',
      message: `--api-key-env ${env}: the environment variable ${env} is not set or empty`,
      hint: `export ${env}=<a secret key> before starting the server`,
      exitCode: 2,
    });
  return key;
}

/** Serve until SIGINT/SIGTERM, then finish the requests in flight and exit. */
async function runServe(f: ServeFlags, ctx: CliContext): Promise<void> {
  const apiKey = apiKeyFrom(f.apiKeyEnv);
  const open = (adapter?: string) =>
    Engine.open(f.model, { adapter, device: f.device, threads: f.threads, ...quantizeOpts(f) });
  const engine = await open(f.adapter);
  let server: RunningServer;
  try {
    server = await startServer(
      {
        engine,
        modelName: f.servedModelName ?? f.model,
        openAdapter: f.loraLoading ? (path) => open(path) : undefined,
        apiKey,
        maxBatchSize: f.maxBatchSize,
        maxQueue: f.maxQueue,
        batchWaitMs: f.batchWaitMs,
        continuousBatching: f.continuousBatching,
        maxBodyBytes: f.maxBodyBytes,
        defaultMaxTokens: f.defaultMaxTokens,
        log: f.quiet ? undefined : (line) => ctx.err(`${line}\n`),
      },
      { host: f.host, port: f.port },
    );
  } catch (e) {
    await engine.close();
    const err = e as NodeJS.ErrnoException;
    throw new PipelineError({
      code: 'E_SERVE_LISTEN',
      message: `cannot listen on ${f.host}:${f.port}: ${err.message}`,
      hint:
        err.code === 'EADDRINUSE'
          ? `port ${f.port} is in use: pass another --port (0 picks a free one) or stop the other server`
          : 'check --host and --port',
    });
  }
  const name = f.servedModelName ?? f.model;
  ctx.out(
    `serving ${name}${f.adapter ? ` (adapter ${f.adapter})` : ''} at ${server.url}/v1` +
      `${apiKey ? ' (API key required)' : ''} (Ctrl-C to stop)\n`,
  );
  await untilStopped();
  ctx.err('stopping: finishing the requests in flight (Ctrl-C again to quit now)\n');
  const now = () => process.exit(130);
  process.once('SIGINT', now);
  try {
    await server.drain();
  } finally {
    process.off('SIGINT', now);
  }
  ctx.err('stopped\n');
}

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description(
      'serve a model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models, vLLM-style LoRA loading)',
    )
    .option(
      '--model <dir>',
      'Hugging Face model folder, builtin:tiny or builtin:sandbox',
      'builtin:tiny',
    )
    .option('--adapter <dir>', 'PEFT LoRA adapter folder applied to the served model')
    .option('--host <host>', 'address to bind (loopback unless you mean to share it)', '127.0.0.1')
    .addOption(
      new Option('--port <port>', 'port to listen on (0 picks a free one)')
        .argParser(intArg(0, 65535))
        .default(8000),
    )
    .option(
      '--served-model-name <name>',
      "the model's name in requests (default: the --model value)",
    )
    .option(
      '--api-key-env <VAR>',
      'require "Authorization: Bearer <key>" with the key read from this environment variable',
    )
    .addOption(
      new Option(
        '--max-batch-size <n>',
        'prompts per engine call at most (requests with equal sampling options share a call)',
      )
        .argParser(intArg(1, 1024))
        .default(SERVE_DEFAULTS.maxBatchSize),
    )
    .addOption(
      new Option(
        '--max-queue <n>',
        'requests waiting per model at most; more get 429 with Retry-After',
      )
        .argParser(intArg(1))
        .default(SERVE_DEFAULTS.maxQueue),
    )
    .option(
      '--no-continuous-batching',
      'static batching: requests waiting together share one engine call, later ones wait for it ' +
        '(default: requests join the running decode loop at its next step)',
    )
    .addOption(
      new Option(
        '--batch-wait-ms <ms>',
        'static batching: how long an engine call waits for more requests to join its batch',
      )
        .argParser(intArg(0, 10_000))
        .default(SERVE_DEFAULTS.batchWaitMs),
    )
    .addOption(
      new Option('--max-body-bytes <n>', 'largest request body; larger ones get 413')
        .argParser(intArg(1))
        .default(SERVE_DEFAULTS.maxBodyBytes),
    )
    .addOption(
      new Option(
        '--default-max-tokens <k>',
        'max_tokens of a chat request that gives none (completions: 16, as OpenAI)',
      )
        .argParser(intArg(1))
        .default(SERVE_DEFAULTS.defaultMaxTokens),
    )
    .option(
      '--no-lora-loading',
      'refuse /v1/load_lora_adapter (each loaded adapter holds its own copy of the model)',
    )
    .addOption(deviceOption())
    .addOption(threadsOption())
    .addOption(quantizeOptions()[0])
    .addOption(quantizeOptions()[1])
    .option('--quiet', 'do not log one line per request on stderr')
    .action((f: ServeFlags) => runServe(f, ctx));
}
