#!/usr/bin/env python3
"""PPO reference numbers (GAE, policy + value loss and their gradients) for the TypeScript PPO graph.

    python3 scripts/make-ppo-parity.py HF_TINY_DIR > test/fixtures/ppo-parity.json

HF_TINY_DIR is the hf-tiny fixture set (../shared/fixtures/hf-tiny). Needs torch, transformers, peft;
nothing is downloaded. Prompt and completion ids are read from test/fixtures/rl-parity.json (TRL's own
tokenization, made by make-rl-parity.py), so the batch is the GRPO fixture's.

TRL 1.x has no PPOTrainer any more (it was removed after the 0.2x series), so there is no trainer
object to call as make-rl-parity.py does. The steps below are the lines of TRL's last PPOTrainer
(trl/trainer/ppo_trainer.py, PPOTrainer.train, "4. compute rewards" to the loss; the PPOv2 trainer
of TRL 0.11-0.2x) copied verbatim, with masked_mean / masked_var / masked_whiten from trl/core.py
(later trl/trainer/utils.py). Two conventions differ, both documented in docs/rl-conventions.md:
  * masks: TRL derives padding_mask (policy loss) and padding_mask_p1 (values: one position more)
    from the first pad id, which with pad = eos leaves the eos token out of the policy loss and puts
    the score on it. Here every completion token (eos included) is an action: padding_mask =
    padding_mask_p1 = positions past the completion, and the score lands on the last token
    (`actual_end` = sequence length - 1).
  * the critic: TRL's is a separate model (value_model, a ...ForSequenceClassification started from the
    reward model); ours is a value head on the policy's own final hidden state
    (AutoModelForCausalLMWithValueHead's v_head.summary, hidden -> 1 with bias). The value of completion
    token t is read at the position that predicts it, as TRL's `full_value[:, context_length - 1 : -1]`.
Each row is run through the model alone (no padding inside a forward), in float64.

Cases: GAE under kl_estimator k1 / k3, whiten_rewards, gamma / lam (advantages and returns), and the
loss + gradients of every listed tensor (full fine-tune: dpo/tiny-llama/policy; LoRA: tiny-llama +
dpo/tiny-llama/lora-adapter) with the v_head given below, at two clip settings.
"""

import json
import math
import os
import sys
import warnings

import torch

warnings.filterwarnings("ignore")

import peft  # noqa: E402
import transformers  # noqa: E402
from peft import PeftModel  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grad_summary import summary  # noqa: E402

DTYPE = torch.float64
TEMPERATURE = 0.7
SCORES = [0.9, -0.4, 0.3, 0.6]
# Perturbations of the sampling policy's numbers, so the clips bind somewhere.
OLD_LOGP_OFFSET = [-0.25, 0.1, 0.05, -0.1]
OLD_VALUE_AMPLITUDE = 0.3

FULL_TENSORS = [
    "model.embed_tokens.weight",
    "model.layers.0.self_attn.q_proj.weight",
    "model.layers.1.mlp.down_proj.weight",
    "model.norm.weight",
    "v_head.summary.weight",
    "v_head.summary.bias",
]
LORA_TENSORS = [
    "base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight",
    "base_model.model.model.layers.1.mlp.gate_proj.lora_B.weight",
    "v_head.summary.weight",
    "v_head.summary.bias",
]

GAE_CASES = [
    dict(name="k1", kl_coef=0.05, kl_estimator="k1", whiten_rewards=False, gamma=1.0, lam=0.95),
    dict(name="k3_whiten", kl_coef=0.2, kl_estimator="k3", whiten_rewards=True, gamma=0.99, lam=0.9),
]
LOSS_CASES = [
    dict(name="defaults", cliprange=0.2, cliprange_value=0.2, vf_coef=0.1),
    dict(name="tight_clips", cliprange=0.05, cliprange_value=0.05, vf_coef=0.5),
]


# trl/core.py (later trl/trainer/utils.py)
def masked_mean(values, mask, axis=None):
    if axis is not None:
        return (values * mask).sum(axis=axis) / mask.sum(axis=axis)
    return (values * mask).sum() / mask.sum()


def masked_var(values, mask, unbiased=True):
    mean = masked_mean(values, mask)
    centered_values = values - mean
    variance = masked_mean(centered_values**2, mask)
    if unbiased:
        mask_sum = mask.sum()
        bessel_correction = mask_sum / (mask_sum - 1)
        variance = variance * bessel_correction
    return variance


def masked_whiten(values, mask, shift_mean=True):
    mean, var = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        whitened += mean
    return whitened


def v_head_init(hidden):
    weight = torch.tensor([[0.05 * math.sin(1.0 + 0.7 * k) for k in range(hidden)]], dtype=DTYPE)
    return weight, torch.tensor([0.1], dtype=DTYPE)


class Policy:
    """A causal LM and a value head on its final hidden state."""

    def __init__(self, model, hidden):
        self.model = model
        w, b = v_head_init(hidden)
        self.v_head = torch.nn.Linear(hidden, 1, dtype=DTYPE)
        with torch.no_grad():
            self.v_head.weight.copy_(w)
            self.v_head.bias.copy_(b)

    def decoder(self):
        m = self.model
        if isinstance(m, PeftModel):
            m = m.base_model.model
        return m

    def rows(self, prompt_ids, completion_ids):
        """Per row: logits / temperature at the positions predicting each completion token, and V there."""
        out = []
        for p, c in zip(prompt_ids, completion_ids, strict=True):
            ids = torch.tensor([p + c])
            lm = self.decoder()
            h = lm.model(input_ids=ids).last_hidden_state  # [1, S, H], after the final norm
            logits = lm.lm_head(h)[:, len(p) - 1 : -1]
            logits = logits / (TEMPERATURE + 1e-7)  # ppo_trainer.py: logits /= args.temperature + 1e-7
            value = self.v_head(h)[:, len(p) - 1 : -1].squeeze(-1)
            out.append((logits[0], value[0]))
        return out


def padded(rows, width, fill):
    t = torch.full((len(rows), width), fill, dtype=DTYPE)
    for i, r in enumerate(rows):
        t[i, : len(r)] = r if isinstance(r, torch.Tensor) else torch.tensor(r, dtype=DTYPE)
    return t


def logprobs_of(logits, ids):
    return torch.log_softmax(logits, dim=-1).gather(-1, torch.tensor(ids).unsqueeze(-1)).squeeze(-1)


def load_full(root):
    return AutoModelForCausalLM.from_pretrained(os.path.join(root, "dpo", "tiny-llama", "policy"), dtype=DTYPE)


def load_lora(root):
    base = AutoModelForCausalLM.from_pretrained(os.path.join(root, "tiny-llama"), dtype=DTYPE)
    return PeftModel.from_pretrained(base, os.path.join(root, "dpo", "tiny-llama", "lora-adapter"), is_trainable=True)


def gae(case, logprobs, ref_logprobs, values, scores, padding_mask):
    """TRL PPOTrainer.train, steps 4-6, verbatim but for the masks (see the module docstring)."""
    args = type("Args", (), case)
    INVALID_LOGPROB = 1.0
    logprobs = torch.masked_fill(logprobs, padding_mask, INVALID_LOGPROB)
    ref_logprobs = torch.masked_fill(ref_logprobs, padding_mask, INVALID_LOGPROB)
    padding_mask_p1 = padding_mask
    values = torch.masked_fill(values, padding_mask_p1, 0)
    sequence_lengths = (~padding_mask).sum(1) - 1  # the last completion token
    # 4. compute rewards
    logr = ref_logprobs - logprobs
    kl = -logr if args.kl_estimator == "k1" else (logr.exp() - 1) - logr  # Else statement is k3
    non_score_reward = -args.kl_coef * kl
    rewards = non_score_reward.clone()
    actual_start = torch.arange(rewards.size(0), device=rewards.device)
    actual_end = sequence_lengths
    rewards[[actual_start, actual_end]] += scores
    # 5. whiten rewards
    if args.whiten_rewards:
        rewards = masked_whiten(rewards, mask=~padding_mask_p1, shift_mean=False)
        rewards = torch.masked_fill(rewards, padding_mask_p1, 0)
    # 6. compute advantages and returns
    lastgaelam = 0
    advantages_reversed = []
    gen_length = values.shape[1]
    for t in reversed(range(gen_length)):
        nextvalues = values[:, t + 1] if t < gen_length - 1 else 0.0
        delta = rewards[:, t] + args.gamma * nextvalues - values[:, t]
        lastgaelam = delta + args.gamma * args.lam * lastgaelam
        advantages_reversed.append(lastgaelam)
    advantages = torch.stack(advantages_reversed[::-1], axis=1)
    returns = advantages + values
    advantages = masked_whiten(advantages, ~padding_mask)
    advantages = torch.masked_fill(advantages, padding_mask, 0)
    return dict(rewards=rewards, advantages=advantages, returns=returns, kl=kl, non_score_reward=non_score_reward)


def ppo_loss(case, new_logprobs, vpred, mb_logprobs, mb_values, mb_return, mb_advantage, padding_mask):
    """TRL PPOTrainer.train's micro-batch loss, verbatim but for the masks."""
    args = type("Args", (), case)
    INVALID_LOGPROB = 1.0
    padding_mask_p1 = padding_mask
    new_logprobs = torch.masked_fill(new_logprobs, padding_mask, INVALID_LOGPROB)
    mb_logprobs = torch.masked_fill(mb_logprobs, padding_mask, INVALID_LOGPROB)
    vpred = torch.masked_fill(vpred, padding_mask_p1, 0)
    vpredclipped = torch.clamp(
        vpred,
        mb_values - args.cliprange_value,
        mb_values + args.cliprange_value,
    )
    vf_losses1 = torch.square(vpred - mb_return)
    vf_losses2 = torch.square(vpredclipped - mb_return)
    vf_loss_max = torch.max(vf_losses1, vf_losses2)
    vf_loss = 0.5 * masked_mean(vf_loss_max, ~padding_mask_p1)
    vf_clipfrac = masked_mean((vf_losses2 > vf_losses1).float(), ~padding_mask_p1)
    logprobs_diff = new_logprobs - mb_logprobs
    ratio = torch.exp(logprobs_diff)
    pg_losses = -mb_advantage * ratio
    pg_losses2 = -mb_advantage * torch.clamp(ratio, 1.0 - args.cliprange, 1.0 + args.cliprange)
    pg_loss_max = torch.max(pg_losses, pg_losses2)
    pg_loss = masked_mean(pg_loss_max, ~padding_mask)
    loss = pg_loss + args.vf_coef * vf_loss
    with torch.no_grad():
        pg_clipfrac = masked_mean((pg_losses2 > pg_losses).float(), ~padding_mask)
        # TRL: approxkl = 0.5 * (logprobs_diff**2).mean() over the padded tensor; here the masked mean.
        approxkl = 0.5 * masked_mean(logprobs_diff**2, ~padding_mask)
    metrics = {
        "pg_loss": pg_loss.item(),
        "value_loss": vf_loss.item(),
        "policy/clipfrac": pg_clipfrac.item(),
        "val/clipfrac": vf_clipfrac.item(),
        "policy/approxkl": approxkl.item(),
        "val/ratio": masked_mean(ratio, ~padding_mask).item(),
    }
    return loss, metrics


def main():
    root = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    rl = json.load(open(os.path.join(here, "..", "test", "fixtures", "rl-parity.json")))
    prompt_ids = [rl["prompt_ids"][p] for p in rl["completion_prompt"]]
    completion_ids = rl["completion_ids"]
    lengths = [len(c) for c in completion_ids]
    width = max(lengths)
    padding_mask = torch.tensor([[t >= n for t in range(width)] for n in lengths])

    ref_model = AutoModelForCausalLM.from_pretrained(os.path.join(root, "tiny-llama"), dtype=DTYPE)
    hidden = ref_model.config.hidden_size
    with torch.no_grad():
        ref_rows = Policy(ref_model, hidden).rows(prompt_ids, completion_ids)
    ref_logps = [logprobs_of(lg, c) for (lg, _), c in zip(ref_rows, completion_ids, strict=True)]

    out = {
        "what": "TRL PPOTrainer (last version, 0.2x) GAE and loss lines on hf-tiny tiny-llama, float64; see scripts/make-ppo-parity.py and docs/rl-conventions.md",
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "peft_version": peft.__version__,
        "dtype": "float64",
        "temperature": TEMPERATURE,
        "prompt_ids": prompt_ids,
        "completion_ids": completion_ids,
        "scores": SCORES,
        "v_head": {"weight": v_head_init(hidden)[0][0].tolist(), "bias": v_head_init(hidden)[1].tolist()},
        "ref_logps": [r.tolist() for r in ref_logps],
    }
    for kind in ("full", "lora"):
        policy = Policy(load_full(root) if kind == "full" else load_lora(root), hidden)
        with torch.no_grad():
            own = policy.rows(prompt_ids, completion_ids)
        own_logps = [logprobs_of(lg, c) for (lg, _), c in zip(own, completion_ids, strict=True)]
        own_values = [v for _, v in own]
        old_logps = [
            [x + 0.3 * math.sin(1 + t + 13 * i) + OLD_LOGP_OFFSET[i] for t, x in enumerate(r.tolist())]
            for i, r in enumerate(own_logps)
        ]
        old_values = [
            [x + OLD_VALUE_AMPLITUDE * math.cos(2 + 3 * t + 5 * i) for t, x in enumerate(r.tolist())]
            for i, r in enumerate(own_values)
        ]
        entry = {
            "own_logps": [r.tolist() for r in own_logps],
            "own_values": [r.tolist() for r in own_values],
            "old_logps": old_logps,
            "old_values": old_values,
            "gae": {},
            "loss": {},
        }
        L = padded(old_logps, width, 0.0)
        R = padded(ref_logps, width, 0.0)
        V = padded(old_values, width, 0.0)
        S = torch.tensor(SCORES, dtype=DTYPE)
        for case in GAE_CASES:
            g = gae(case, L, R, V, S, padding_mask)
            entry["gae"][case["name"]] = {
                **case,
                **{k: [v[i, :n].tolist() for i, n in enumerate(lengths)] for k, v in g.items()},
            }
        base = entry["gae"]["k1"]
        A = padded(base["advantages"], width, 0.0)
        RET = padded(base["returns"], width, 0.0)
        for case in LOSS_CASES:
            policy = Policy(load_full(root) if kind == "full" else load_lora(root), hidden)
            rows = policy.rows(prompt_ids, completion_ids)
            new_logps = padded([logprobs_of(lg, c) for (lg, _), c in zip(rows, completion_ids, strict=True)], width, 0.0)
            vpred = padded([v for _, v in rows], width, 0.0)
            loss, metrics = ppo_loss(case, new_logps, vpred, L, V, RET, A, padding_mask)
            loss.backward()
            if kind == "full":
                params = dict(policy.model.named_parameters())
            else:
                params = {n.replace(".default.", "."): p for n, p in policy.model.named_parameters() if ".lora_" in n}
            params["v_head.summary.weight"] = policy.v_head.weight
            params["v_head.summary.bias"] = policy.v_head.bias
            names = FULL_TENSORS if kind == "full" else LORA_TENSORS
            entry["loss"][case["name"]] = {
                **case,
                "loss": loss.item(),
                "metrics": metrics,
                "grads": {k: summary(params[k].grad) for k in names},
            }
        out[kind] = entry
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
