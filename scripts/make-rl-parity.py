#!/usr/bin/env python3
"""GRPO / RLOO reference numbers from the real TRL trainers, for the TypeScript RL loss graph.

    python3 scripts/make-rl-parity.py HF_TINY_DIR > test/fixtures/rl-parity.json

HF_TINY_DIR is the hf-tiny fixture set (../shared/fixtures/hf-tiny, or what
make-hf-tiny-fixtures.py builds). Needs torch, transformers, trl, peft (and their deps: accelerate,
datasets); nothing is downloaded. Written against trl 1.13.0 (line numbers below are that version's
trl/trainer/grpo_trainer.py and rloo_trainer.py); other versions are refused unless RL_PARITY_ANY_TRL=1.

Nothing here re-implements the loss. For every case a real `GRPOTrainer` (GRPOConfig with
report_to="none", use_cpu=True, bf16=False) is built around a float64 model object, and
  1. `trainer._generate_and_score_completions(rows)` runs TRL's own rollout post-processing with only
     the sampler replaced: `_generate_single_turn` returns the fixed completions below (TRL's own
     `_tokenize_prompts` makes the prompt ids; we assert they equal tok(apply_chat_template(...))).
     That is where TRL left-pads prompts / right-pads completions with the pad id (grpo_trainer.py
     2462-2484), applies mask_truncated_completions (2509-2516), computes the reference log-probs,
     the rewards (a trivial reward function returning fixed numbers) and the advantages (2788-2814):
         mean_grouped_rewards = torch.nanmean(rewards.view(-1, num_generations), dim=1)
         std_rewards = nanstd(rewards.view(-1, num_generations), dim=1)   # Bessel-corrected (utils.py 864)
         advantages = rewards - mean_grouped_rewards
         if self.scale_rewards != "none":
             advantages = advantages / (std_rewards + 1e-4)
     and logs reward / reward_std / frac_reward_zero_std / completions/* metrics.
  2. `old_per_token_logps` is put into those inputs: the policy's own per-token log-probs (TRL's
     `_get_per_token_logps_and_entropies`, which divides the logits by args.temperature, line 1543)
     PLUS a fixed perturbation, so that some ratios fall outside [1 - epsilon, 1 + epsilon_high].
     `ref_per_token_logps` is TRL's own (same function, same temperature) on tiny-llama/.
  3. `loss = trainer._compute_loss(model, inputs)` (grpo_trainer.py 3113), `loss.backward()`.
     current_gradient_accumulation_steps = 1 and the model is in train mode, as in a real step with
     gradient_accumulation_steps=1, so no extra normaliser applies (dapo: num_items_in_batch / 1 * 1 / 1).
Full fine-tune: policy = dpo/tiny-llama/policy (float64), reference = tiny-llama (float64; TRL's own
ref_model, which TRL would load from the policy path, is replaced by it). LoRA: tiny-llama (float64) +
PeftModel.from_pretrained(dpo/tiny-llama/lora-adapter, is_trainable=True); TRL adds a frozen "ref"
copy of a pre-trained adapter when beta != 0 (grpo_trainer.py 448-475) — we delete it, so TRL's
reference is the base model with the adapter disabled (what it does for a fresh adapter), i.e. the
same tiny-llama reference as the full case. LoRA gradients are keyed by the adapter file's names.

RLOO: the same batch through a real `RLOOTrainer` (its own `_generate_and_score_completions`, which
always computes old log-probs from the current policy, puts beta * sum_t(old - ref) into the reward
and uses the leave-one-out baseline, rloo_trainer.py 1576-1607) and its `_compute_loss`
(sequence-level ratio of summed log-probs, mean over sequences, 1707-1776). "on_policy" is exactly
that step; "off_policy" replaces inputs["old_logps"] by that sum plus RLOO_OLD_OFFSET (advantages
unchanged), to exercise the clip.
"""

import json
import math
import os
import sys
import tempfile
import warnings

import torch

warnings.filterwarnings("ignore")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import peft  # noqa: E402
import transformers  # noqa: E402
import trl  # noqa: E402
from datasets import Dataset  # noqa: E402
from peft import PeftModel  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402
from trl import GRPOConfig, GRPOTrainer, RLOOConfig, RLOOTrainer  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grad_summary import summary  # noqa: E402

if trl.__version__ != "1.13.0" and not os.environ.get("RL_PARITY_ANY_TRL"):
    sys.exit(f"written for trl 1.13.0 (found {trl.__version__}); set RL_PARITY_ANY_TRL=1 to run anyway")

DTYPE = torch.float64
TEMPERATURE = 0.7
MAX_COMPLETION_LENGTH = 12
GROUP_SIZE = 2

PROMPTS = [
    [{"role": "user", "content": "Name a colour of the sky."}],
    [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "What is 2 + 3?"},
    ],
]
# (prompt index, text, terminated). A terminated completion is tok(text + "<|im_end|>"); the one that is
# not is cut at MAX_COMPLETION_LENGTH tokens with no <|im_end|>, as a sampler stopped by the length limit.
COMPLETIONS = [
    (0, "Blue, on a clear day.", True),
    (0, "The sky is usually a bright and pleasant shade of blue in the morning", False),
    (1, "5.", True),
    (1, "It is five, I think.", True),
]
REWARDS = [1.0, 0.0, 0.5, 0.5]  # group 2 has zero std (frac_reward_zero_std = 0.5)
# Perturbation of the old log-probs: 0.3 * sin(k) + OFFSET[i], k = 1 + t + 13 * i for token t of completion i.
# Completions 0 / 1 carry the only non-zero advantages; the offsets put completion 0 above the sequence-level
# (GSPO) clip range while completion 1 stays inside it, and give both some token-level clipped tokens.
OFFSET = [-0.3, 0.1, 0.0, 0.0]

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

COMMON = dict(epsilon=0.2, epsilon_high=0.28)
CASES = [
    dict(name="grpo", loss_type="grpo", beta=0.04, importance_sampling_level="token"),
    dict(name="bnpo", loss_type="bnpo", beta=0.04, importance_sampling_level="token"),
    dict(name="dr_grpo", loss_type="dr_grpo", beta=0.04, importance_sampling_level="token"),
    dict(name="dapo", loss_type="dapo", beta=0.04, importance_sampling_level="token"),
    dict(name="grpo_beta0", loss_type="grpo", beta=0.0, importance_sampling_level="token"),
    dict(name="gspo", loss_type="grpo", beta=0.04, importance_sampling_level="sequence"),
    # TRL 1.13 default use_bias_correction_kl=True multiplies the per-token KL by the ratio; this turns it off.
    dict(name="grpo_kl_no_is", loss_type="grpo", beta=0.04, importance_sampling_level="token", use_bias_correction_kl=False),
    dict(name="grpo_mask_truncated", loss_type="grpo", beta=0.04, importance_sampling_level="token", mask_truncated_completions=True),
    dict(name="dapo_mask_truncated", loss_type="dapo", beta=0.04, importance_sampling_level="token", mask_truncated_completions=True),
]
RLOO_CASE = dict(beta=0.04, epsilon=0.2, epsilon_high=0.28)
# RLOO "off_policy": old sequence log-prob = the policy's own summed log-prob + this (ratios e^0.5 (clipped, A > 0),
# e^-0.1, e^-0.1, e^0.1). A per-token perturbation summed over a sequence would clip nearly everything.
RLOO_OLD_OFFSET = [-0.5, 0.1, 0.1, -0.1]


def token_ids(tok):
    prompt_ids = []
    for messages in PROMPTS:
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        prompt_ids.append(tok(text, add_special_tokens=False).input_ids)
    completion_ids = []
    for _, text, terminated in COMPLETIONS:
        if terminated:
            ids = tok(text + "<|im_end|>", add_special_tokens=False).input_ids
            assert len(ids) <= MAX_COMPLETION_LENGTH, (text, len(ids))
        else:
            ids = tok(text, add_special_tokens=False).input_ids
            assert len(ids) > MAX_COMPLETION_LENGTH, (text, len(ids))
            ids = ids[:MAX_COMPLETION_LENGTH]
            assert tok.eos_token_id not in ids and tok.pad_token_id not in ids
        completion_ids.append(ids)
    return prompt_ids, completion_ids


def load(path):
    model = AutoModelForCausalLM.from_pretrained(path, dtype=DTYPE)
    return model


def load_lora(root):
    base = load(os.path.join(root, "tiny-llama"))
    model = PeftModel.from_pretrained(base, os.path.join(root, "dpo", "tiny-llama", "lora-adapter"), is_trainable=True)
    for n, p in model.named_parameters():
        assert p.dtype == DTYPE, (n, p.dtype)
    return model


def padded(rows, width, value=0.0):
    out = torch.full((len(rows), width), value, dtype=DTYPE)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=DTYPE)
    return out


def unpadded(t, lengths):
    return [t[i, :n].tolist() for i, n in enumerate(lengths)]


class Setup:
    def __init__(self, root):
        self.root = root
        self.tok = AutoTokenizer.from_pretrained(os.path.join(root, "tiny-llama"))
        self.prompt_ids, self.completion_ids = token_ids(self.tok)
        self.lengths = [len(c) for c in self.completion_ids]
        self.rows = [{"prompt": PROMPTS[p]} for p, _, _ in COMPLETIONS]
        self.reward_of = {tuple(c): r for c, r in zip(self.completion_ids, REWARDS, strict=True)}
        self.tmp = tempfile.mkdtemp(prefix="rl-parity-")
        self.ref_model = load(os.path.join(root, "tiny-llama"))
        self.ref_model.eval()

        setup = self  # the reward function below is a plain function, as a user would write

        def fixed_reward(prompts, completions, completion_ids, **kwargs):
            return [setup.reward_of[tuple(c)] for c in completion_ids]

        self.reward_fn = fixed_reward

    def sampler(self, expect_prompt_ids, returns_logprobs):
        # Stand-in for generation: the fixed completions, in the RepeatSampler order [p0, p0, p1, p1].
        def _generate_single_turn(prompt_ids, images, multimodal_fields, has_tool_images=False):
            got = [list(p) for p in prompt_ids]
            assert got == expect_prompt_ids, ("TRL tokenized the prompts differently", got, expect_prompt_ids)
            ids = [list(c) for c in self.completion_ids]
            return (ids, None) if returns_logprobs else ids

        return _generate_single_turn

    def dataset(self):
        return Dataset.from_list([{"prompt": p} for p in PROMPTS])

    def grpo(self, model, case):
        extra = {k: case[k] for k in ("use_bias_correction_kl", "mask_truncated_completions") if k in case}
        args = GRPOConfig(
            output_dir=self.tmp,
            report_to="none",
            use_cpu=True,
            bf16=False,
            fp16=False,
            per_device_train_batch_size=len(COMPLETIONS),
            gradient_accumulation_steps=1,
            num_generations=GROUP_SIZE,
            max_completion_length=MAX_COMPLETION_LENGTH,
            temperature=TEMPERATURE,
            beta=case["beta"],
            loss_type=case["loss_type"],
            importance_sampling_level=case["importance_sampling_level"],
            scale_rewards=case.get("scale_rewards", "group"),
            logging_steps=1,
            save_strategy="no",
            **COMMON,
            **extra,
        )
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=self.reward_fn,
            args=args,
            train_dataset=self.dataset(),
            processing_class=self.tok,
        )
        return self._prepare(trainer, returns_logprobs=True)

    def rloo(self, model, case):
        args = RLOOConfig(
            output_dir=self.tmp,
            report_to="none",
            use_cpu=True,
            bf16=False,
            fp16=False,
            per_device_train_batch_size=len(COMPLETIONS),
            gradient_accumulation_steps=1,
            num_generations=GROUP_SIZE,
            max_completion_length=MAX_COMPLETION_LENGTH,
            temperature=TEMPERATURE,
            beta=case["beta"],
            epsilon=case["epsilon"],
            epsilon_high=case["epsilon_high"],
            logging_steps=1,
            save_strategy="no",
        )
        trainer = RLOOTrainer(
            model=model,
            reward_funcs=self.reward_fn,
            args=args,
            train_dataset=self.dataset(),
            processing_class=self.tok,
        )
        return self._prepare(trainer, returns_logprobs=False)

    def _prepare(self, trainer, returns_logprobs):
        if trainer.ref_model is not None:
            trainer.ref_model = self.ref_model
        peft_model = trainer.model if isinstance(trainer.model, PeftModel) else None
        if peft_model is not None and "ref" in peft_model.peft_config:
            peft_model.delete_adapter("ref")
            peft_model.set_adapter("default")
            for n, p in peft_model.named_parameters():
                p.requires_grad_(".lora_" in n)
        trainer._generate_single_turn = self.sampler(self.prompt_ids_for_rows(), returns_logprobs)
        trainer.current_gradient_accumulation_steps = 1
        trainer.model.train()
        trainer._metrics["train"].clear()
        return trainer

    def prompt_ids_for_rows(self):
        return [self.prompt_ids[p] for p, _, _ in COMPLETIONS]


def policy_logps(trainer, inputs):
    input_ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], dim=1)
    attention_mask = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1)
    with torch.no_grad():
        logps, _, _ = trainer._get_per_token_logps_and_entropies(
            trainer.model, input_ids, attention_mask, inputs["completion_ids"].size(1)
        )
    return logps


def perturbation(lengths):
    return [[0.3 * math.sin(1 + t + 13 * i) + OFFSET[i] for t in range(n)] for i, n in enumerate(lengths)]


def normalizer(case, inputs):
    # What the summed masked per-token loss is divided by (grpo_trainer.py 3246-3267), for this batch.
    mask = inputs["completion_mask"]
    if case["loss_type"] == "grpo":
        return "per sequence: sum_t / max(1, n_i); then mean over the %d sequences" % mask.size(0)
    if case["loss_type"] == "bnpo":
        return int(mask.sum().item())
    if case["loss_type"] == "dr_grpo":
        return mask.size(0) * MAX_COMPLETION_LENGTH
    if case["loss_type"] == "dapo":
        return int(inputs["num_items_in_batch"].item())
    raise ValueError(case["loss_type"])


def metrics_of(trainer):
    skip = {"num_tokens", "step_time"}
    return {k: v[-1] for k, v in sorted(trainer._metrics["train"].items()) if v and k not in skip}


def grads_full(model):
    params = dict(model.named_parameters())
    return {k: summary(params[k].grad) for k in FULL_TENSORS}


def grads_lora(model):
    params = {n.replace(".default.", "."): p for n, p in model.named_parameters() if ".lora_" in n}
    return {k: summary(params[k].grad) for k in LORA_TENSORS}


def main():
    root = sys.argv[1]
    S = Setup(root)
    width = max(S.lengths)

    # Shared inputs: TRL's own pipeline, full and LoRA policies, beta != 0 (so the reference log-probs come too).
    base_case = CASES[0]
    shared = {}
    for kind in ("full", "lora"):
        model = load(os.path.join(root, "dpo", "tiny-llama", "policy")) if kind == "full" else load_lora(root)
        trainer = S.grpo(model, base_case)
        inputs = trainer._generate_and_score_completions(S.rows)
        assert inputs.get("old_per_token_logps") is None  # on-policy step: TRL skips it (grpo_trainer.py 2663-2678)
        own = policy_logps(trainer, inputs)
        shared[kind] = dict(
            inputs=inputs,
            own=unpadded(own, S.lengths),
            ref=unpadded(inputs["ref_per_token_logps"], S.lengths),
            metrics=metrics_of(trainer),
        )
    ref = shared["full"]["ref"]
    for a, b in zip(ref, shared["lora"]["ref"], strict=True):  # both references are tiny-llama
        assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-12
    pert = perturbation(S.lengths)
    old = {
        kind: [[x + d for x, d in zip(o, p, strict=True)] for o, p in zip(shared[kind]["own"], pert, strict=True)]
        for kind in ("full", "lora")
    }
    advantages = shared["full"]["inputs"]["advantages"].tolist()
    rollout = shared["full"]["inputs"]
    assert rollout["prompt_ids"].shape[1] == max(len(p) for p in S.prompt_ids)
    assert rollout["completion_ids"].shape[1] == width

    # Advantages under the other scale_rewards settings (same TRL lines), for reference.
    adv_by_scale = {"group": advantages}
    for scale in ("batch", "none"):
        t = S.grpo(load(os.path.join(root, "dpo", "tiny-llama", "policy")), dict(base_case, beta=0.0, scale_rewards=scale))
        adv_by_scale[scale] = t._generate_and_score_completions(S.rows)["advantages"].tolist()

    cases = []
    for case in CASES:
        out = {"name": case["name"], **COMMON, **{k: v for k, v in case.items() if k != "name"}}
        out.setdefault("use_bias_correction_kl", True)
        out.setdefault("mask_truncated_completions", False)
        for kind in ("full", "lora"):
            model = load(os.path.join(root, "dpo", "tiny-llama", "policy")) if kind == "full" else load_lora(root)
            trainer = S.grpo(model, case)
            inputs = trainer._generate_and_score_completions(S.rows)
            assert inputs["advantages"].tolist() == advantages
            inputs["old_per_token_logps"] = padded(old[kind], width)
            if case["beta"] != 0.0:
                # TRL's own reference log-probs equal ours wherever the loss sees them (mask_truncated_completions
                # also drops a truncated row from the attention mask, which changes its masked-out positions only).
                got = unpadded(inputs["ref_per_token_logps"], S.lengths)
                live = inputs["completion_mask"].sum(1).tolist()
                for a, b, n in zip(got, ref, live, strict=True):
                    assert n == 0 or max(abs(x - y) for x, y in zip(a[:n], b[:n], strict=True)) < 1e-12, case["name"]
                inputs["ref_per_token_logps"] = padded(ref, width)
            else:
                assert "ref_per_token_logps" not in inputs
            loss = trainer._compute_loss(trainer.model, inputs)
            loss.backward()
            entry = {"loss": loss.item(), "normalizer": normalizer(case, inputs), "metrics": metrics_of(trainer)}
            if case.get("mask_truncated_completions"):
                entry["completion_mask_rows"] = inputs["completion_mask"].sum(1).tolist()
            entry["grads"] = grads_full(model) if kind == "full" else grads_lora(trainer.model)
            out[kind] = entry
        cases.append(out)

    # RLOO
    rloo = {
        "trainer": "trl.RLOOTrainer",
        **RLOO_CASE,
        "normalize_advantages": False,
        "off_policy_old_logps_offset": RLOO_OLD_OFFSET,
        "advantage": "A_i = r_i - beta * sum_t(old_logp - ref_logp) - mean_{j != i}(same for j); loss = mean_i -min(rho_i A_i, clip(rho_i, 1-eps, 1+eps_high) A_i), rho_i = exp(sum_t logp - sum_t old_logp)",
    }
    for kind in ("full", "lora"):
        res = {}
        for mode in ("on_policy", "off_policy"):
            model = load(os.path.join(root, "dpo", "tiny-llama", "policy")) if kind == "full" else load_lora(root)
            trainer = S.rloo(model, RLOO_CASE)
            inputs = trainer._generate_and_score_completions(S.rows)
            own_seq = [sum(o) for o in shared[kind]["own"]]
            assert max(abs(a - b) for a, b in zip(inputs["old_logps"].tolist(), own_seq, strict=True)) < 1e-9
            if mode == "off_policy":
                inputs["old_logps"] = torch.tensor([x + d for x, d in zip(own_seq, RLOO_OLD_OFFSET, strict=True)], dtype=DTYPE)
            loss = trainer._compute_loss(trainer.model, inputs)
            loss.backward()
            res[mode] = {
                "old_logps": inputs["old_logps"].tolist(),
                "advantages": inputs["advantages"].tolist(),
                "loss": loss.item(),
                "metrics": metrics_of(trainer),
                "grads": grads_full(model) if kind == "full" else grads_lora(trainer.model),
            }
        rloo[kind] = res

    json.dump(
        {
            "what": "TRL GRPOTrainer._compute_loss / RLOOTrainer._compute_loss on hf-tiny tiny-llama, float64; see scripts/make-rl-parity.py and docs/rl-conventions.md",
            "trl_version": trl.__version__,
            "torch_version": torch.__version__,
            "transformers_version": transformers.__version__,
            "peft_version": peft.__version__,
            "dtype": "float64",
            "temperature": TEMPERATURE,
            "prompts": PROMPTS,
            "completions": [{"prompt": p, "text": t, "terminated": term} for p, t, term in COMPLETIONS],
            "prompt_ids": S.prompt_ids,
            "completion_ids": S.completion_ids,
            "completion_prompt": [p for p, _, _ in COMPLETIONS],
            "group_size": GROUP_SIZE,
            "pad_token_id": S.tok.pad_token_id,
            "eos_token_id": S.tok.eos_token_id,
            "max_completion_length": MAX_COMPLETION_LENGTH,
            "rewards": REWARDS,
            "advantages": advantages,
            "advantages_by_scale_rewards": adv_by_scale,
            "rollout_metrics": {k: v for k, v in shared["full"]["metrics"].items()},
            "policy_per_token_logps": {kind: shared[kind]["own"] for kind in ("full", "lora")},
            "perturbation": pert,
            "old_per_token_logps": old,
            "ref_per_token_logps": ref,
            "cases": cases,
            "rloo": rloo,
        },
        sys.stdout,
        indent=1,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
