#!/usr/bin/env python3
"""Checks that torch_llama.py's model is a faithful Llama, against the hf-tiny reference numbers.

    /usr/bin/python3 scripts/bench/check_torch_llama.py [--fixtures ../shared/fixtures/hf-tiny]

(default: $HF_TINY_FIXTURES, else ../shared/fixtures/hf-tiny next to the repository). Loads
tiny-llama/ (RoPE theta 10000, head_dim 16, GQA 4/2, tied embeddings) with torch_llama's code and
compares, in float32, with what transformers computed (reference/tiny-llama/):
  - chosen.logits for chosen.input_ids (right-padded batch of 2, with its attention mask):
    max |diff| / max |ref| over the real tokens, and over all positions;
  - chosen/rejected sequence log-probs (sum over response tokens) against reference.json;
  - the 16 greedy ids per prompt (KV cache, no eos stop) against reference.json, exactly.
Exits non-zero when a check fails (logits and log-probs: 1e-4 relative).
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from safetensors_io import read_safetensors  # noqa: E402
from torch_llama import Llama, greedy_cached  # noqa: E402

TOL = 1e-4


def default_fixtures():
    env = os.environ.get("HF_TINY_FIXTURES")
    if env:
        return env
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(os.path.dirname(repo), "shared", "fixtures", "hf-tiny")


def seq_logps(logits, ids, response_mask):
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    tok = logp.gather(-1, ids[:, 1:, None])[..., 0]
    return (tok * response_mask[:, 1:]).sum(-1)


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", default=default_fixtures())
    args = ap.parse_args()
    fx = args.fixtures
    if not os.path.isdir(os.path.join(fx, "tiny-llama")):
        print(f"hf-tiny fixtures not found at {fx} (set --fixtures or HF_TINY_FIXTURES)", file=sys.stderr)
        sys.exit(2)

    torch.set_num_threads(1)
    ref = {k: torch.from_numpy(v) for k, v in read_safetensors(os.path.join(fx, "reference/tiny-llama/reference.safetensors")).items()}
    with open(os.path.join(fx, "reference/tiny-llama/reference.json")) as f:
        ref_json = json.load(f)

    failures = []
    with torch.inference_mode():
        model = Llama.from_dir(os.path.join(fx, "tiny-llama"))

        ids, mask = ref["chosen.input_ids"], ref["chosen.attention_mask"]
        logits = model.forward(ids, attention_mask=mask)
        want = ref["chosen.logits"]
        real = mask.bool()
        r_real = rel(logits[real], want[real])
        r_all = rel(logits, want)
        print(f"chosen.logits {tuple(want.shape)}: max rel diff {r_real:.2e} on real tokens, {r_all:.2e} on all positions")
        if r_real > TOL:
            failures.append("logits")

        for side in ("chosen", "rejected"):
            ids, mask, resp = (ref[f"{side}.{k}"] for k in ("input_ids", "attention_mask", "response_mask"))
            got = seq_logps(model.forward(ids, attention_mask=mask), ids, resp.float())
            want_lp = torch.tensor(ref_json[f"{side}_logps"])
            r = rel(got, want_lp)
            print(f"{side}_logps: got {[round(float(x), 4) for x in got]}, want {ref_json[side + '_logps']}, rel {r:.2e}")
            if r > TOL:
                failures.append(f"{side}_logps")

        for i, g in enumerate(ref_json["greedy"]):
            prompt = torch.tensor([g["prompt_ids"]])
            new_ids, _ = greedy_cached(model, prompt, len(g["greedy_new_ids"]))
            same = new_ids[0].tolist() == g["greedy_new_ids"]
            print(f"greedy[{i}] ({len(g['prompt_ids'])} prompt ids, KV cache): {'equal' if same else 'DIFFERENT'}")
            if not same:
                print(f"  got  {new_ids[0].tolist()}\n  want {g['greedy_new_ids']}")
                failures.append(f"greedy[{i}]")

    if failures:
        print("FAIL: " + ", ".join(failures))
        sys.exit(1)
    print("OK: torch_llama matches transformers on tiny-llama")


if __name__ == "__main__":
    main()
