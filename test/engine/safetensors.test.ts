import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { PipelineError } from '../../src/core/errors.js';
import { MAX_HEADER_BYTES, SafetensorsFile } from '../../src/engine/model/safetensors.js';
import { writeSafetensors, type TensorToWrite } from '../../src/engine/model/safetensors-write.js';
import { bf16ToFloat32, f16ToFloat32, float32ToBf16 } from '../../src/engine/model/float16.js';
import { openCheckpointWeights } from '../../src/engine/model/checkpoint.js';
import { loadModelConfig } from '../../src/engine/model/config.js';
import { checkWeights, modelTensorShapes } from '../../src/engine/model/tensor-layout.js';
import { fixture } from '../helpers/fixtures.js';
import { throwsCode } from '../helpers/errors.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'safetensors-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A safetensors file with a hand-written header (and optional header-length override). */
function rawFile(
  dir: string,
  name: string,
  header: unknown,
  data: Uint8Array,
  len?: bigint,
): string {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = Buffer.from(text, 'utf8');
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(len ?? BigInt(h.length));
  const p = join(dir, name);
  writeFileSync(p, Buffer.concat([lenBuf, h, data]));
  return p;
}

test('reads every tensor of tiny-llama with the shapes its config implies', (t) => {
  const dir = fixture(t, 'hf-tiny', 'tiny-llama');
  if (!dir) return;
  const cfg = loadModelConfig(dir);
  const f = SafetensorsFile.open(join(dir, 'model.safetensors'));
  t.after(() => f.close());
  assert.equal(f.metadata.format, 'pt');
  const expected = modelTensorShapes(cfg);
  assert.deepEqual(f.names(), [...expected.keys()].sort());
  let total = 0;
  for (const name of f.names()) {
    const info = f.info(name);
    assert.equal(info.dtype, 'F32');
    assert.deepEqual(info.shape, expected.get(name), name);
    assert.equal(info.file, join(dir, 'model.safetensors'));
    const x = f.readFloat32(name);
    assert.equal(
      x.length,
      info.shape.reduce((a, b) => a * b, 1),
    );
    assert.ok(
      x.every((v) => Number.isFinite(v)),
      `${name} is finite`,
    );
    assert.ok(
      x.some((v) => v !== 0),
      `${name} is not all zeros`,
    );
    // readRaw and readFloat32 agree, and byteOffset is absolute in the file.
    const raw = f.readRaw(name);
    assert.deepEqual(new Float32Array(raw.buffer), x);
    const bytes = readFileSync(info.file).subarray(
      info.byteOffset,
      info.byteOffset + info.byteLength,
    );
    assert.deepEqual(new Uint8Array(bytes), raw);
    total += x.length;
  }
  assert.equal(total * 4 + 8 + 2064, readFileSync(join(dir, 'model.safetensors')).length);
});

test('tiny-llama-bf16 holds the tiny-llama weights rounded to bfloat16', (t) => {
  const f32Dir = fixture(t, 'hf-tiny', 'tiny-llama');
  const bf16Dir = fixture(t, 'hf-tiny', 'tiny-llama-bf16');
  if (!f32Dir || !bf16Dir) return;
  const a = SafetensorsFile.open(join(f32Dir, 'model.safetensors'));
  const b = SafetensorsFile.open(join(bf16Dir, 'model.safetensors'));
  t.after(() => (a.close(), b.close()));
  assert.deepEqual(b.names(), a.names());
  for (const name of a.names()) {
    assert.equal(b.info(name).dtype, 'BF16');
    const x = a.readFloat32(name);
    const y = b.readFloat32(name);
    assert.equal(y.length, x.length);
    for (let i = 0; i < x.length; i++) {
      // bfloat16 keeps 8 significant bits: rounding moves a value by at most 2^-8 of itself.
      assert.ok(Math.abs(y[i] - x[i]) <= Math.abs(x[i]) * 2 ** -8, `${name}[${i}]`);
    }
    // Our rounding is PyTorch's bit for bit.
    const raw = b.readRaw(name);
    assert.deepEqual(float32ToBf16(x), new Uint16Array(raw.buffer));
  }
});

test('f16ToFloat32 is exact for all 65536 patterns, subnormals, infinities and NaN included', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const out = f16ToFloat32(all);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 31;
    const m = h & 1023;
    let want: number;
    if (e === 31) want = m === 0 ? sign * Infinity : NaN;
    else if (e === 0) want = sign * m * 2 ** -24;
    else want = sign * (1 + m / 1024) * 2 ** (e - 15);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(out[h]), `0x${h.toString(16)}`);
    else assert.ok(Object.is(out[h], want), `0x${h.toString(16)}: ${out[h]} != ${want}`);
  }
  const v = f16ToFloat32(
    new Uint16Array([0x0001, 0x03ff, 0x0400, 0x3c00, 0x7bff, 0x7c00, 0xfc00, 0x8000, 0x7e00]),
  );
  assert.deepEqual(
    [...v.slice(0, 8)],
    [2 ** -24, 1023 * 2 ** -24, 2 ** -14, 1, 65504, Infinity, -Infinity, -0],
  );
  assert.ok(Number.isNaN(v[8]));
  // The NaN payload survives widening.
  const bits = new Uint32Array(f16ToFloat32(new Uint16Array([0x7d01])).buffer);
  assert.equal(bits[0], 0x7fa02000);
});

test('float32ToBf16 rounds to nearest even; bf16ToFloat32 widens exactly', () => {
  const bitsOf = (x: number[]) => new Float32Array(x);
  const cases: [number, number][] = [
    [1, 0x3f80],
    [1 + 2 ** -8, 0x3f80], // halfway, lower neighbour even: down
    [1 + 3 * 2 ** -8, 0x3f82], // halfway, lower neighbour odd: up
    [1 + 2 ** -8 + 2 ** -20, 0x3f81], // just above halfway: up
    [-2, 0xc000],
    [0, 0x0000],
    [-0, 0x8000],
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
    [3.4028234663852886e38, 0x7f80], // float32 max rounds up to infinity, as in PyTorch
    [2 ** -134, 0x0000], // half the smallest bf16 subnormal: ties to even, 0
    [2 ** -126, 0x0080],
  ];
  const out = float32ToBf16(bitsOf(cases.map((c) => c[0])));
  cases.forEach(([x, want], i) =>
    assert.equal(out[i], want, `${x} -> 0x${out[i].toString(16)}, want 0x${want.toString(16)}`),
  );
  assert.equal(float32ToBf16(new Float32Array([NaN]))[0], 0x7fc0);
  // Widening then narrowing is the identity on every non-NaN pattern.
  const all = new Uint16Array(65536).map((_, i) => i);
  const wide = bf16ToFloat32(all);
  const back = float32ToBf16(wide);
  for (let i = 0; i < 65536; i++) {
    const isNaN = (i & 0x7f80) === 0x7f80 && (i & 0x7f) !== 0;
    if (!isNaN) assert.equal(back[i], i);
  }
  assert.equal(wide[0x3f80], 1);
  assert.equal(wide[0x0001], 2 ** -133);
  // Works on a view into a larger buffer.
  const big = new Float32Array([5, 1, 2]);
  assert.deepEqual([...float32ToBf16(big.subarray(1))], [0x3f80, 0x4000]);
});

test('write then read round-trips F32, F16, BF16 and I64, scalars and empty tensors', (t) => {
  const dir = tempDir(t);
  const p = join(dir, 'x.safetensors');
  const f32 = new Float32Array([1.5, -2, 3.25, 0, 1e-30, -7]);
  const f16 = new Uint16Array([0x3c00, 0x0001, 0x7c00, 0xbc00]);
  const bf16 = float32ToBf16(new Float32Array([0.1, 0.2, 0.3]));
  const i64 = new BigInt64Array([1n, -1n, 9007199254740993n]);
  writeSafetensors(
    p,
    {
      'b.f32': { dtype: 'F32', shape: [2, 3], data: f32 },
      'a.f16': { dtype: 'F16', shape: [4], data: f16 },
      'c.bf16': { dtype: 'BF16', shape: [3, 1], data: bf16 },
      ids: { dtype: 'I64', shape: [1, 3], data: i64 },
      scalar: { dtype: 'F32', shape: [], data: new Float32Array([42]) },
      empty: { dtype: 'F32', shape: [0, 5], data: new Float32Array(0) },
      '0': { dtype: 'F32', shape: [1], data: new Float32Array([9]) },
    },
    { step: '7', author: 'test' },
  );
  const buf = readFileSync(p);
  const headerLen = Number(buf.readBigUInt64LE(0));
  assert.equal(headerLen % 8, 0);
  const header = buf.subarray(8, 8 + headerLen).toString('utf8');
  // Like the Python library: metadata first, then by dtype (widest first), then by name.
  assert.match(header, /^\{"__metadata__":\{"format":"pt","author":"test","step":"7"\},"ids":/);
  const order = [...header.matchAll(/"([^"]+)":\{"dtype"/g)].map((m) => m[1]);
  assert.deepEqual(order, ['ids', '0', 'b.f32', 'empty', 'scalar', 'c.bf16', 'a.f16']);
  assert.match(header, / *$/);

  const f = SafetensorsFile.open(p);
  t.after(() => f.close());
  assert.deepEqual(f.metadata, { format: 'pt', author: 'test', step: '7' });
  assert.deepEqual(f.readFloat32('b.f32'), f32);
  assert.deepEqual(f.info('b.f32').shape, [2, 3]);
  assert.deepEqual(f.readFloat32('a.f16'), new Float32Array([1, 2 ** -24, Infinity, -1]));
  assert.deepEqual(f.readFloat32('c.bf16'), bf16ToFloat32(bf16));
  assert.deepEqual(new BigInt64Array(f.readRaw('ids').buffer), i64);
  assert.deepEqual(f.info('scalar').shape, []);
  assert.deepEqual(f.readFloat32('scalar'), new Float32Array([42]));
  assert.deepEqual(f.readFloat32('empty'), new Float32Array(0));
  assert.deepEqual(f.readFloat32('0'), new Float32Array([9]));
  throwsCode(() => f.readFloat32('ids'), 'E_SAFETENSORS_DTYPE', "'ids'", 'I64', p);
  throwsCode(() => f.info('nope'), 'E_SAFETENSORS_TENSOR_NOT_FOUND', "'nope'", p);
  f.close();
  throwsCode(() => f.readFloat32('b.f32'), 'E_SAFETENSORS_CLOSED', p);
});

test('F64 tensors are narrowed to float32', (t) => {
  const dir = tempDir(t);
  const data = new Float64Array([1 / 3, -1e300, 2 ** -160]);
  const p = rawFile(
    dir,
    'f64.safetensors',
    { w: { dtype: 'F64', shape: [3], data_offsets: [0, 24] } },
    new Uint8Array(data.buffer),
  );
  const f = SafetensorsFile.open(p);
  t.after(() => f.close());
  assert.deepEqual(f.readFloat32('w'), new Float32Array([1 / 3, -Infinity, 0]));
});

test('rewriting a checkpoint read from disk reproduces the Python writer byte for byte', (t) => {
  const src = fixture(t, 'hf-tiny', 'tiny-llama', 'model.safetensors');
  const adapter = fixture(
    t,
    'hf-tiny',
    'dpo',
    'tiny-llama',
    'lora-adapter',
    'adapter_model.safetensors',
  );
  if (!src || !adapter) return;
  const dir = tempDir(t);
  for (const [i, path] of [src, adapter].entries()) {
    const f = SafetensorsFile.open(path);
    const tensors: Record<string, TensorToWrite> = {};
    for (const n of f.names())
      tensors[n] = { dtype: 'F32', shape: f.info(n).shape, data: f.readFloat32(n) };
    f.close();
    const out = join(dir, `copy${i}.safetensors`);
    writeSafetensors(out, tensors);
    assert.ok(readFileSync(out).equals(readFileSync(path)), `${path} rewritten identically`);
  }
});

test('writeSafetensors rejects inconsistent tensors and leaves no partial file', (t) => {
  const dir = tempDir(t);
  const p = join(dir, 'bad.safetensors');
  throwsCode(
    () => writeSafetensors(p, { w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }),
    'E_SAFETENSORS_WRITE',
    "'w'",
    '[2, 2]',
  );
  throwsCode(
    () => writeSafetensors(p, { w: { dtype: 'BF16', shape: [2], data: new Float32Array(2) } }),
    'E_SAFETENSORS_WRITE',
    'Uint16Array',
  );
  throwsCode(
    () =>
      writeSafetensors(p, {
        __metadata__: { dtype: 'F32', shape: [1], data: new Float32Array(1) },
      }),
    'E_SAFETENSORS_WRITE',
  );
  throwsCode(
    () => writeSafetensors(join(dir, 'no', 'such', 'dir.safetensors'), {}),
    'E_SAFETENSORS_WRITE',
    'dir.safetensors',
  );
  assert.throws(() => readFileSync(p));
});

test('a sharded checkpoint (index.json + 2 shards) reads exactly like the single file', (t) => {
  const src = fixture(t, 'hf-tiny', 'tiny-llama');
  if (!src) return;
  const dir = tempDir(t);
  const single = openCheckpointWeights(src);
  t.after(() => single.close());
  const names = single.names();
  const shardOf = (i: number) => `model-0000${i < names.length / 2 ? 1 : 2}-of-00002.safetensors`;
  const shards: Record<string, Record<string, TensorToWrite>> = {};
  const weightMap: Record<string, string> = {};
  names.forEach((n, i) => {
    const file = shardOf(i);
    (shards[file] ??= {})[n] = {
      dtype: 'F32',
      shape: single.info(n).shape,
      data: single.float32(n),
    };
    weightMap[n] = file;
  });
  for (const [file, tensors] of Object.entries(shards)) writeSafetensors(join(dir, file), tensors);
  const index = { metadata: { total_size: 894208 }, weight_map: weightMap };
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index, null, 2));
  writeFileSync(join(dir, 'config.json'), readFileSync(join(src, 'config.json')));

  const sharded = openCheckpointWeights(dir);
  t.after(() => sharded.close());
  assert.deepEqual(sharded.names(), names);
  for (const n of names) {
    assert.ok(sharded.has(n));
    assert.deepEqual(sharded.float32(n), single.float32(n), n);
    assert.deepEqual(sharded.info(n).shape, single.info(n).shape);
    assert.equal(sharded.info(n).file, join(dir, weightMap[n]));
  }
  assert.ok(!sharded.has('lm_head.weight'));
  throwsCode(
    () => sharded.float32('lm_head.weight'),
    'E_CHECKPOINT_TENSOR_NOT_FOUND',
    'lm_head.weight',
  );
  checkWeights(loadModelConfig(dir), sharded, dir);

  // A missing shard is named, with the index that lists it.
  const broken = join(dir, 'broken');
  mkdirSync(broken);
  writeFileSync(join(broken, 'model.safetensors.index.json'), JSON.stringify(index));
  writeFileSync(
    join(broken, 'model-00001-of-00002.safetensors'),
    readFileSync(join(dir, 'model-00001-of-00002.safetensors')),
  );
  throwsCode(
    () => openCheckpointWeights(broken),
    'E_CHECKPOINT_SHARD_MISSING',
    'model-00002-of-00002.safetensors',
  );

  // An index that names a tensor its shard does not hold.
  const lying = {
    weight_map: { ...weightMap, 'model.extra.weight': 'model-00001-of-00002.safetensors' },
  };
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(lying));
  throwsCode(() => openCheckpointWeights(dir), 'E_CHECKPOINT_INDEX', 'model.extra.weight');

  // An index may not reach outside the model folder.
  writeFileSync(
    join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ weight_map: { w: '../x.safetensors' } }),
  );
  throwsCode(() => openCheckpointWeights(dir), 'E_CHECKPOINT_INDEX', '../x.safetensors');
  writeFileSync(join(dir, 'model.safetensors.index.json'), '{"weight_map": [1, 2]}');
  throwsCode(() => openCheckpointWeights(dir), 'E_CHECKPOINT_INDEX', 'weight_map');
  writeFileSync(join(dir, 'model.safetensors.index.json'), '{not json');
  throwsCode(() => openCheckpointWeights(dir), 'E_CHECKPOINT_INDEX', 'not valid JSON');
});

test('a folder without safetensors weights is a clear error', (t) => {
  const dir = tempDir(t);
  throwsCode(
    () => openCheckpointWeights(join(dir, 'missing')),
    'E_CHECKPOINT_NOT_FOUND',
    'missing',
  );
  throwsCode(() => openCheckpointWeights(dir), 'E_CHECKPOINT_NOT_FOUND', dir);
  writeFileSync(join(dir, 'pytorch_model.bin'), 'x');
  assert.throws(
    () => openCheckpointWeights(dir),
    (e: PipelineError) =>
      e.code === 'E_CHECKPOINT_NOT_FOUND' && /pytorch_model\.bin/.test(e.hint ?? ''),
  );
  throwsCode(() => SafetensorsFile.open(join(dir, 'nope.safetensors')), 'E_SAFETENSORS_NOT_FOUND');
  throwsCode(() => SafetensorsFile.open(dir), 'E_SAFETENSORS_OPEN', dir);
});

test('corrupt and hostile files throw E_SAFETENSORS_* errors naming file and tensor', (t) => {
  const dir = tempDir(t);
  const data = new Uint8Array(16);
  const ok = {
    __metadata__: { format: 'pt' },
    w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
  };
  const C = 'E_SAFETENSORS_CORRUPT';

  // Sanity: the well-formed base opens.
  SafetensorsFile.open(rawFile(dir, 'ok.safetensors', ok, data)).close();

  const good = rawFile(dir, 'good.safetensors', ok, data);
  const full = readFileSync(good);
  const truncated = join(dir, 'truncated.safetensors');
  writeFileSync(truncated, full.subarray(0, full.length - 4));
  throwsCode(() => SafetensorsFile.open(truncated), C, truncated, "'w'", 'truncated');
  writeFileSync(truncated, full.subarray(0, 20));
  throwsCode(() => SafetensorsFile.open(truncated), C, truncated, 'truncated');
  writeFileSync(truncated, full.subarray(0, 5));
  throwsCode(() => SafetensorsFile.open(truncated), C, '5 bytes');
  writeFileSync(truncated, '');
  throwsCode(() => SafetensorsFile.open(truncated), C, '0 bytes');

  // Header lengths that would allocate gigabytes are refused before any allocation.
  for (const len of [2n ** 64n - 1n, 2n ** 53n, BigInt(MAX_HEADER_BYTES) + 1n]) {
    const p = rawFile(dir, 'huge.safetensors', ok, data, len);
    throwsCode(() => SafetensorsFile.open(p), C, p, 'header length', String(len));
  }
  const short = rawFile(dir, 'short.safetensors', ok, data, 1_000_000n);
  throwsCode(() => SafetensorsFile.open(short), C, 'header claims 1000000');

  const cases: [string, unknown, string, ...string[]][] = [
    ['bad-json', '{"w": {"dtype": "F32",', C, 'not valid JSON'],
    ['array', '[1, 2, 3]', C, 'not a JSON object'],
    ['null', 'null', C, 'not a JSON object'],
    ['entry-not-object', { w: 5 }, C, "'w'", 'not an object'],
    ['metadata-not-strings', { ...ok, __metadata__: { format: 1 } }, C, '__metadata__.format'],
    ['no-dtype', { w: { shape: [4], data_offsets: [0, 16] } }, C, "'w'", 'dtype'],
    [
      'unknown-dtype',
      { w: { dtype: 'Q4_K', shape: [16], data_offsets: [0, 16] } },
      'E_SAFETENSORS_DTYPE',
      "'w'",
      'Q4_K',
    ],
    [
      'float8',
      { w: { dtype: 'F8_E4M3', shape: [16], data_offsets: [0, 16] } },
      'E_SAFETENSORS_DTYPE',
      'F8_E4M3',
    ],
    [
      'negative-shape',
      { w: { dtype: 'F32', shape: [-2, -2], data_offsets: [0, 16] } },
      C,
      "'w'",
      'shape',
    ],
    [
      'fractional-shape',
      { w: { dtype: 'F32', shape: [2.5, 1.6], data_offsets: [0, 16] } },
      C,
      "'w'",
      'shape',
    ],
    ['shape-not-array', { w: { dtype: 'F32', shape: '2x2', data_offsets: [0, 16] } }, C, 'shape'],
    [
      'offsets-out-of-bounds',
      { w: { dtype: 'F32', shape: [2, 2], data_offsets: [8, 24] } },
      C,
      "'w'",
      'out of bounds',
    ],
    [
      'offsets-huge',
      { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 1e300] } },
      C,
      "'w'",
      'data_offsets',
    ],
    [
      'offsets-reversed',
      { w: { dtype: 'U8', shape: [0], data_offsets: [16, 0] } },
      C,
      'begin after end',
    ],
    [
      'offsets-negative',
      { w: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } },
      C,
      'data_offsets',
    ],
    ['offsets-short', { w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, C, 'data_offsets'],
    [
      'wrong-byte-length',
      { w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 16] } },
      C,
      "'w'",
      'needs 24 bytes',
      'span 16',
    ],
    [
      'overflowing-shape',
      { w: { dtype: 'F32', shape: [2 ** 52, 2 ** 52, 0, 2 ** 40], data_offsets: [0, 16] } },
      C,
      "'w'",
    ],
    [
      'dtype-size',
      { w: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 16] } },
      C,
      'needs 8 bytes',
    ],
    [
      'overlap',
      {
        a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
        b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
      },
      C,
      "'b'",
      "'a'",
      'overlaps',
    ],
  ];
  for (const [name, header, code, ...mentions] of cases) {
    const p = rawFile(dir, `${name}.safetensors`, header, data);
    throwsCode(() => SafetensorsFile.open(p), code, p, ...mentions);
  }
  const utf8 = join(dir, 'utf8.safetensors');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(4n);
  writeFileSync(utf8, Buffer.concat([len, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]));
  throwsCode(() => SafetensorsFile.open(utf8), C, 'UTF-8');
});

test('random damage to a header never escapes as anything but a PipelineError', (t) => {
  const dir = tempDir(t);
  const p = join(dir, 'base.safetensors');
  writeSafetensors(p, {
    a: { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) },
    b: { dtype: 'BF16', shape: [5], data: new Uint16Array(5) },
    c: { dtype: 'I64', shape: [1], data: new BigInt64Array(1) },
  });
  const base = readFileSync(p);
  const headerEnd = 8 + Number(base.readBigUInt64LE(0));
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 48271) % 2147483647;
    return seed % n;
  };
  const q = join(dir, 'damaged.safetensors');
  let opened = 0;
  for (let trial = 0; trial < 250; trial++) {
    const b = Buffer.from(base);
    for (let k = 0, n = 1 + rand(3); k < n; k++) {
      const pos = rand(headerEnd);
      b[pos] = trial % 2 ? rand(256) : '0123456789[]{}",:-.eE '.charCodeAt(rand(22));
    }
    writeFileSync(q, trial % 7 === 0 ? b.subarray(0, rand(b.length)) : b);
    try {
      const f = SafetensorsFile.open(q);
      for (const n of f.names()) if (f.info(n).dtype !== 'I64') f.readFloat32(n);
      f.close();
      opened++;
    } catch (e) {
      assert.ok(e instanceof PipelineError, `trial ${trial}: ${String(e)}`);
    }
  }
  assert.ok(opened < 250);
});
