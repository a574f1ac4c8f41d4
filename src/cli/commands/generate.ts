import { Option, type Command } from 'commander';
import {
  DEFAULT_GENERATE,
  type Device,
  Engine,
  type GenerateResult,
  type PromptInput,
} from '../../engine/index.js';
import { PipelineError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import {
  deviceOption,
  floatArg,
  intArg,
  threadsOption,
  quantizeOptions,
  quantizeOpts,
  type QuantizeFlags,
} from '../options.js';
import { readJsonl } from '../read-jsonl.js';

interface GenerateFlags extends QuantizeFlags {
  model: string;
  adapter?: string;
  prompt?: string;
  messages?: string;
  data?: string;
  raw?: boolean;
  n: number;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  greedy?: boolean;
  ignoreEos?: boolean;
  stop: string[];
  device: Device;
  threads?: number;
  json?: boolean;
}

function usage(message: string, hint: string): PipelineError {
  return new PipelineError({ code: 'E_USAGE', message, hint, exitCode: 2 });
}

function parseMessages(json: string, where: string): PromptInput {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (e) {
    throw usage(
      `${where}: invalid JSON: ${(e as Error).message}`,
      `pass a JSON list such as '[{"role":"user","content":"Hi"}]'`,
    );
  }
  if (
    !Array.isArray(v) ||
    v.length === 0 ||
    !v.every(
      (m) =>
        m && typeof m === 'object' && typeof m.role === 'string' && typeof m.content === 'string',
    )
  )
    throw usage(
      `${where}: messages must be a non-empty list of {"role", "content"} objects`,
      `e.g. '[{"role":"user","content":"Hi"}]'`,
    );
  return { messages: v as { role: string; content: string }[] };
}

/** Prompts from exactly one of --prompt, --messages, --data. */
function collectPrompts(f: GenerateFlags): PromptInput[] {
  const given = [f.prompt !== undefined, f.messages !== undefined, f.data !== undefined].filter(
    Boolean,
  ).length;
  if (given !== 1)
    throw usage(
      'give exactly one of --prompt, --messages or --data',
      'e.g. pipeline generate --model builtin:tiny --prompt "Hello"',
    );
  if (f.prompt !== undefined)
    return [f.raw ? { text: f.prompt } : { messages: [{ role: 'user', content: f.prompt }] }];
  if (f.messages !== undefined) return [parseMessages(f.messages, '--messages')];
  return readJsonl(f.data!).map(({ value, where }) => {
    const row = value as Record<string, unknown>;
    const p = row && typeof row === 'object' ? (row.prompt ?? row.messages) : undefined;
    if (typeof p === 'string') return { text: p };
    if (Array.isArray(p)) return parseMessages(JSON.stringify(p), where);
    throw new PipelineError({
      code: 'E_DATA_ROW',
      message: `${where}: a row needs "prompt" (text, or a list of messages) or "messages"`,
      hint: 'TRL prompt format: {"prompt": [{"role": "user", "content": "..."}]} or {"prompt": "raw text"}',
    });
  });
}

function toJson(r: GenerateResult) {
  return {
    prompt_token_ids: r.promptTokenIds,
    completions: r.completions.map((c) => ({
      text: c.text,
      token_ids: c.tokenIds,
      finish_reason: c.finishReason,
      logprobs: c.logprobs,
    })),
  };
}

/** How many candidates and how they are sampled: length, temperature, top-p/top-k, seed, stops. */
function samplingOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--n <n>', 'candidates per prompt').argParser(intArg(1, 1024)).default(1))
    .addOption(
      new Option('--max-new-tokens <k>', 'tokens to generate at most')
        .argParser(intArg(1))
        .default(DEFAULT_GENERATE.maxNewTokens),
    )
    .addOption(
      new Option('--temperature <t>', 'sampling temperature (0 = greedy)')
        .argParser(floatArg(0, 100))
        .default(1),
    )
    .addOption(
      new Option('--top-p <p>', 'nucleus sampling: keep the most likely tokens up to mass p')
        .argParser(floatArg(0, 1, { minExclusive: true }))
        .default(1),
    )
    .addOption(
      new Option('--top-k <k>', 'keep the k most likely tokens (0 = off)')
        .argParser(intArg(0))
        .default(0),
    )
    .addOption(
      new Option('--seed <s>', 'random seed (same seed, same output)')
        .argParser(intArg(0))
        .default(0),
    )
    .option('--greedy', 'always take the most likely token')
    .option('--ignore-eos', 'do not stop at end-of-sequence tokens')
    .addOption(
      new Option('--stop <string...>', 'stop when the text contains one of these strings').default(
        [],
      ),
    );
}

/** Generate for every prompt; completions on stdout (or `--json`), decode rates on stderr. */
async function runGenerate(f: GenerateFlags, ctx: CliContext): Promise<void> {
  const prompts = collectPrompts(f);
  const engine = await Engine.open(f.model, {
    adapter: f.adapter,
    device: f.device,
    threads: f.threads,
    ...quantizeOpts(f),
  });
  try {
    const opts = {
      n: f.n,
      maxNewTokens: f.maxNewTokens,
      seed: f.seed,
      stopStrings: f.stop,
      ignoreEos: !!f.ignoreEos,
      temperature: f.temperature,
      topP: f.topP,
      topK: f.topK,
      greedy: !!f.greedy,
    };
    const { results, stats } = await engine.generate(prompts, opts, ({ index, result }) => {
      if (f.json) return;
      result.completions.forEach((c, i) => {
        const head =
          prompts.length > 1 || f.n > 1
            ? `[prompt ${index + 1}, candidate ${i + 1}, ${c.finishReason}] `
            : '';
        ctx.out(`${head}${c.text}\n`);
      });
    });
    if (f.json) ctx.out(JSON.stringify({ results: results.map(toJson) }) + '\n');
    const rate = (tokens: number, ms: number) => (ms > 0 ? ((tokens * 1000) / ms).toFixed(1) : '-');
    ctx.err(
      `${engine.info.ref}: prefill ${stats.prefillTokens} tokens (${rate(stats.prefillTokens, stats.prefillMs)} tok/s), ` +
        `decode ${stats.decodeTokens} tokens (${rate(stats.decodeTokens, stats.decodeMs)} tok/s) on ${f.device}${f.quantize ? ` (${f.quantize} weights)` : ''}\n`,
    );
  } finally {
    await engine.close();
  }
}

export function registerGenerate(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('generate')
    .description('sample completions from a model (candidates of a prompt share one prefill)')
    .option('--model <dir>', 'Hugging Face model folder or builtin:tiny', 'builtin:tiny')
    .option('--adapter <dir>', 'PEFT LoRA adapter folder to apply to the model')
    .option('--prompt <text>', 'one user message (rendered with the chat template unless --raw)')
    .option('--messages <json>', 'a chat as a JSON list of {"role","content"} messages')
    .option('--data <file.jsonl>', 'prompts, one JSON row per line: {"prompt": text | messages}')
    .option('--raw', 'use --prompt as raw text, without the chat template');
  samplingOptions(cmd)
    .addOption(deviceOption())
    .addOption(threadsOption())
    .addOption(quantizeOptions()[0])
    .addOption(quantizeOptions()[1])
    .option('--json', 'print {"results": [...]} as JSON')
    .action((f: GenerateFlags) => runGenerate(f, ctx));
}
