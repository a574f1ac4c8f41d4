#!/usr/bin/env python3
"""TRL baseline for the RL benchmark: GRPO steps of TRL's GRPOTrainer on PyTorch CPU.

    python3 scripts/bench/trl_grpo_step.py --model DIR --threads 2 --mode lora --json

Needs torch, transformers, trl (1.13) and peft. One optimizer step is one generation batch:
--prompts prompts x --generations completions each (per_device_train_batch_size --batch-size,
gradient_accumulation_steps = prompts x generations / batch-size, so steps_per_generation, which
defaults to it, makes TRL generate once per optimizer step), completions of exactly
--completion-len tokens (max_completion_length, and min_new_tokens in generation_kwargs so that
end-of-sequence is never sampled).

GRPOConfig is TRL's defaults (beta 0: no reference model; loss_type dapo; epsilon 0.2;
num_iterations 1; scale_rewards group; temperature 1; learning_rate 1e-6; max_grad_norm 1.0;
AdamW), except what a CPU benchmark has to set: use_cpu, bf16 off (GRPOConfig turns it on by
default), gradient_checkpointing off unless --gradient-checkpointing (GRPOConfig turns it on by
default; bench-rl runs both sides with the same setting), no reporting, no saving.
--mode lora: PEFT LoraConfig(r 16, alpha 32, dropout 0) on q/k/v/o/gate/up/down; --mode full: every
parameter trains.

The prompts and rewards are shared with bench/bench-rl.ts: prompt p is ids --prompt-len ids of the
Park-Miller generator (x <- 48271 x mod (2^31 - 1), x0 = seed + 1, id = 3 + x mod (vocab - 3)),
drawn prompt after prompt; they are fed as token ids (the dataset holds a name, and
_tokenize_prompts maps it to its ids), so no tokenizer round trip can change them. A completion's
reward is mean over its ids of (id mod 7) / 6.

Timing: a step is on_step_begin to on_step_end of the Trainer's loop (generation, rewards,
advantages, the per-micro-batch forward + backward, clipping and the optimizer step; logging is
after it). Generation is the time inside GRPOTrainer._generate (tokenizing the prompts,
model.generate, decoding); training is the rest of the step. --warmup untimed steps (1) come
first, then --repeats timed ones (2). Prints one JSON line with --json.
"""

import argparse
import json
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_process import minstd_ids, reset_hwm, vm_hwm_bytes  # noqa: E402
from thread_env import ensure_thread_env_from_argv  # noqa: E402

if __name__ == "__main__":
    ensure_thread_env_from_argv()

import torch  # noqa: E402

LORA_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def bench_prompts(seed, prompts, prompt_len, vocab):
    flat = minstd_ids(seed, prompts * prompt_len, vocab)
    return [flat[p * prompt_len : (p + 1) * prompt_len] for p in range(prompts)]


def reward_of_ids(ids):
    return sum((i % 7) / 6 for i in ids) / len(ids) if ids else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--mode", choices=["lora", "full"], default="lora")
    ap.add_argument("--gradient-checkpointing", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--generations", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--prompt-len", type=int, default=64)
    ap.add_argument("--completion-len", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    import transformers
    import trl
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    rows = args.prompts * args.generations
    if rows % args.batch_size:
        raise SystemExit(f"--batch-size {args.batch_size} must divide {rows} completions")
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    vocab = model.config.vocab_size
    prompt_ids = bench_prompts(args.seed, args.prompts, args.prompt_len, vocab)
    names = [f"bench prompt {p}" for p in range(args.prompts)]
    ids_of = dict(zip(names, prompt_ids))

    class IdsGRPOTrainer(GRPOTrainer):
        def _tokenize_prompts(self, prompts):
            return [list(ids_of[p]) for p in prompts], None, {}

    def id_reward(prompts, completions, completion_ids, **kwargs):
        return [reward_of_ids(list(c)) for c in completion_ids]

    peft_config = None
    if args.mode == "lora":
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=16, lora_alpha=32, lora_dropout=0.0, target_modules=LORA_MODULES, task_type="CAUSAL_LM"
        )

    out_dir = tempfile.mkdtemp(prefix="trl-grpo-bench-")
    config = GRPOConfig(
        output_dir=out_dir,
        use_cpu=True,
        bf16=False,
        fp16=False,
        gradient_checkpointing=args.gradient_checkpointing,
        per_device_train_batch_size=args.batch_size,
        gradient_accumulation_steps=rows // args.batch_size,
        num_generations=args.generations,
        max_completion_length=args.completion_len,
        generation_kwargs={"min_new_tokens": args.completion_len},
        max_steps=args.warmup + args.repeats,
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=args.seed,
    )

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.step_ms, self.gen_ms, self.cpu_s, self.lengths = [], [], [], []
            self.gen_acc = 0.0
            self.setup_peak = None
            self.reset = False

        def on_step_begin(self, a, state, control, **kw):
            if state.global_step == args.warmup:
                self.setup_peak = vm_hwm_bytes()  # setup + warm-up, before the counter is reset
                self.reset = reset_hwm()
            self.gen_acc = 0.0
            self.t0 = time.perf_counter()
            self.c0 = time.process_time()

        def on_step_end(self, a, state, control, **kw):
            self.step_ms.append((time.perf_counter() - self.t0) * 1000)
            self.cpu_s.append(time.process_time() - self.c0)
            self.gen_ms.append(self.gen_acc)

    timer = StepTimer()
    trainer = IdsGRPOTrainer(
        model=model,
        reward_funcs=[id_reward],
        args=config,
        train_dataset=Dataset.from_dict({"prompt": names}),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[timer],
    )

    inner_generate = trainer._generate

    def timed_generate(prompts):
        t = time.perf_counter()
        out = inner_generate(prompts)
        timer.gen_acc += (time.perf_counter() - t) * 1000
        # out[1]: completion ids per row; the benchmark's premise is that all have the full length
        timer.lengths.extend(len(c) for c in out[1])
        return out

    trainer._generate = timed_generate
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    trainer.train()
    steps_peak = vm_hwm_bytes() if timer.reset else None

    logs = [h for h in trainer.state.log_history if "loss" in h]
    w = args.warmup
    timed = timer.step_ms[w:]
    best = min(range(len(timed)), key=lambda i: timed[i])
    res = {
        "mode": args.mode,
        "step_ms": timed[best],
        "generation_ms": timer.gen_ms[w:][best],
        "training_ms": timed[best] - timer.gen_ms[w:][best],
        "step_ms_all": timed,
        "generation_ms_all": timer.gen_ms[w:],
        "step_cpu_s_all": timer.cpu_s[w:],
        "warmup_ms": timer.step_ms[w - 1] if w > 0 else None,
        "losses": [h["loss"] for h in logs],
        "grad_norms": [h.get("grad_norm") for h in logs],
        "rewards": [h.get("reward") for h in logs],
        "completion_lengths": [min(timer.lengths), max(timer.lengths)] if timer.lengths else None,
        "trainable_params": trainable,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "steps_peak_rss_bytes": steps_peak,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "trl": trl.__version__,
    }
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k}: {v}")


if __name__ == "__main__":
    main()
