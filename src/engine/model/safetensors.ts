// Reader for the safetensors format (https://github.com/huggingface/safetensors), and the
// format's dtypes, shared with the writer (safetensors-write.ts):
// an 8-byte little-endian header length, a JSON header, then the raw little-endian tensor bytes.
// Checkpoints can be tens of gigabytes, so the reader keeps a file descriptor and reads one tensor
// at a time at its offset. Files come from the internet: every header field is checked before
// it is trusted, so a corrupt or hostile file produces a PipelineError, never a crash or a huge
// allocation.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { fail } from '../../core/errors.js';
import { bf16ToFloat32, f16ToFloat32 } from './float16.js';

export type SafetensorsDtype =
  'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute offset of the first byte in `file` (header included), usable for external data. */
  byteOffset: number;
  byteLength: number;
  file: string;
}

/** The Rust library's limit; a larger header is either corrupt or an attempt to exhaust memory. */
export const MAX_HEADER_BYTES = 100_000_000;

const ITEM_SIZE: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

const FLOAT_DTYPES: ReadonlySet<SafetensorsDtype> = new Set(['F64', 'F32', 'F16', 'BF16']);

export function isSafetensorsDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.hasOwn(ITEM_SIZE, s);
}

export function isFloatDtype(d: SafetensorsDtype): boolean {
  return FLOAT_DTYPES.has(d);
}

export function dtypeItemSize(d: SafetensorsDtype): number {
  return ITEM_SIZE[d];
}

// Typed-array views reinterpret bytes in host order; safetensors is little-endian.
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function requireLittleEndian(path: string): void {
  if (!HOST_LITTLE_ENDIAN)
    fail(
      'E_UNSUPPORTED_PLATFORM',
      `cannot read ${path}: safetensors data is little-endian and this host is big-endian`,
      'run on a little-endian machine (x86-64 or arm64)',
    );
}

const CORRUPT_HINT =
  'the file is damaged or was not written by a safetensors writer; download or export it again';

interface Entry {
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number; // relative to the data section, as in the header
  end: number;
}

export class SafetensorsFile {
  readonly path: string;
  readonly metadata: Record<string, string>;
  private fd: number | undefined;
  private readonly entries: Map<string, Entry>;
  private readonly dataStart: number;

  private constructor(
    path: string,
    fd: number,
    header: { metadata: Record<string, string>; entries: Map<string, Entry>; dataStart: number },
  ) {
    this.path = path;
    this.fd = fd;
    this.metadata = header.metadata;
    this.entries = header.entries;
    this.dataStart = header.dataStart;
  }

  static open(path: string): SafetensorsFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT')
        fail('E_SAFETENSORS_NOT_FOUND', `safetensors file not found: ${path}`, 'check the path', e);
      fail(
        'E_SAFETENSORS_OPEN',
        `cannot open safetensors file ${path}: ${(e as Error).message}`,
        'check that the file exists and is readable',
        e,
      );
    }
    try {
      return new SafetensorsFile(path, fd, parseHeader(path, fd));
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Tensor names, sorted. */
  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  info(name: string): TensorInfo {
    const e = this.entry(name);
    return {
      name,
      dtype: e.dtype,
      shape: [...e.shape],
      byteOffset: this.dataStart + e.begin,
      byteLength: e.end - e.begin,
      file: this.path,
    };
  }

  readRaw(name: string): Uint8Array {
    const e = this.entry(name);
    const out = new Uint8Array(e.end - e.begin);
    this.readInto(name, out, this.dataStart + e.begin);
    return out;
  }

  /** The tensor as float32: F32 as stored, F16/BF16 widened exactly, F64 rounded to nearest. */
  readFloat32(name: string): Float32Array {
    const e = this.entry(name);
    requireLittleEndian(this.path);
    const n = (e.end - e.begin) / ITEM_SIZE[e.dtype];
    switch (e.dtype) {
      case 'F32': {
        const out = new Float32Array(n);
        this.readInto(name, new Uint8Array(out.buffer), this.dataStart + e.begin);
        return out;
      }
      case 'F16':
      case 'BF16': {
        const raw = new Uint16Array(n);
        this.readInto(name, new Uint8Array(raw.buffer), this.dataStart + e.begin);
        return e.dtype === 'F16' ? f16ToFloat32(raw) : bf16ToFloat32(raw);
      }
      case 'F64': {
        const raw = new Float64Array(n);
        this.readInto(name, new Uint8Array(raw.buffer), this.dataStart + e.begin);
        return new Float32Array(raw);
      }
      default:
        return fail(
          'E_SAFETENSORS_DTYPE',
          `tensor '${name}' in ${this.path} has integer dtype ${e.dtype}; it cannot be read as float32`,
          'model weights must be F32, F16, BF16 or F64; quantized checkpoints are not supported',
        );
    }
  }

  close(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  private entry(name: string): Entry {
    const e = this.entries.get(name);
    if (!e)
      fail(
        'E_SAFETENSORS_TENSOR_NOT_FOUND',
        `tensor '${name}' is not in ${this.path}`,
        `the file holds ${this.entries.size} tensors; list them with names()`,
      );
    return e;
  }

  private readInto(name: string, buf: Uint8Array, position: number): void {
    if (this.fd === undefined)
      fail(
        'E_SAFETENSORS_CLOSED',
        `cannot read tensor '${name}': ${this.path} was already closed`,
        'read tensors before calling close()',
      );
    readFully(this.fd, buf, position, () =>
      fail(
        'E_SAFETENSORS_CORRUPT',
        `${this.path} ended while reading tensor '${name}' (the file shrank after it was opened)`,
        'do not modify checkpoint files while they are in use',
      ),
    );
  }
}

// readSync may return fewer bytes than asked (and caps one call near 2 GiB), so loop.
function readFully(fd: number, buf: Uint8Array, position: number, onEof: () => never): void {
  const CHUNK = 1 << 30;
  let done = 0;
  while (done < buf.length) {
    const want = Math.min(CHUNK, buf.length - done);
    const got = readSync(fd, buf, done, want, position + done);
    if (got === 0) onEof();
    done += got;
  }
}

function parseHeader(
  path: string,
  fd: number,
): { metadata: Record<string, string>; entries: Map<string, Entry>; dataStart: number } {
  const corrupt = (what: string): never =>
    fail('E_SAFETENSORS_CORRUPT', `${path} is not a valid safetensors file: ${what}`, CORRUPT_HINT);

  const stat = fstatSync(fd);
  if (!stat.isFile())
    fail('E_SAFETENSORS_OPEN', `${path} is not a regular file`, 'pass a .safetensors file path');
  const size = stat.size;
  if (size < 8) corrupt(`the file is ${size} bytes, too short for the 8-byte header length`);

  const lenBuf = Buffer.alloc(8);
  readFully(fd, lenBuf, 0, () => corrupt('the file ended inside the header length'));
  const headerLen = lenBuf.readBigUInt64LE(0);
  if (headerLen > BigInt(MAX_HEADER_BYTES))
    corrupt(`the header length is ${headerLen} bytes, above the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(headerLen);
  if (8 + n > size)
    corrupt(
      `the header claims ${n} bytes but the file has only ${size - 8} after the length (truncated?)`,
    );

  const headerBytes = Buffer.alloc(n);
  readFully(fd, headerBytes, 8, () => corrupt('the file ended inside the header'));
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    return corrupt('the header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return corrupt(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) return corrupt('the header is not a JSON object');

  const dataStart = 8 + n;
  const dataLen = size - dataStart;
  let metadata: Record<string, string> = {};
  const entries = new Map<string, Entry>();
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(value)) corrupt('__metadata__ is not an object of strings');
      const pairs = Object.entries(value as Record<string, unknown>);
      for (const [k, v] of pairs)
        if (typeof v !== 'string') corrupt(`__metadata__.${k} is not a string`);
      // fromEntries defines own properties, so a key like "__proto__" cannot touch the prototype.
      metadata = Object.fromEntries(pairs as [string, string][]);
      continue;
    }
    entries.set(name, parseEntry(path, name, value, dataLen, corrupt));
  }

  // Tensors must not share bytes: sort by start and require each to begin after the previous end.
  const byStart = [...entries].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  for (let i = 1; i < byStart.length; i++) {
    const [prevName, prev] = byStart[i - 1];
    const [name, cur] = byStart[i];
    if (cur.begin < prev.end)
      corrupt(
        `tensor '${name}' (data_offsets [${cur.begin}, ${cur.end}]) overlaps tensor '${prevName}' ` +
          `([${prev.begin}, ${prev.end}])`,
      );
  }
  return { metadata, entries, dataStart };
}

function parseEntry(
  path: string,
  name: string,
  value: unknown,
  dataLen: number,
  corrupt: (what: string) => never,
): Entry {
  if (!isPlainObject(value)) corrupt(`the header entry for tensor '${name}' is not an object`);
  const v = value as Record<string, unknown>;
  const dtype = v.dtype;
  if (typeof dtype !== 'string') corrupt(`tensor '${name}' has no dtype string`);
  if (!isSafetensorsDtype(dtype))
    fail(
      'E_SAFETENSORS_DTYPE',
      `tensor '${name}' in ${path} has dtype ${JSON.stringify(dtype)}, which is not supported ` +
        `(supported: ${Object.keys(ITEM_SIZE).join(', ')})`,
      'convert the checkpoint to float32, float16 or bfloat16 (quantized and float8 weights are not supported)',
    );
  const shape = v.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    corrupt(
      `tensor '${name}' has shape ${JSON.stringify(shape)}; expected an array of non-negative integers`,
    );
  const offsets = v.data_offsets;
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
  )
    corrupt(
      `tensor '${name}' has data_offsets ${JSON.stringify(offsets)}; expected [begin, end] non-negative integers`,
    );
  const [begin, end] = offsets as [number, number];
  if (begin > end)
    corrupt(`tensor '${name}' has data_offsets [${begin}, ${end}] with begin after end`);
  if (end > dataLen)
    corrupt(
      `tensor '${name}' has data_offsets [${begin}, ${end}] but the data section holds only ${dataLen} bytes ` +
        '(file truncated or offsets out of bounds)',
    );
  // BigInt so that a hostile shape cannot overflow the product into a match.
  let count = 1n;
  for (const d of shape as number[]) count *= BigInt(d);
  const expected = count * BigInt(ITEM_SIZE[dtype]);
  if (expected !== BigInt(end - begin))
    corrupt(
      `tensor '${name}' (${dtype}, shape [${(shape as number[]).join(', ')}]) needs ${expected} bytes ` +
        `but its data_offsets [${begin}, ${end}] span ${end - begin}`,
    );
  return { dtype, shape: [...(shape as number[])], begin, end };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Byte order of the UTF-8 encodings, as the Rust library sorts names. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
