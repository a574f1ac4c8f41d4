#!/usr/bin/env python3
"""transformers `generate` on a CUDA GPU, for bench/RESULTS.md's GPU rows.

    python3 scripts/bench/hf_generate_gpu.py DIR [--dtype bfloat16] [--new-tokens 128] [--prompt-len 128]

Loads the benchmark checkpoint (AutoModelForCausalLM, sdpa attention) on cuda:0 in the given dtype
and times greedy decoding of --new-tokens tokens (min_new_tokens = max_new_tokens: no early stop)
after a --prompt-len prompt of random ids, at batch 1 and batch 8, best of 3 after a warm-up.
Decode tokens/s = batch * new_tokens / (time of the whole generate - time of a 1-token generate).
Prints one JSON line. Needs torch with CUDA and transformers.
"""

import argparse
import json
import sys
import time

import torch
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--prompt-len", type=int, default=128)
    a = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA device")
    dtype = getattr(torch, a.dtype)
    model = AutoModelForCausalLM.from_pretrained(a.dir, dtype=dtype, attn_implementation="sdpa").to("cuda").eval()
    g = torch.Generator().manual_seed(0)
    prompt = torch.randint(3, 40000, (1, a.prompt_len), generator=g)

    def timed(batch, new):
        ids = prompt.repeat(batch, 1).to("cuda")
        kw = dict(max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=0)
        with torch.no_grad():
            model.generate(ids, **kw)  # warm-up
            best = float("inf")
            for _ in range(3):
                torch.cuda.synchronize()
                t = time.perf_counter()
                model.generate(ids, **kw)
                torch.cuda.synchronize()
                best = min(best, time.perf_counter() - t)
        return best

    out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0), "dtype": a.dtype}
    first = timed(1, 1)
    out["prefill_tok_s"] = a.prompt_len / first
    for b in (1, 8):
        total = timed(b, a.new_tokens + 1)
        out[f"decode_b{b}_tok_s"] = b * a.new_tokens / (total - timed(b, 1))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
