// Writer for the safetensors format: files byte-identical to those the Python library writes,
// appearing atomically (written beside the target, then renamed).

import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { fail } from '../../core/errors.js';
import { MAX_HEADER_BYTES, compareUtf8, requireLittleEndian } from './safetensors.js';

export type WritableDtype = 'F32' | 'F16' | 'BF16' | 'I64' | 'U8';

type WritableData = Float32Array | BigInt64Array | Uint16Array | Uint8Array;

export interface TensorToWrite {
  dtype: WritableDtype;
  shape: number[];
  /** The values, or a function giving them when the tensor is written (one at a time in memory). */
  data: WritableData | (() => WritableData);
}

const ITEM_BYTES: Record<WritableDtype, number> = { U8: 1, F16: 2, BF16: 2, F32: 4, I64: 8 };

// The Rust writer orders tensors by dtype (its enum order, descending) and then by name, which
// keeps every tensor aligned to its item size; matching it makes our files byte-identical.
const DTYPE_RANK: Record<WritableDtype, number> = { U8: -1, F16: 0, BF16: 1, F32: 2, I64: 3 };

type Bad = (what: string, hint: string) => never;
type WriteItem = TensorToWrite & { name: string; byteLength: number };

/** Each tensor checked (name, dtype, data array, shape) and named, in the caller's order. */
function checkedItems(tensors: Record<string, TensorToWrite>, bad: Bad): WriteItem[] {
  return Object.entries(tensors).map(([name, t]) => {
    if (name === '__metadata__')
      bad("a tensor may not be named '__metadata__'", 'rename the tensor');
    if (!Object.hasOwn(DTYPE_RANK, t.dtype))
      bad(`tensor '${name}' has dtype ${String(t.dtype)}`, 'use F32, F16, BF16, I64 or U8');
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      bad(`tensor '${name}' has shape ${JSON.stringify(t.shape)}`, 'use non-negative integers');
    if (typeof t.data !== 'function') checkData(name, t.dtype, t.shape, t.data, bad);
    const count = t.shape.reduce((a, b) => a * b, 1);
    return { name, ...t, byteLength: count * ITEM_BYTES[t.dtype] };
  });
}

function checkData(
  name: string,
  dtype: WritableDtype,
  shape: number[],
  data: WritableData,
  bad: Bad,
): void {
  const wantArray =
    dtype === 'F32'
      ? Float32Array
      : dtype === 'I64'
        ? BigInt64Array
        : dtype === 'U8'
          ? Uint8Array
          : Uint16Array;
  if (!(data instanceof wantArray))
    bad(
      `tensor '${name}' is ${dtype} but its data is a ${(data as object | undefined)?.constructor?.name ?? typeof data}, not a ${wantArray.name}`,
      `pass a ${wantArray.name} (F16 and BF16 are raw 16-bit patterns)`,
    );
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length)
    bad(
      `tensor '${name}' has shape [${shape.join(', ')}] (${count} elements) but ${data.length} values`,
      'make the data length equal the product of the shape',
    );
}

/** The JSON header (metadata first, then the tensors at their offsets), padded to 8 bytes. */
function safetensorsHeader(
  items: WriteItem[],
  metadata: Record<string, string> | undefined,
  bad: Bad,
): Buffer {
  const meta: Record<string, string> = { format: 'pt', ...(metadata ?? {}) };
  for (const [k, v] of Object.entries(meta))
    if (typeof v !== 'string')
      bad(`metadata '${k}' is not a string`, 'metadata values must be strings');
  const metaKeys = [
    'format',
    ...Object.keys(meta)
      .filter((k) => k !== 'format')
      .sort(compareUtf8),
  ];
  // Built by hand: JSON.stringify on an object would move integer-like names ("0") to the front.
  const parts = [
    '"__metadata__":{' +
      metaKeys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(meta[k])}`).join(',') +
      '}',
  ];
  let offset = 0;
  for (const t of items) {
    const end = offset + t.byteLength;
    parts.push(
      `${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],` +
        `"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  let header = Buffer.from('{' + parts.join(',') + '}', 'utf8');
  const pad = (8 - (header.length % 8)) % 8;
  if (pad) header = Buffer.concat([header, Buffer.alloc(pad, 0x20)]);
  if (header.length > MAX_HEADER_BYTES)
    bad(`the header would be ${header.length} bytes`, 'write fewer tensors per file (shard it)');
  return header;
}

/** Length, header and data into a file beside `path`, then renamed over it. */
function writeAtomically(path: string, header: Buffer, items: WriteItem[], bad: Bad): void {
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(header.length));

  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    writeFully(fd, lenBuf);
    writeFully(fd, header);
    for (const t of items) {
      const data = typeof t.data === 'function' ? t.data() : t.data;
      checkData(t.name, t.dtype, t.shape, data, bad);
      writeFully(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    fail(
      'E_SAFETENSORS_WRITE',
      `cannot write ${path}: ${(e as Error).message}`,
      'check that the folder exists, is writable and has free space',
      e,
    );
  }
}

/**
 * Writes a .safetensors file the way the Python library does (same tensor order, same header
 * layout, header padded with spaces to a multiple of 8). The file appears atomically: it is
 * written beside the target and renamed, so an interrupted write never leaves a half file.
 */
export function writeSafetensors(
  path: string,
  tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): void {
  requireLittleEndian(path);
  const bad: Bad = (what, hint) =>
    fail('E_SAFETENSORS_WRITE', `cannot write ${path}: ${what}`, hint);
  const items = checkedItems(tensors, bad);
  items.sort((a, b) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || compareUtf8(a.name, b.name));
  writeAtomically(path, safetensorsHeader(items, metadata, bad), items, bad);
}

function writeFully(fd: number, buf: Uint8Array): void {
  const CHUNK = 1 << 30;
  let done = 0;
  while (done < buf.length) done += writeSync(fd, buf, done, Math.min(CHUNK, buf.length - done));
}
