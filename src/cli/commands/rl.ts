// `pipeline rl`: one-off online RL (GRPO, RLOO, REINFORCE++) of a model on a prompt file with
// rule-judge rewards, outside a pipeline — what `pipeline train` is to the train stage. Every
// setting of the rl stage is a flag (generated from the stage's schema, so the two cannot drift
// apart, and validated by it); the loop is the stage's own (stages/rl/loop.ts).
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import * as z from 'zod';
import { fail } from '../../core/errors.js';
import { Engine, type Device } from '../../engine/index.js';
import { RewardModelJudge } from '../../judges/reward-model-judge.js';
import { RuleJudge } from '../../judges/rule-judge.js';
import { loadPromptSet } from '../../prompts/prompt-set.js';
import { judgeSchema, rlStageSchema, type RlStageSpec } from '../../spec/schema.js';
import { readPipelineFile } from '../../spec/read-file.js';
import { rlAlgorithmProblems } from '../../spec/validate/rl-algorithm.js';
import { rlJobOf } from '../../stages/rl/job.js';
import { runRlLoop } from '../../stages/rl/loop.js';
import { judgeRewards, type RewardJudge } from '../../stages/rl/rewards.js';
import type { CliContext } from '../context.js';
import { deviceOption, intArg, threadsOption } from '../options.js';

/** Stage fields that are not flags of their own: the judges come from --judge, LoRA is split. */
const NOT_FLAGS = new Set(['kind', 'reward_judges', 'lora']);

interface JsonProp {
  type?: string;
  enum?: string[];
  items?: { type?: string };
  description?: string;
  default?: unknown;
}

const flagOf = (field: string) => `--${field.replaceAll('_', '-')}`;
const camel = (field: string) => field.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** One commander option per rl stage field, typed from its JSON Schema; ranges are the schema's. */
function stageOptions(cmd: Command): string[] {
  const schema = z.toJSONSchema(rlStageSchema, { io: 'input' }) as {
    properties: Record<string, JsonProp>;
  };
  const fields: string[] = [];
  for (const [field, p] of Object.entries(schema.properties)) {
    if (NOT_FLAGS.has(field)) continue;
    fields.push(field);
    const help = `${p.description ?? ''}${p.default !== undefined ? ` (default ${JSON.stringify(p.default)})` : ''}`;
    if (p.type === 'boolean') {
      cmd.addOption(new Option(flagOf(field), help));
      cmd.addOption(new Option(`--no-${field.replaceAll('_', '-')}`).hideHelp());
      continue;
    }
    const o = new Option(`${flagOf(field)} <${p.type === 'array' ? 'list' : 'value'}>`, help);
    if (p.enum) o.choices(p.enum);
    else if (p.type === 'array') o.argParser(numberList);
    else if (p.type === 'number' || p.type === 'integer') o.argParser(Number);
    cmd.addOption(o);
  }
  return fields;
}

function numberList(v: string): number[] {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.some((x) => !Number.isFinite(x)))
    throw new InvalidArgumentError(`expected comma-separated numbers, got '${v}'.`);
  return xs;
}

/**
 * The named judges of a YAML file's `judges:` map (a pipeline file, or a file of just that): rule
 * judges and reward models (paths relative to the file).
 */
function readJudges(path: string): RewardJudge[] {
  const file = readPipelineFile(path);
  const value = file.value as { judges?: unknown } | null;
  const judges = value && typeof value === 'object' && 'judges' in value ? value.judges : value;
  if (!judges || typeof judges !== 'object' || Array.isArray(judges))
    fail(
      'E_RL_JUDGES',
      `${path}: expected a map of named judges (or a pipeline file with judges:)`,
      'e.g.  short: { kind: rule, rules: [{ kind: length, max: 200 }] }',
    );
  return Object.entries(judges as Record<string, unknown>).map(([id, raw]) => {
    const parsed = judgeSchema.safeParse(raw);
    if (!parsed.success)
      fail(
        'E_RL_JUDGES',
        `${path}: judge '${id}': ${parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ')}`,
        '`pipeline schema` shows the fields of a judge',
      );
    const j = parsed.data;
    const near = (p: string) => resolve(dirname(path), p);
    if (j.kind === 'rule') return { id, kind: 'rule', rules: new RuleJudge(j.rules, near) };
    if (j.kind === 'reward_model' && j.path)
      return {
        id,
        kind: 'reward_model',
        rm: new RewardModelJudge(j.path.startsWith('builtin:') ? j.path : near(j.path), {
          device: j.device,
          threads: j.threads,
          batchSize: j.batch_size,
        }),
      };
    return fail(
      'E_RL_JUDGES',
      j.kind === 'reward_model'
        ? `${path}: reward model judge '${id}' has no path (trained: true needs a pipeline's reward_model stage)`
        : `${path}: judge '${id}' is a ${j.kind} judge; pipeline rl is rewarded by rule judges and reward models`,
      'use kind: rule (length, regex, json_valid, banned_phrases or sandbox rules) or kind: reward_model with a path',
    );
  });
}

/** The flags as an rl stage, validated by the stage's schema (so ranges and defaults are its own). */
function stageOf(flags: Record<string, unknown>, fields: string[], judges: string[]): RlStageSpec {
  const raw: Record<string, unknown> = { kind: 'rl', reward_judges: judges };
  for (const f of fields) if (flags[camel(f)] !== undefined) raw[f] = flags[camel(f)];
  raw.lora = {
    r: flags.loraR,
    alpha: flags.loraAlpha,
    ...(flags.loraTargets ? { target_modules: flags.loraTargets } : {}),
  };
  const parsed = rlStageSchema.safeParse(raw);
  if (!parsed.success)
    fail(
      'E_USAGE',
      parsed.error.issues.map((i) => `${flagOf(String(i.path[0] ?? ''))}: ${i.message}`).join('; '),
      '`pipeline rl --help` lists every flag with its default',
    );
  const spec = parsed.data as RlStageSpec;
  const problems = rlAlgorithmProblems(spec);
  if (problems.length)
    fail(
      'E_USAGE',
      problems.map((p) => `${flagOf(p.field)}: ${p.message}`).join('; '),
      '`pipeline rl --help` lists every flag with its default',
    );
  return spec;
}

async function runRl(flags: Record<string, unknown>, fields: string[], ctx: CliContext) {
  const judges = readJudges(flags.judge as string);
  const spec = stageOf(
    flags,
    fields,
    judges.map((j) => j.id),
  );
  if (spec.reward_weights && spec.reward_weights.length !== judges.length)
    fail(
      'E_USAGE',
      `--reward-weights has ${spec.reward_weights.length} weights for ${judges.length} judges in ${flags.judge as string}`,
      'give one weight per judge, in the order of the file',
    );
  const prompts = loadPromptSet(flags.prompts as string);
  const out = flags.out as string;
  mkdirSync(out, { recursive: true });
  const samplesFile = join(out, 'samples.jsonl');
  writeFileSync(samplesFile, '');
  const seed = flags.seed as number;
  const session = await Engine.rl(
    rlJobOf(spec, {
      model: flags.model as string,
      adapter: flags.adapter as string | undefined,
      refModel: flags.refModel as string | undefined,
      refAdapter: flags.refAdapter as string | undefined,
      seed,
      threads: flags.threads as number | undefined,
      device: flags.device as Device,
    }),
  );
  const t0 = performance.now();
  const total = spec.steps * spec.num_iterations;
  try {
    const history = await runRlLoop(
      session,
      spec,
      prompts,
      judgeRewards(judges, spec.reward_weights),
      seed,
      {
        stopped: () => false,
        seed: (step) => seed * 1_000_003 + step,
        onStep: (m, batch) => {
          const line = { ...m, ...batch };
          if (flags.json) ctx.out(JSON.stringify(line) + '\n');
          else
            ctx.err(
              `step ${m.step}/${total}  reward ${fmt(batch.reward)}  kl ${fmt(m.kl)}  entropy ${fmt(m.entropy)}` +
                `  loss ${fmt(m.loss)}  grad_norm ${fmt(m.grad_norm)}  lr ${fmt(m.learning_rate)}\n`,
            );
        },
        onBatch: (step, s, sampled, trained) =>
          appendFileSync(
            samplesFile,
            sampled
              .map(
                (x, i) =>
                  JSON.stringify({
                    step,
                    seed: s,
                    prompt: x.prompt.messages,
                    prompt_id: x.prompt.id,
                    idx: x.idx,
                    completion: x.completion.text,
                    finish_reason: x.completion.finishReason,
                    rewards: x.perJudge,
                    reward: x.reward,
                    advantage: trained.advantages[i],
                    old_logps: trained.oldLogps[i],
                    ref_logps: trained.refLogps?.[i] ?? null,
                    trained: trained.trained[i],
                  }) + '\n',
              )
              .join(''),
          ),
      },
    );
    const saved = await session.save(out, history);
    ctx.err(
      `trained ${history.length} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
        `${saved.kind === 'lora' ? 'adapter' : 'checkpoint'} ${out}; samples ${samplesFile}\n`,
    );
  } finally {
    await session.close();
  }
}

const fmt = (x: number | undefined) =>
  x === undefined
    ? '-'
    : Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3)
      ? x.toExponential(2)
      : x.toFixed(4);

export function registerRl(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('rl')
    .description(
      'online RL (GRPO, RLOO, REINFORCE++, PPO) of a model on a prompt file, rewarded by rule judges or reward models: samples, rewards and updates until --steps; writes the adapter (or checkpoint), train_metrics.jsonl and samples.jsonl',
    )
    .option('--model <dir>', 'base model: Hugging Face folder or builtin:…', 'builtin:tiny')
    .requiredOption(
      '--prompts <file.jsonl>',
      'prompts in TRL prompt format ({"prompt": ...} per line)',
    )
    .requiredOption(
      '--judge <file.yaml>',
      'YAML map of named rule judges (or a pipeline file: its judges:); each one rewards, weighted by --reward-weights',
    )
    .requiredOption(
      '--out <dir>',
      'where the adapter (or full checkpoint with --full) and the logs are written',
    )
    .option('--adapter <dir>', 'continue training this PEFT LoRA adapter')
    .option('--ref-model <dir>', 'reference model (default: the base model, without adapter)')
    .option('--ref-adapter <dir>', 'apply this adapter to the reference model')
    .addOption(new Option('--lora-r <r>', 'LoRA rank').argParser(intArg(1, 4096)).default(16))
    .addOption(
      new Option('--lora-alpha <a>', 'LoRA alpha (scale = alpha / r)')
        .argParser(Number)
        .default(32),
    )
    .addOption(
      new Option('--lora-targets <modules>', 'Linear modules to adapt, comma-separated').argParser(
        (v: string) =>
          v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
      ),
    )
    .addOption(
      new Option('--seed <s>', 'seed for LoRA init, prompt order and sampling')
        .argParser(intArg(0))
        .default(0),
    );
  const fields = stageOptions(cmd);
  cmd
    .addOption(deviceOption())
    .addOption(threadsOption())
    .option('--json', 'print one JSON metrics object per step on stdout');
  cmd.action((f: Record<string, unknown>) => runRl(f, fields, ctx));
}
