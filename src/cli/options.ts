import { InvalidArgumentError, Option } from 'commander';
import {
  DEFAULT_QUANT_BLOCK_SIZE,
  DEVICES,
  QUANT_BLOCK_SIZES,
  QUANTIZE_KINDS,
  type Quantize,
} from '../engine/index.js';

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

/** The flags `quantizeOptions` adds, as commander hands them over. */
export interface QuantizeFlags {
  quantize?: Quantize;
  quantizeBlockSize: number;
}

/** --quantize <int8|int4> and --quantize-block-size <n>, for commands that open a model for inference. */
export function quantizeOptions(): Option[] {
  return [
    new Option(
      '--quantize <kind>',
      'weight-only quantization of the linear layers (onnxruntime MatMulNBits), made once and cached (default: float32)',
    ).choices([...QUANTIZE_KINDS]),
    new Option(
      '--quantize-block-size <n>',
      'weights per quantization scale along the input dimension',
    )
      .choices(QUANT_BLOCK_SIZES.map(String))
      .argParser((v: string) => {
        if (!(QUANT_BLOCK_SIZES as readonly number[]).includes(Number(v)))
          throw new InvalidArgumentError(
            `Allowed choices are ${QUANT_BLOCK_SIZES.join(', ')}, got '${v}'.`,
          );
        return Number(v);
      })
      .default(DEFAULT_QUANT_BLOCK_SIZE),
  ];
}

/** The engine options `quantizeOptions` give. */
export function quantizeOpts(f: QuantizeFlags): {
  quantize?: Quantize;
  quantizeBlockSize?: number;
} {
  return f.quantize ? { quantize: f.quantize, quantizeBlockSize: f.quantizeBlockSize } : {};
}
