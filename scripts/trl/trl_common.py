"""What the pipeline's TRL scripts share (train_dpo.py, and the scripts for other TRL trainers):
the config file, the engine's tokenization convention, loading the policy and its reference the
way TRL expects, the metrics file the pipeline tails, the run watchdog, and saving.

The scripts run as `python scripts/trl/<script>.py CONFIG.json` (or through accelerate launch),
so this folder is on sys.path and `import trl_common` finds this file.
"""

import json
import math
import os
import sys
import time

NAME = os.path.splitext(os.path.basename(sys.argv[0] or "trl"))[0]


def log(msg):
    print(f"[{NAME}] {msg}", file=sys.stderr, flush=True)


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
    """The engine's prompt ids: the chat template over the messages with add_generation_prompt."""
    if isinstance(prompt, str):
        return tok(prompt)["input_ids"]
    return tok.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]


def response_ids(tok, completion, where):
    """The engine's response ids: tokenizer(answer text) + eos, appended right after the prompt."""
    return tok(response_text(completion, where), add_special_tokens=False)["input_ids"] + [tok.eos_token_id]


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


def start(doc):
    """The script's config (argv[1]), after arming the watchdog and seeding everything.

    Seeded before anything random: TRL creates a new LoRA (random A) before Trainer seeds, so
    without this a re-run of the same round (a resumed stage) would train a different adapter."""
    if len(sys.argv) != 2:
        print(doc, file=sys.stderr)
        sys.exit(2)
    watch_run(os.environ.get("RLAIF_RUN_PID"), os.environ.get("RLAIF_RUN_HOST"))
    cfg = read_config(sys.argv[1])
    from transformers import set_seed

    set_seed(cfg["args"].get("seed", 42))
    return cfg


def metrics_callback(path):
    """A TrainerCallback appending one JSON line per logged training step, with the engine's
    metric names (TRL's logged values + step, total_steps, tokens_per_s)."""
    from transformers import TrainerCallback

    class MetricsFile(TrainerCallback):
        def __init__(self):
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
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")

    return MetricsFile()


def load_policy(cfg):
    """(tokenizer, policy, peft_config, dtype): the policy as TRL takes it. A full fine-tune starts
    from the base with any adapter merged; LoRA continues the given adapter or, with none, passes
    a new LoraConfig for TRL to wrap the base in."""
    import torch
    from peft import LoraConfig, PeftModel
    from transformers import AutoTokenizer

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
    return tok, policy, peft_config, dtype


def load_reference(cfg, dtype):
    """The reference model to pass TRL, or None for the one TRL takes itself: with PEFT, the base
    with the adapter disabled (new adapter) or a frozen copy of the adapter training continues
    ("ref"); full fine-tuning, a copy of the policy as loaded. Any other reference is loaded
    (its adapter merged) and passed explicitly."""
    from peft import PeftModel

    adapter = cfg.get("adapter")
    ref_model_path, ref_adapter = cfg.get("ref_model") or cfg["model"], cfg.get("ref_adapter")
    if cfg["full"]:
        implicit = same_path(ref_model_path, cfg["model"]) and ref_adapter is None and not adapter
    else:
        implicit = same_path(ref_model_path, cfg["model"]) and same_path(ref_adapter, adapter)
    if implicit:
        return None
    ref_model = load_causal_lm(ref_model_path, dtype)
    if ref_adapter:
        ref_model = PeftModel.from_pretrained(ref_model, ref_adapter).merge_and_unload()
    ref_model.eval()
    log(f"reference: {ref_model_path}" + (f" + adapter {ref_adapter}" if ref_adapter else ""))
    return ref_model


def load_rows(cfg):
    """The round's rows (cfg.train_file, JSONL). The datasets cache (and TRL's cache of
    precomputed reference log-probs, keyed by the data and the reference's weights, not by
    precision or options) lives in the work folder the pipeline clears before every launch: a
    re-run never reads a stale cache."""
    from datasets import load_dataset

    return load_dataset(
        "json", data_files=cfg["train_file"], split="train", cache_dir=os.path.join(cfg["work_dir"], "datasets")
    )


def common_args():
    """Trainer arguments every script sets: the pipeline logs every step, saves once at the end
    and reports nowhere else."""
    return {
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": [],
        "disable_tqdm": True,
        "remove_unused_columns": False,
    }


def save(trainer, cfg, tok):
    """Save what the round trained in cfg.out, the layout the in-process trainer writes."""
    full = bool(cfg["full"])
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
