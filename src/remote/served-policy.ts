// The policy on an OpenAI-compatible server (vLLM, SGLang, `pipeline serve`): generation,
// self-judging, critique/revision and evaluation go through the server's /v1/completions, and so
// do the log-probs the loop needs (echo + logprobs). The local checkpoint folder supplies config
// and tokenizer, so prompts are templated and rows tokenized exactly as the in-process engine
// does, and the numbers of the two backends compare.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import { PipelineError } from '../core/errors.js';
import {
  ModelText,
  scoreResults,
  type GenerateOptions,
  type GenerateResult,
  type GenerateStats,
  type ModelEngine,
  type ModelInfo,
  type PromptInput,
  type PromptLogprobs,
  type ScoreResult,
  type SequenceScore,
} from '../engine/index.js';
import { isRecord, OpenAIHttp } from '../judges/openai-http.js';
import { AnswerProblem, echoBody, parseEcho, parseSamples, sampleBody } from './completions.js';

export interface ServerSettings {
  baseUrl: string;
  /** The name the server serves the base model under. */
  model: string;
  apiKey?: string;
  apiKeyEnv?: string;
  adapters: 'vllm' | 'none';
  concurrency: number;
  timeoutS: number;
  signal?: AbortSignal;
  maxTries?: number;
  /** The run will load adapters (LoRA rounds, an initial adapter): check the API up front. */
  needsAdapters?: boolean;
  /** model.restart_command: makes the server serve a full checkpoint ({path}, {name}). */
  restartCommand?: string[];
  restartTimeoutS?: number;
  /**
   * Set for a full checkpoint a round trained (`model` is then the name to serve it under): the
   * server is restarted on it (restartCommand) or the run stops saying how.
   */
  checkpoint?: { path: string; runId: string };
}

export interface ServedPolicyOptions {
  /** The local checkpoint (config + tokenizer) the server serves. */
  path: string;
  /** A PEFT adapter folder to load into the server and sample from. */
  adapter?: string;
  /** Names the loaded adapter: `${label}-${content hash}` (e.g. "run-3-round-2"). */
  adapterLabel?: string;
}

/** Who is asking, in every message. */
const WHO = 'policy server';

export class ServedPolicy implements ModelEngine {
  readonly info: ModelInfo;
  /** What requests name: the base model, or the adapter loaded for this policy. */
  readonly servedModel: string;
  readonly concurrency: number;
  private readonly queue: PQueue;

  private constructor(
    private readonly http: OpenAIHttp,
    private readonly text: ModelText,
    private readonly settings: ServerSettings,
    private readonly adapterName: string | undefined,
    adapter: string | undefined,
  ) {
    this.servedModel = adapterName ?? settings.model;
    this.info = {
      ...text.info({ adapter, device: 'cpu' }),
      ref: `${http.base} ${this.servedModel}`,
    };
    this.concurrency = settings.concurrency;
    this.queue = new PQueue({ concurrency: settings.concurrency });
  }

  /** Check the server (once per server and model), load the adapter if any, and open. */
  static async open(s: ServerSettings, o: ServedPolicyOptions): Promise<ServedPolicy> {
    const http = serverHttp(s);
    const text = ModelText.open(o.path);
    await checkServer(http, s, text);
    let name: string | undefined;
    if (o.adapter) {
      const dir = resolve(o.adapter);
      name = `${o.adapterLabel ?? 'adapter'}-${adapterHash(dir)}`;
      await loadAdapter(http, s, name, dir);
    }
    return new ServedPolicy(http, text, s, name, o.adapter);
  }

  /** Base URL, served name and adapter: what the ledger records for every request. */
  get identity(): { base_url: string; model: string; adapter: string | null } {
    return {
      base_url: this.http.base,
      model: this.settings.model,
      adapter: this.adapterName ?? null,
    };
  }

  async generate(
    prompts: PromptInput[],
    opts: GenerateOptions,
    onResult?: (e: { index: number; result: GenerateResult; stats: GenerateStats }) => void,
  ): Promise<{ results: GenerateResult[]; stats: GenerateStats }> {
    const stats: GenerateStats = { prefillTokens: 0, prefillMs: 0, decodeTokens: 0, decodeMs: 0 };
    const results = await Promise.all(
      prompts.map((p, i) =>
        this.queue.add(async () => {
          const ids = this.text.encodePrompt(p);
          // as the in-process engine seeds a several-prompt call (local-engine.ts)
          const seed = opts.seeds?.[i] ?? opts.seed + i * 1_000_003;
          const t0 = performance.now();
          const json = await this.post(sampleBody(this.servedModel, ids, opts, seed));
          const completions = this.read(() =>
            parseSamples(json, opts.n, this.text, opts.topLogprobs),
          );
          const result: GenerateResult = { promptTokenIds: ids, completions };
          stats.prefillTokens += ids.length;
          stats.decodeTokens += completions.reduce((s, c) => s + c.tokenIds.length, 0);
          stats.decodeMs += performance.now() - t0;
          onResult?.({ index: i, result, stats });
          return result;
        }),
      ),
    );
    return { results: results as GenerateResult[], stats };
  }

  async promptLogprobs(prompts: PromptInput[]): Promise<PromptLogprobs[]> {
    return Promise.all(
      prompts.map(async (p) => {
        const ids = this.text.encodePrompt(p);
        return {
          ids,
          tokens: ids.map((id) => this.text.tokenText(id)),
          logprobs: await this.echo(ids),
        };
      }),
    );
  }

  async score(rows: unknown[], labels: string[]): Promise<ScoreResult[]> {
    const { parsed, seqs } = this.text.scoreSequences(rows, labels);
    const scores = await Promise.all(
      seqs.map(async (s): Promise<SequenceScore> => {
        const lps = await this.echo([...s.promptIds, ...s.responseIds]);
        const tokenLogprobs = lps.slice(s.promptIds.length) as number[];
        // summed in order, as scoreSequences sums the engine's float32 terms
        let logps = 0;
        for (const v of tokenLogprobs) logps += v;
        return { logps, tokenLogprobs };
      }),
    );
    return scoreResults(parsed, scores);
  }

  /**
   * log p(first token of each option | prompt + prefix): each option's token appended to the
   * prompt and echoed (one request per distinct token; a server with prefix caching prefills once).
   */
  async choiceLogprobs(prompt: PromptInput, prefix: string, options: string[]): Promise<number[]> {
    const { ids, firstIds } = this.text.choiceIds(prompt, prefix, options);
    const distinct = [...new Set(firstIds)];
    const got = await Promise.all(
      distinct.map(async (id) => (await this.echo([...ids, id]))[ids.length] as number),
    );
    return firstIds.map((id) => got[distinct.indexOf(id)]);
  }

  /** Unload this policy's adapter: the next round's takes its place. */
  async close(): Promise<void> {
    await this.queue.onIdle();
    if (!this.adapterName) return;
    // best effort: a server restarted meanwhile has forgotten it anyway
    await this.http
      .request('POST', '/unload_lora_adapter', { lora_name: this.adapterName })
      .catch(() => undefined);
  }

  private echo(ids: number[]): Promise<(number | null)[]> {
    return this.queue.add(async () => {
      const json = await this.post(echoBody(this.servedModel, ids));
      return this.read(() => parseEcho(json, ids));
    }) as Promise<(number | null)[]>;
  }

  private post(body: Record<string, unknown>): Promise<unknown> {
    return this.http.json('POST', '/completions', body);
  }

  private read<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof AnswerProblem) throw capabilityError(this.http, this.servedModel, e.message);
      throw e;
    }
  }
}

function serverHttp(s: ServerSettings): OpenAIHttp {
  return new OpenAIHttp({
    who: WHO,
    codePrefix: 'E_POLICY_SERVER',
    loadKnob: 'model.concurrency',
    baseUrl: s.baseUrl,
    apiKey: s.apiKey,
    apiKeyEnv: s.apiKeyEnv,
    timeoutS: s.timeoutS,
    maxTries: s.maxTries,
    signal: s.signal,
  });
}

function capabilityError(http: OpenAIHttp, model: string, lacks: string): PipelineError {
  return new PipelineError({
    code: 'E_POLICY_SERVER_CAPABILITY',
    message: `${WHO} ${http.base} (model '${model}') does not give ${lacks}`,
    hint:
      'the loop needs /v1/completions with token-id prompts, echo + logprobs (reference log-probs, ' +
      "drift and KL) and vLLM's return_tokens_as_token_ids (each candidate's tokens): use vLLM, " +
      'SGLang or `pipeline serve`, or backend: engine',
  });
}

/** Checks made once per server and model in a process: the model exists, the API has what we need. */
const checked = new Map<string, Promise<void>>();

async function checkServer(http: OpenAIHttp, s: ServerSettings, text: ModelText): Promise<void> {
  const key = JSON.stringify([http.base, s.model]);
  let p = checked.get(key);
  if (!p) {
    p = probe(http, s, text);
    checked.set(key, p);
    p.catch(() => checked.delete(key));
  }
  await p;
}

async function servedIds(http: OpenAIHttp): Promise<string[]> {
  const listing = await http.json('GET', '/models');
  return isRecord(listing) && Array.isArray(listing.data)
    ? listing.data.flatMap((m) => (isRecord(m) && typeof m.id === 'string' ? [m.id] : []))
    : [];
}

/**
 * A full checkpoint the server does not serve yet: run model.restart_command and wait until the
 * server lists it, or stop with the command to run by hand (the run resumes once it is served).
 */
async function restartOnCheckpoint(
  http: OpenAIHttp,
  s: ServerSettings,
  text: ModelText,
): Promise<void> {
  const { path, runId } = s.checkpoint!;
  const fill = (a: string) => a.replaceAll('{path}', path).replaceAll('{name}', s.model);
  if (!s.restartCommand)
    throw new PipelineError({
      code: 'E_POLICY_SERVER_RESTART',
      message: `the round's full checkpoint ${path} must be served as '${s.model}' before the run goes on (${WHO} ${http.base} does not list it)`,
      hint:
        `restart the server on it, e.g. \`vllm serve ${path} --served-model-name ${s.model}\`, then ` +
        `\`pipeline run <pipeline file> --resume ${runId}\`; or set model.restart_command to do it`,
    });
  const [cmd, ...args] = s.restartCommand.map(fill);
  await runRestart(cmd, args);
  const timeoutS = s.restartTimeoutS ?? 900;
  const until = Date.now() + timeoutS * 1000;
  for (;;) {
    const ids = await servedIds(http).catch(() => [] as string[]); // down while it restarts
    if (ids.includes(s.model)) break;
    if (Date.now() > until)
      throw new PipelineError({
        code: 'E_POLICY_SERVER_RESTART',
        message: `model.restart_command ran, but ${WHO} ${http.base} did not list '${s.model}' within ${timeoutS} s`,
        hint: 'check that the command serves {path} under {name}, or raise model.restart_timeout_s',
      });
    await sleep(2000, undefined, { signal: s.signal });
  }
  await probe(http, { ...s, checkpoint: undefined }, text);
}

/** The restart command, to its exit; a failure shows its last lines of output. */
function runRestart(cmd: string, args: string[]): Promise<void> {
  return new Promise((done, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const failed = (why: string) =>
      reject(
        new PipelineError({
          code: 'E_POLICY_SERVER_RESTART',
          message: `model.restart_command (${[cmd, ...args].join(' ')}) ${why}${tail.trim() ? `:\n${tail.trim().split('\n').slice(-20).join('\n')}` : ''}`,
          hint: 'fix the command (argv, no shell; {path} and {name} are filled in) and resume the run',
        }),
      );
    child.on('error', (e) => failed(`could not start: ${e.message}`));
    child.on('close', (code, signal) =>
      code === 0 ? done() : failed(signal ? `was killed by ${signal}` : `exited with ${code}`),
    );
  });
}

async function probe(http: OpenAIHttp, s: ServerSettings, text: ModelText): Promise<void> {
  const ids = await servedIds(http);
  if (!ids.includes(s.model) && s.checkpoint) return restartOnCheckpoint(http, s, text);
  if (!ids.includes(s.model))
    throw new PipelineError({
      code: 'E_POLICY_SERVER_MODEL',
      message: `${WHO} ${http.base} does not serve '${s.model}' (model.model)${ids.length ? `; it serves ${ids.map((i) => `'${i}'`).join(', ')}` : ''}`,
      hint: 'set model.model to the name the server was started with (vLLM: --served-model-name)',
    });
  // a short chat prompt, scored: token-id prompts, echo, log-probs and ids in one request
  const ids2 = text.encodePrompt({ messages: [{ role: 'user', content: 'Hello' }] }).slice(0, 8);
  const json = await http.json('POST', '/completions', echoBody(s.model, ids2));
  try {
    parseEcho(json, ids2);
  } catch (e) {
    if (e instanceof AnswerProblem) throw capabilityError(http, s.model, e.message);
    throw e;
  }
  if (s.needsAdapters && s.adapters === 'vllm') {
    // an empty body: a server with the API refuses it as malformed; one without has no route
    const { outcome } = await http.request('POST', LOAD, {});
    if (outcome.kind === 'http' && lacksLoraApi(outcome.status, outcome.serverMessage))
      throw noLoraApi(http, outcome.status);
  }
}

const LOAD = '/load_lora_adapter';

/** vLLM without runtime LoRA updating has no such route (404); `pipeline serve` says it is off. */
function lacksLoraApi(status: number, message: string): boolean {
  return (
    status === 404 || status === 405 || /lora (loading|updating) is (off|disabled)/i.test(message)
  );
}

function noLoraApi(http: OpenAIHttp, status: number): PipelineError {
  return new PipelineError({
    code: 'E_POLICY_SERVER_ADAPTERS',
    message: `${WHO} ${http.base} has no runtime LoRA API (POST ${http.url(LOAD)} answered ${status}), which loads each round's adapter`,
    hint:
      'start vLLM with --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True (and --max-lora-rank ' +
      'at least the lora r), or `pipeline serve` (it has the API)',
  });
}

/** A LoRA adapter's name suffix: its weights' content, so a name never means two adapters. */
function adapterHash(dir: string): string {
  const h = createHash('sha256').update(readFileSync(join(dir, 'adapter_model.safetensors')));
  return h.digest('hex').slice(0, 12);
}

/** vLLM's runtime LoRA API: POST /v1/load_lora_adapter {lora_name, lora_path}. */
async function loadAdapter(
  http: OpenAIHttp,
  s: ServerSettings,
  name: string,
  dir: string,
): Promise<void> {
  if (s.adapters === 'none')
    throw new PipelineError({
      code: 'E_POLICY_SERVER_ADAPTERS',
      message: `the policy is an adapter (${dir}) but model.adapters is none: the server cannot load it`,
      hint: 'use adapters: vllm with a server that loads adapters at run time',
    });
  const { outcome, tries } = await http.request('POST', LOAD, { lora_name: name, lora_path: dir });
  if (outcome.kind === 'ok') return;
  // the same name is the same weights (content hash): loaded before, by an earlier attempt
  if (outcome.kind === 'http' && /already (been )?loaded/i.test(outcome.serverMessage)) return;
  if (outcome.kind === 'http' && lacksLoraApi(outcome.status, outcome.serverMessage))
    throw noLoraApi(http, outcome.status);
  throw http.error(outcome, tries, 'POST', LOAD);
}
