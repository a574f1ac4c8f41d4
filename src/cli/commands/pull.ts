import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { PipelineError } from '../../core/errors.js';
import { formatBytes } from '../../hub/disk-space.js';
import { pullModel, type PullProgress, type PullResult } from '../../hub/pull.js';
import {
  DEFAULT_HUB_URL,
  defaultPullDir,
  normalizeHubUrl,
  parseRepoId,
} from '../../hub/repo-id.js';

interface PullFlags {
  revision?: string;
  hubUrl?: string;
  out?: string;
  tokenEnv?: string;
  json?: boolean;
}

/** Files at least this big also get a line at each quarter, so long downloads show progress. */
const LARGE_FILE = 64 * 1024 * 1024;

export function registerPull(program: Command, ctx: CliContext): void {
  program
    .command('pull')
    .description(
      'download a Hugging Face model (config, tokenizer, safetensors weights) into models/<name>',
    )
    .argument('<repo-id>', 'model repository, owner/name or name, e.g. HuggingFaceTB/SmolLM2-135M')
    .option('--revision <rev>', 'branch, tag or commit to download', 'main')
    .option(
      '--hub-url <url>',
      `hub or mirror base URL (default: $HF_ENDPOINT, else ${DEFAULT_HUB_URL})`,
    )
    .option('--out <dir>', 'folder to write the model into (default: models/<name>)')
    .option(
      '--token-env <name>',
      'environment variable holding a Hugging Face token, for gated or private models (default: HF_TOKEN)',
    )
    .option('--json', 'print a JSON summary on stdout')
    .addHelpText(
      'after',
      '\nAn interrupted pull keeps its partial file and resumes when run again; files already ' +
        'present are skipped.\nThe folder gets a .pull.json recording the repository, revision, ' +
        'commit and hub URL.',
    )
    .action(async (repoId: string, flags: PullFlags) => {
      const tokenVar = flags.tokenEnv ?? 'HF_TOKEN';
      const accessToken = process.env[tokenVar]?.trim() || undefined;
      if (flags.tokenEnv !== undefined && !accessToken)
        throw new PipelineError({
          code: 'E_PULL_TOKEN',
          message: `--token-env ${tokenVar}: the environment variable ${tokenVar} is not set or empty`,
          hint: `export ${tokenVar}=hf_... (a read token from https://huggingface.co/settings/tokens), or leave out --token-env`,
          exitCode: 2,
        });
      // Check the arguments before printing anything.
      const repo = parseRepoId(repoId).id;
      const hubUrl = normalizeHubUrl(
        flags.hubUrl ?? (process.env.HF_ENDPOINT?.trim() || undefined),
      );
      const outDir = flags.out ?? defaultPullDir(repo);

      if (!flags.json)
        ctx.err(`pulling ${repo}@${flags.revision ?? 'main'} from ${hubUrl} into ${outDir}\n`);
      const onProgress = flags.json ? () => {} : progressPrinter(ctx);
      const r = await pullModel({
        repo,
        revision: flags.revision,
        hubUrl,
        outDir,
        accessToken,
        onProgress,
      });
      printSummary(r, !!flags.json, ctx);
    });
}

/** A line per finished or skipped file on stderr, and a line at each quarter of a large file. */
function progressPrinter(ctx: CliContext): (e: PullProgress) => void {
  const quarters = new Map<string, number>();
  return (e) => {
    const n = `[${e.fileIndex + 1}/${e.fileCount}]`;
    const size = formatBytes(e.totalBytes ?? e.bytes);
    if (e.phase === 'skipped') ctx.err(`  ${n} ${e.file}  ${size}  (already present)\n`);
    else if (e.phase === 'done')
      ctx.err(
        `  ${n} ${e.file}  ${size}` +
          (e.resumedFrom ? `  (resumed at ${formatBytes(e.resumedFrom)})` : '') +
          '\n',
      );
    else if (e.totalBytes && e.totalBytes >= LARGE_FILE) {
      const q = Math.floor((4 * e.bytes) / e.totalBytes);
      if (q > 0 && q < 4 && q > (quarters.get(e.file) ?? 0)) {
        quarters.set(e.file, q);
        ctx.err(`  ${n} ${e.file}  ${formatBytes(e.bytes)} of ${formatBytes(e.totalBytes)}...\n`);
      }
    }
  };
}

/** Warnings on stderr; the summary on stdout, one line or (`--json`) one JSON object. */
function printSummary(r: PullResult, json: boolean, ctx: CliContext): void {
  for (const w of r.warnings) ctx.err(`warning: ${w}\n`);
  if (json) {
    ctx.out(
      JSON.stringify({
        repo: r.repo,
        revision: r.revision,
        commit: r.commit ?? null,
        hubUrl: r.hubUrl,
        outDir: r.outDir,
        files: r.files,
        downloaded: r.downloaded,
        skipped: r.skipped,
        bytes: r.bytes,
        totalBytes: r.totalBytes,
        warnings: r.warnings,
      }) + '\n',
    );
    return;
  }
  const at = r.commit ? ` (commit ${r.commit.slice(0, 12)})` : '';
  ctx.out(
    `pulled ${r.repo}@${r.revision}${at} into ${r.outDir}: ${r.files.length} files, ` +
      `${formatBytes(r.totalBytes)}; downloaded ${r.downloaded.length} (${formatBytes(r.bytes)}), ` +
      `${r.skipped.length} already present\n`,
  );
}
