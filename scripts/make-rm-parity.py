#!/usr/bin/env python3
"""Reward-model reference numbers from TRL's RewardTrainer, for test/engine/reward-model.test.ts.

    python3 scripts/make-rm-parity.py HF_TINY_DIR > test/fixtures/rm-parity.json
    npx prettier --write test/fixtures/rm-parity.json

HF_TINY_DIR is the hf-tiny fixture set (../shared/fixtures/hf-tiny, or what
make-hf-tiny-fixtures.py builds). Needs torch, transformers, trl (with datasets) and peft; nothing
is downloaded. Checked with trl 1.13.0, transformers 5.18.0, peft 0.21.0, torch 2.13.0.

The model is AutoModelForSequenceClassification.from_pretrained(tiny-llama, num_labels=1) in
float64 (the decoder of tiny-llama, no lm_head) with score.weight set to the fixed values written
to the output as `score_weight` (seeded N(0, 0.3²): larger than transformers' 0.02 so that the
rewards, and the gradients through them, are not all near zero). The loss is TRL RewardTrainer's
own compute_loss, on the batch its own _prepare_dataset and DataCollatorForPreference make from
the two pairs of hf-tiny/pairs.jsonl. TRL's conventions, which the engine must follow:

- conversational rows: prompt + chosen (and prompt + rejected) are one message list, rendered
  with the chat template (no generation prompt) and tokenized as a whole; no eos is appended;
- plain-text rows: eos_token is appended to chosen / rejected unless they end with it, then
  prompt + answer is one string for tokenizer(text) (special tokens added);
- a batch is the P chosen sequences then the P rejected ones, right-padded with the pad token
  (the tokenizer's pad_token, else eos), and model.config.pad_token_id is set to that id: the head
  reads the hidden state at the last position whose id is not the pad id.

Four cases: full fine-tuning and LoRA, each without and with (a per-pair `margin` column and
center_rewards_coefficient). LoRA is the PEFT adapter dpo/tiny-llama/lora-adapter (r 4, alpha 8,
B non-zero) loaded into a task_type SEQ_CLS LoraConfig of the same shape, which puts `score` in
modules_to_save (trainable whole, as TRL recommends for reward models). Written per case: loss,
the rewards (chosen then rejected), TRL's logged metrics, and for a few tensors the max |grad|,
the L2 norm and the gradient at a handful of indices (the largest and a few fixed); score.weight's
gradient in full. `text_rows` pins the tokenization of plain-text and implicit-prompt rows.
"""

import json
import os
import sys
import tempfile
import warnings

import torch
from datasets import Dataset
from peft import LoraConfig
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from trl import RewardConfig, RewardTrainer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grad_summary import summary  # noqa: E402

warnings.filterwarnings("ignore")

MARGINS = [0.5, -0.25]
CENTER = 0.1
SCORE_STD = 0.3
SCORE_SEED = 1234

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
    "base_model.model.model.layers.1.self_attn.o_proj.lora_A.weight",
]

TEXT_ROWS = [
    {"prompt": "The capital of France is", "chosen": " Paris.", "rejected": " Rome."},
    {"chosen": "Q: 2 + 2? A: 4", "rejected": "Q: 2 + 2? A: 5<|im_end|>"},
    {
        "chosen": [
            {"role": "user", "content": "Say hi."},
            {"role": "assistant", "content": "Hi!"},
        ],
        "rejected": [
            {"role": "user", "content": "Say hi."},
            {"role": "assistant", "content": "No."},
        ],
    },
]


def reward_model(model_dir, score):
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=1, dtype=torch.float64)
    with torch.no_grad():
        model.score.weight.copy_(score)
    return model


def trainer_for(model_dir, tok, rows, score, lora, center, out):
    args = RewardConfig(
        output_dir=out,
        bf16=False,
        gradient_checkpointing=False,
        report_to=[],
        per_device_train_batch_size=len(rows),
        center_rewards_coefficient=center,
    )
    peft_config = None
    if lora:
        acfg = json.load(open(os.path.join(lora, "adapter_config.json")))
        peft_config = LoraConfig(
            task_type="SEQ_CLS",
            r=acfg["r"],
            lora_alpha=acfg["lora_alpha"],
            lora_dropout=0.0,
            target_modules=acfg["target_modules"],
        )
    trainer = RewardTrainer(
        model=reward_model(model_dir, score),
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tok,
        peft_config=peft_config,
    )
    if lora:
        trainer.model.double()
        given = load_file(os.path.join(lora, "adapter_model.safetensors"))
        params = dict(trainer.model.named_parameters())
        with torch.no_grad():
            for k, v in given.items():
                params[k.replace(".weight", ".default.weight")].copy_(v.double())
    return trainer


def grad_name(name):
    # PEFT's parameter names → the adapter file's (and our) names.
    name = name.replace(".default.weight", ".weight")
    if "score" in name:
        return "score.weight"
    return name


def run_case(model_dir, tok, rows, score, lora, center):
    with tempfile.TemporaryDirectory() as out:
        trainer = trainer_for(model_dir, tok, rows, score, lora, center, out)
        model = trainer.model
        model.train()
        examples = [trainer.train_dataset[i] for i in range(len(rows))]
        batch = trainer.data_collator(examples)
        loss, outputs = trainer.compute_loss(model, dict(batch), return_outputs=True)
        loss.backward()
        grads = {grad_name(k): p.grad for k, p in model.named_parameters() if p.grad is not None}
        wanted = LORA_TENSORS if lora else FULL_TENSORS
        metrics = {k: v[-1] for k, v in trainer._metrics["train"].items()}
        return {
            "loss": loss.item(),
            "rewards": outputs.logits.squeeze(-1).tolist(),
            "metrics": metrics,
            "input_ids": batch["input_ids"].tolist(),
            "attention_mask": batch["attention_mask"].tolist(),
            "grads": {k: summary(grads[k]) for k in wanted},
            "score_grad": grads["score.weight"].reshape(-1).tolist(),
        }


def text_ids(model_dir, tok):
    with tempfile.TemporaryDirectory() as out:
        rows = [dict(r) for r in TEXT_ROWS]
        trainer = RewardTrainer(
            model=reward_model(model_dir, torch.zeros(1, 64, dtype=torch.float64)),
            args=RewardConfig(output_dir=out, bf16=False, report_to=[]),
            train_dataset=Dataset.from_list(rows[:1]),
            processing_class=tok,
        )
        # Each format separately: a Dataset holds one schema.
        ids = []
        for r in rows:
            ds = trainer._prepare_dataset(Dataset.from_list([r]), tok, trainer.args, "text")
            ids.append({"chosen_ids": ds[0]["chosen_ids"], "rejected_ids": ds[0]["rejected_ids"]})
        return ids


def main():
    root = sys.argv[1]
    model_dir = os.path.join(root, "tiny-llama")
    lora_dir = os.path.join(root, "dpo", "tiny-llama", "lora-adapter")
    tok = AutoTokenizer.from_pretrained(model_dir)
    pairs = [json.loads(line) for line in open(os.path.join(root, "pairs.jsonl"))]
    with_margin = [dict(p, margin=m) for p, m in zip(pairs, MARGINS)]
    gen = torch.Generator().manual_seed(SCORE_SEED)
    score = torch.randn(1, 64, generator=gen, dtype=torch.float64) * SCORE_STD

    cases = {}
    for name, lora in (("full", None), ("lora", lora_dir)):
        cases[name] = run_case(model_dir, tok, pairs, score, lora, None)
        cases[f"{name}_margin_center"] = run_case(model_dir, tok, with_margin, score, lora, CENTER)
    acfg = json.load(open(os.path.join(lora_dir, "adapter_config.json")))

    json.dump(
        {
            "what": "TRL RewardTrainer.compute_loss on hf-tiny/tiny-llama as a sequence classifier, float64; see scripts/make-rm-parity.py",
            "pad_token_id": tok.pad_token_id,
            "score_weight": score.reshape(-1).tolist(),
            "margins": MARGINS,
            "center_rewards_coefficient": CENTER,
            "lora": {"r": acfg["r"], "alpha": acfg["lora_alpha"], "targets": acfg["target_modules"]},
            "cases": cases,
            "text_rows": TEXT_ROWS,
            "text_ids": text_ids(model_dir, tok),
        },
        sys.stdout,
        indent=1,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
