import { InvalidArgumentError, Option } from 'commander';
import { DEVICES } from '../engine/index.js';

/** Commander parsers: a bad value is a usage error (exit 2) that names the flag's rule. */
export function intArg(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(
        `expected an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ' up'}, got '${v}'.`,
      );
    return n;
  };
}

export function floatArg(min: number, max: number, opts: { minExclusive?: boolean } = {}) {
  return (v: string): number => {
    const n = Number(v);
    const low = opts.minExclusive ? n > min : n >= min;
    if (v.trim() === '' || !Number.isFinite(n) || !low || n > max)
      throw new InvalidArgumentError(
        `expected a number ${opts.minExclusive ? '>' : '>='} ${min} and <= ${max}, got '${v}'.`,
      );
    return n;
  };
}

export function deviceOption(): Option {
  return new Option('--device <device>', 'execution provider').choices([...DEVICES]).default('cpu');
}

export function threadsOption(): Option {
  return new Option(
    '--threads <n>',
    'onnxruntime intra-op threads (default: one per core)',
  ).argParser(intArg(1, 1024));
}

/** Repeatable: a folder outside the pipeline's and the project's whose files a pipeline may read. */
export function allowPathOption(): Option {
  return new Option(
    '--allow-path <dir>',
    'also let the pipeline read files under <dir> (repeatable; default: only its own folder tree and the current folder)',
  )
    .argParser((v: string, prev: string[]) => [...prev, v])
    .default([]);
}
