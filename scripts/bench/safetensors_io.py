"""A tiny safetensors reader and writer on numpy, for the benchmark scripts.

The `safetensors` Python package is often not installed next to a distribution's torch, and the
format is simple: an 8-byte little-endian header length N, N bytes of JSON
({name: {"dtype", "shape", "data_offsets": [begin, end]}, optional "__metadata__"}), then the raw
little-endian tensor bytes; offsets are relative to the end of the header.

bfloat16 has no numpy dtype: it is read as float32 (exact) and written from float32 by rounding to
nearest even, as torch does.
"""

import json
import struct

import numpy as np

_NP_OF = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "BOOL": np.bool_,
}
_CODE_OF = {np.dtype(v): k for k, v in _NP_OF.items()}


def read_header(path):
    """Returns (header dict, byte offset where the data starts)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    return header, 8 + n


def read_safetensors(path, names=None):
    """Reads tensors as numpy arrays (bfloat16 comes back as float32). `names` limits what is read."""
    header, base = read_header(path)
    data = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or (names is not None and name not in names):
            continue
        begin, end = info["data_offsets"]
        raw = data[base + begin : base + end]
        dtype = info["dtype"]
        if dtype == "BF16":
            arr = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif dtype in _NP_OF:
            arr = np.array(raw.view(_NP_OF[dtype]))  # copy out of the memmap
        else:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {dtype}")
        out[name] = arr.reshape(info["shape"])
    return out


def float32_to_bfloat16_bits(arr):
    """float32 array -> uint16 bfloat16 bit patterns, rounding to nearest even (NaN kept NaN)."""
    bits = np.ascontiguousarray(arr, dtype=np.float32).view(np.uint32)
    rounding = ((bits >> 16) & 1) + 0x7FFF
    out = ((bits + rounding) >> 16).astype(np.uint16)
    nan = np.isnan(arr)
    out[nan] = 0x7FC0
    return out


def write_safetensors(path, tensors, metadata=None, bf16=()):
    """Writes {name: numpy array} with keys sorted, as safetensors' own writer does.

    Names listed in `bf16` are stored as BF16 (their arrays must be float32).
    """
    header = {}
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        if name in bf16:
            dtype, raw = "BF16", float32_to_bfloat16_bits(arr)
        else:
            raw = np.ascontiguousarray(arr)
            if raw.dtype.byteorder == ">":
                raw = raw.astype(raw.dtype.newbyteorder("<"))
            dtype = _CODE_OF.get(raw.dtype.newbyteorder("="))
            if dtype is None:
                raise ValueError(f"tensor {name}: unsupported dtype {arr.dtype}")
        nbytes = raw.nbytes
        header[name] = {
            "dtype": dtype,
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + nbytes],
        }
        blobs.append(raw)
        offset += nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)  # pad so the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(memoryview(raw.reshape(-1).view(np.uint8)))
