// 16-bit float conversions for safetensors weights (F16, BF16). Widening works on bit patterns
// so NaN payloads and signed zeros survive exactly.

/** float32 → bfloat16 bit patterns, round to nearest even; NaN → 0x7FC0 as PyTorch does. */
export function float32ToBf16(x: Float32Array): Uint16Array {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    if ((b & 0x7fffffff) > 0x7f800000) out[i] = 0x7fc0;
    // At most 0xff800000 + 0x8000 here, so the sum stays below 2^32 and >>> is exact.
    else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

export function bf16ToFloat32(u: Uint16Array): Float32Array {
  const out = new Float32Array(u.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < u.length; i++) bits[i] = u[i] << 16;
  return out;
}

let f16Table: Uint32Array | undefined;

// All 65536 half-precision values as float32 bit patterns (256 KiB), built on first use.
function f16Bits(): Uint32Array {
  if (f16Table) return f16Table;
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    let mant = h & 0x3ff;
    let bits: number;
    if (exp === 0x1f) bits = sign | 0x7f800000 | (mant << 13);
    else if (exp !== 0) bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    else if (mant === 0) bits = sign;
    else {
      // Subnormal half: shift the mantissa up until its leading 1 becomes the implicit bit.
      let e = 127 - 15 + 1;
      while ((mant & 0x400) === 0) {
        mant <<= 1;
        e--;
      }
      bits = sign | (e << 23) | ((mant & 0x3ff) << 13);
    }
    t[h] = bits >>> 0;
  }
  f16Table = t;
  return t;
}

export function f16ToFloat32(u: Uint16Array): Float32Array {
  const table = f16Bits();
  const out = new Float32Array(u.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < u.length; i++) bits[i] = table[u[i]];
  return out;
}
