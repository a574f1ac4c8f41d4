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

import json
import math
import os
import sys
import time


def log(msg):
    print(f"[train_dpo] {msg}", file=sys.stderr, flush=True)


def read_config(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def response_text(completion, where):
    if isinstance(completion, str):
        return completion
    if (
        isinstance(completion, list)
        and len(completion) == 1
        and isinstance(completion[0], dict)
        and completion[0].get("role") == "assistant"
    ):
        return completion[0]["content"]
    raise ValueError(f"{where}: a conversational completion must be exactly one assistant message")


def prompt_ids(tok, prompt):
    if isinstance(prompt, str):
        return tok(prompt)["input_ids"]
    return tok.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]


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
    eos = tok.eos_token_id
    p = prompt_ids(tok, example["prompt"])
    c = tok(response_text(example["chosen"], "chosen"), add_special_tokens=False)["input_ids"] + [eos]
    r = tok(response_text(example["rejected"], "rejected"), add_special_tokens=False)["input_ids"] + [eos]
    p, c, r = truncate_pair(p, c, r, max_length)
    return {"prompt_ids": p, "chosen_ids": c, "rejected_ids": r}


def load_causal_lm(path, dtype):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path, dtype=dtype)


def same_path(a, b):
    if a is None or b is None:
        return a is None and b is None
    return os.path.realpath(a) == os.path.realpath(b)


def watch_run(pid, host):
    """Exit when the pipeline run that launched this training is gone (killed: it had no chance
    to stop us), so a resumed run never races an orphan writing the same round's folder. Only on
    the run's own machine: another node of a multi-node launch cannot see its pid."""
    import socket
    import threading

    if not pid or host != socket.gethostname():
        return

    def watch():
        while True:
            time.sleep(1)
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                os._exit(75)
            except PermissionError:
                pass  # alive, another user's process: not ours to judge

    threading.Thread(target=watch, daemon=True).start()


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    watch_run(os.environ.get("RLAIF_RUN_PID"), os.environ.get("RLAIF_RUN_HOST"))
    cfg = read_config(sys.argv[1])

    import torch
    from datasets import load_dataset
    from peft import LoraConfig, PeftModel
    from transformers import AutoTokenizer, TrainerCallback, set_seed
    from trl import DPOConfig, DPOTrainer

    # Seeded before anything random: TRL creates a new LoRA (random A) before Trainer seeds, so
    # without this a re-run of the same round (a resumed stage) would train a different adapter.
    set_seed(cfg["args"].get("seed", 42))

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

    class MetricsFile(TrainerCallback):
        """One JSON line per logged training step, with the engine's metric names."""

        def __init__(self, path):
            self.path = path
            self.last_time = time.time()
            self.last_tokens = 0.0

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs or "loss" not in logs:
                return
            now = time.time()
            tokens = float(logs.get("num_tokens", 0.0))
            rate = (tokens - self.last_tokens) / max(now - self.last_time, 1e-9)
            self.last_time, self.last_tokens = now, tokens
            row = {"step": state.global_step, "total_steps": state.max_steps}
            for k, v in logs.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                    row[k] = float(v)
            row["tokens_per_s"] = rate
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")

    dtype = getattr(torch, cfg.get("dtype", "float32"))
    full = bool(cfg["full"])
    tok = AutoTokenizer.from_pretrained(cfg["model"])
    policy = load_causal_lm(cfg["model"], dtype)
    adapter = cfg.get("adapter")
    peft_config = None
    if adapter and full:
        policy = PeftModel.from_pretrained(policy, adapter).merge_and_unload()
    elif adapter:
        policy = PeftModel.from_pretrained(policy, adapter, is_trainable=True)
        log(f"continuing adapter {adapter}")
    elif not full:
        lora = cfg["lora"]
        peft_config = LoraConfig(
            r=lora["r"],
            lora_alpha=lora["lora_alpha"],
            lora_dropout=lora.get("lora_dropout", 0.0),
            target_modules=lora["target_modules"],
            task_type="CAUSAL_LM",
        )

    # The reference TRL takes when ref_model is None: with PEFT, the base with the adapter disabled
    # (new adapter) or a frozen copy of the adapter training continues ("ref"); full fine-tuning,
    # a copy of the policy as loaded. Any other reference is loaded and passed explicitly.
    ref_model_path, ref_adapter = cfg.get("ref_model") or cfg["model"], cfg.get("ref_adapter")
    if full:
        implicit = same_path(ref_model_path, cfg["model"]) and ref_adapter is None and not adapter
    else:
        implicit = same_path(ref_model_path, cfg["model"]) and same_path(ref_adapter, adapter)
    ref_model = None
    if not implicit:
        ref_model = load_causal_lm(ref_model_path, dtype)
        if ref_adapter:
            ref_model = PeftModel.from_pretrained(ref_model, ref_adapter).merge_and_unload()
        ref_model.eval()
        log(f"reference: {ref_model_path}" + (f" + adapter {ref_adapter}" if ref_adapter else ""))

    # The datasets cache (and TRL's cache of precomputed reference log-probs, keyed by the data and
    # the reference's weights, not by precision or options) lives in the work folder the pipeline
    # clears before every launch: a re-run never reads a stale cache.
    dataset = load_dataset(
        "json", data_files=cfg["train_file"], split="train", cache_dir=os.path.join(cfg["work_dir"], "datasets")
    )
    args = DPOConfig(
        output_dir=cfg["work_dir"],
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        remove_unused_columns=False,
        **cfg["args"],
    )
    trainer = EngineTokenizationDPOTrainer(
        model=policy,
        ref_model=ref_model,
        args=args,
        train_dataset=dataset,
        processing_class=tok,
        peft_config=peft_config,
        callbacks=[MetricsFile(cfg["metrics_file"])],
    )
    if args.precompute_ref_log_probs and ref_model is not None:
        trainer.ref_model = None  # its log-probs are in the dataset now: free it
        del ref_model
    trainer.train()
    model = trainer.accelerator.unwrap_model(trainer.model)
    if not full and "ref" in getattr(model, "peft_config", {}):
        model.delete_adapter("ref")  # TRL's frozen copy of the reference: not part of the policy
    # Trainer.save_model, on every process: it gathers ZeRO-3 / FSDP shards before rank 0 writes.
    # PEFT: adapter_model.safetensors + adapter_config.json; full: the checkpoint + tokenizer.
    trainer.save_model(cfg["out"])
    if trainer.is_world_process_zero():
        if not full and cfg.get("merge"):
            merged = os.path.join(cfg["out"], "merged")
            model.merge_and_unload().save_pretrained(merged, safe_serialization=True)
            tok.save_pretrained(merged)
        log(f"saved to {cfg['out']}")


if __name__ == "__main__":
    main()
