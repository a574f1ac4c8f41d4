#!/usr/bin/env python3
"""SFT reference numbers from PyTorch + transformers, for test/engine/train-sft.test.ts.

    python3 scripts/make-sft-parity.py HF_TINY_DIR > test/fixtures/sft-parity.json

HF_TINY_DIR is the hf-tiny fixture set (../shared/fixtures/hf-tiny, or what
make-hf-tiny-fixtures.py builds). Needs torch and transformers; nothing is downloaded.

The loss is TRL SFTTrainer's on prompt-completion rows with completion_only_loss=True: labels are
-100 on prompt tokens and padding, and F.cross_entropy over the shifted, flattened batch averages
over every completion token of the batch. It is computed in float64 so the reference is exact to
well below our float32 tolerance. Written: the rows, their token ids (so a tokenizer difference
shows as itself, not as a gradient mismatch), the loss, and for a few tensors of the full model and
of the LoRA adapter dpo/tiny-llama/lora-adapter (applied as W + alpha/r * B @ A, PEFT's forward)
the max |grad|, the L2 norm and the gradient at a handful of indices (the largest and a few fixed).
"""

import json
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grad_summary import summary  # noqa: E402

ROWS = [
    {
        "prompt": [{"role": "user", "content": "Name a colour of the sky."}],
        "completion": [{"role": "assistant", "content": "Blue, on a clear day."}],
    },
    {"prompt": "The capital of France is", "completion": " Paris."},
    {
        "prompt": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "What is 2 + 3?"},
        ],
        "completion": [{"role": "assistant", "content": "5"}],
    },
]

FULL_TENSORS = [
    "model.embed_tokens.weight",
    "model.layers.0.self_attn.q_proj.weight",
    "model.layers.1.mlp.down_proj.weight",
    "model.layers.1.input_layernorm.weight",
    "model.norm.weight",
]
LORA_TENSORS = [
    "base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight",
    "base_model.model.model.layers.1.mlp.gate_proj.lora_B.weight",
]


def token_ids(tok, row):
    p = row["prompt"]
    text = p if isinstance(p, str) else tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
    prompt = tok(text, add_special_tokens=False).input_ids
    c = row["completion"]
    answer = c if isinstance(c, str) else c[0]["content"]
    completion = tok(answer + "<|im_end|>", add_special_tokens=False).input_ids
    return prompt, completion


def batch(ids):
    S = max(len(p) + len(c) for p, c in ids)
    input_ids = torch.zeros(len(ids), S, dtype=torch.long)
    mask = torch.zeros(len(ids), S, dtype=torch.long)
    labels = torch.full((len(ids), S), -100, dtype=torch.long)
    for r, (p, c) in enumerate(ids):
        seq = p + c
        input_ids[r, : len(seq)] = torch.tensor(seq)
        mask[r, : len(seq)] = 1
        labels[r, len(p) : len(seq)] = torch.tensor(c)
    return input_ids, mask, labels


def sft_loss(logits, labels):
    # TRL/transformers' causal LM loss: predict token t at position t - 1, mean over labelled tokens.
    return F.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100
    )


def main():
    root = sys.argv[1]
    model_dir = os.path.join(root, "tiny-llama")
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float64)
    model.eval()
    ids = [token_ids(tok, r) for r in ROWS]
    input_ids, mask, labels = batch(ids)

    params = dict(model.named_parameters())
    full = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    logits = torch.func.functional_call(model, full, (input_ids,), {"attention_mask": mask}).logits
    loss = sft_loss(logits, labels)
    loss.backward()

    adapter_dir = os.path.join(root, "dpo", "tiny-llama", "lora-adapter")
    cfg = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    scale = cfg["lora_alpha"] / cfg["r"]
    lora = {k: v.double().requires_grad_(True) for k, v in load_file(os.path.join(adapter_dir, "adapter_model.safetensors")).items()}
    merged = {k: v.detach() for k, v in params.items()}
    prefix = "base_model.model."
    for k in lora:
        if k.endswith("lora_A.weight"):
            module = k[len(prefix) : -len(".lora_A.weight")]
            B = lora[k.replace("lora_A", "lora_B")]
            merged[module + ".weight"] = merged[module + ".weight"] + scale * (B @ lora[k])
    lora_logits = torch.func.functional_call(model, merged, (input_ids,), {"attention_mask": mask}).logits
    lora_loss = sft_loss(lora_logits, labels)
    lora_loss.backward()

    json.dump(
        {
            "what": "TRL SFTTrainer loss (completion_only_loss) on hf-tiny/tiny-llama, float64; see scripts/make-sft-parity.py",
            "rows": ROWS,
            "prompt_ids": [p for p, _ in ids],
            "completion_ids": [c for _, c in ids],
            "completion_tokens": sum(len(c) for _, c in ids),
            "full": {"loss": loss.item(), "grads": {k: summary(full[k].grad) for k in FULL_TENSORS}},
            "lora": {
                "r": cfg["r"],
                "alpha": cfg["lora_alpha"],
                "loss": lora_loss.item(),
                "grads": {k: summary(lora[k].grad) for k in LORA_TENSORS},
            },
        },
        sys.stdout,
        indent=1,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
