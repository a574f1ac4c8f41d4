#!/usr/bin/env python3
"""Writes a randomly initialised Llama checkpoint with SmolLM2-135M's shapes, as a normal HF folder.

    /usr/bin/python3 scripts/bench/make_bench_checkpoint.py /tmp/bench-smollm [--seed 0]

Produces config.json (LlamaForCausalLM, transformers-5 `rope_parameters`), generation_config.json
and model.safetensors (float32, HF key names, tied embeddings so no lm_head; about 540 MB).
Weights ~ N(0, 0.02), norm weights = 1, drawn with torch.manual_seed(seed). There is no tokenizer:
the generation benchmark feeds random token ids. Needs torch and numpy only.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from safetensors_io import write_safetensors  # noqa: E402

CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": None,
    "dtype": "float32",
    "eos_token_id": 2,
    "head_dim": 64,
    "hidden_act": "silu",
    "hidden_size": 576,
    "initializer_range": 0.02,
    "intermediate_size": 1536,
    "max_position_embeddings": 8192,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 9,
    "num_hidden_layers": 30,
    "num_key_value_heads": 3,
    "pad_token_id": 0,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_parameters": {"rope_theta": 100000.0, "rope_type": "default"},
    "tie_word_embeddings": True,
    "transformers_version": "5.17.0",
    "use_cache": True,
    "vocab_size": 49152,
}

GENERATION_CONFIG = {
    "_from_model_config": True,
    "eos_token_id": 2,
    "pad_token_id": 0,
    "transformers_version": "5.17.0",
}


def param_shapes(cfg):
    """(name, shape) in a fixed order; the order fixes which random numbers each tensor gets."""
    h, inter, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd = cfg["head_dim"]
    q_out, kv_out = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    yield "model.embed_tokens.weight", (v, h)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        yield p + "input_layernorm.weight", (h,)
        yield p + "self_attn.q_proj.weight", (q_out, h)
        yield p + "self_attn.k_proj.weight", (kv_out, h)
        yield p + "self_attn.v_proj.weight", (kv_out, h)
        yield p + "self_attn.o_proj.weight", (h, q_out)
        yield p + "post_attention_layernorm.weight", (h,)
        yield p + "mlp.gate_proj.weight", (inter, h)
        yield p + "mlp.up_proj.weight", (inter, h)
        yield p + "mlp.down_proj.weight", (h, inter)
    yield "model.norm.weight", (h,)


def make_weights(cfg, seed):
    torch.manual_seed(seed)
    std = cfg["initializer_range"]
    out = {}
    for name, shape in param_shapes(cfg):
        if name.endswith("norm.weight"):
            out[name] = np.ones(shape, dtype=np.float32)
        else:
            out[name] = (torch.randn(shape, dtype=torch.float32) * std).numpy()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    os.makedirs(args.out_dir, exist_ok=True)
    weights = make_weights(CONFIG, args.seed)
    n_params = sum(a.size for a in weights.values())
    write_safetensors(os.path.join(args.out_dir, "model.safetensors"), weights, metadata={"format": "pt"})
    for name, obj in (("config.json", CONFIG), ("generation_config.json", GENERATION_CONFIG)):
        with open(os.path.join(args.out_dir, name), "w") as f:
            json.dump(obj, f, indent=2, sort_keys=True)
            f.write("\n")
    print(f"wrote {args.out_dir}: {n_params:,} parameters (seed {args.seed})")


if __name__ == "__main__":
    main()
