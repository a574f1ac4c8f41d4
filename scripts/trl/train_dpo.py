#!/usr/bin/env python3
"""One round of DPO-family training with TRL, for the pipeline's `backend: trl` train stage.

    python scripts/trl/train_dpo.py CONFIG.json
    accelerate launch --config_file acc.yaml scripts/trl/train_dpo.py CONFIG.json

The pipeline (src/stages/train-trl/) writes CONFIG.json and the round's rows as TRL JSONL, runs
this script through the user's launcher, tails the metrics file it writes, and adopts what it
saves in `out`: a PEFT adapter (adapter_model.safetensors + adapter_config.json) or a full
checkpoint (model.safetensors + config.json + tokenizer files), the layout the in-process
trainer writes.

CONFIG.json:
  model, adapter        the policy: base model folder, and the PEFT adapter training continues (or null)
  ref_model, ref_adapter  the DPO reference (round-start policy or initial model)
  full                  fine-tune every weight instead of LoRA
  merge                 a LoRA run also saves base + adapter merged, in out/merged
  dtype                 torch dtype the models load in (float32 by default: CPU-exact)
  lora                  peft LoraConfig fields for a new adapter (r, lora_alpha, lora_dropout, target_modules)
  train_file            TRL preference rows (JSONL)
  metrics_file          one JSON line per logged step is appended here (rank 0 only): TRL's
                        logged values (the in-process trainer's names) + step, total_steps, tokens_per_s
  work_dir              TRL's output_dir and the datasets cache (the pipeline clears it first)
  out                   where the adapter or checkpoint is saved
  args                  DPOConfig keyword arguments (TRL's names)

Tokenization follows the in-process engine (src/engine/data/trl-rows.ts, and the hf-tiny
fixtures): prompt ids = the chat template over the prompt messages with add_generation_prompt,
response ids = tokenizer(answer text) + eos, appended right after the prompt; a pair longer than
max_length drops the start of its prompt first, then the end of its answers. TRL 1.13 would
otherwise render the assistant turn through the chat template (for ChatML that adds the "\\n"
after <|im_end|> to every answer) and truncate keep_start, so the two backends would train on
different tokens. `_prepare_dataset` is overridden to keep them identical.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from trl_common import (  # noqa: E402
    common_args,
    load_policy,
    load_reference,
    load_rows,
    metrics_callback,
    prompt_ids,
    response_ids,
    save,
    start,
)


def truncate_pair(p, c, r, max_length):
    """The engine's truncatePair (src/engine/train/pair-batches.ts)."""
    if max_length is None:
        return p, c, r
    longest = max(len(c), len(r))
    if len(p) + longest > max_length:
        keep = max(1, max_length - longest)
        p = p[len(p) - keep :]
    room = max(1, max_length - len(p))
    return p, c[:room], r[:room]


def tokenize_row(example, tok, max_length):
    p = prompt_ids(tok, example["prompt"])
    c = response_ids(tok, example["chosen"], "chosen")
    r = response_ids(tok, example["rejected"], "rejected")
    p, c, r = truncate_pair(p, c, r, max_length)
    return {"prompt_ids": p, "chosen_ids": c, "rejected_ids": r}


def main():
    cfg = start(__doc__)

    from trl import DPOConfig, DPOTrainer

    class EngineTokenizationDPOTrainer(DPOTrainer):
        """DPOTrainer with the engine's tokenization (see the module docstring)."""

        def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
            tok = getattr(processing_class, "tokenizer", processing_class)
            return dataset.map(
                tokenize_row,
                fn_kwargs={"tok": tok, "max_length": args.max_length},
                remove_columns=[c for c in dataset.column_names if c in ("prompt", "chosen", "rejected")],
                desc=f"Tokenizing {dataset_name} dataset (engine convention)",
            )

    tok, policy, peft_config, dtype = load_policy(cfg)
    ref_model = load_reference(cfg, dtype)
    args = DPOConfig(output_dir=cfg["work_dir"], **common_args(), **cfg["args"])
    trainer = EngineTokenizationDPOTrainer(
        model=policy,
        ref_model=ref_model,
        args=args,
        train_dataset=load_rows(cfg),
        processing_class=tok,
        peft_config=peft_config,
        callbacks=[metrics_callback(cfg["metrics_file"])],
    )
    if args.precompute_ref_log_probs and ref_model is not None:
        trainer.ref_model = None  # its log-probs are in the dataset now: free it
        del ref_model
    trainer.train()
    save(trainer, cfg, tok)


if __name__ == "__main__":
    main()
