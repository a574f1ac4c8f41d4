#!/usr/bin/env python3
"""PyTorch CPU baseline for the training benchmark: one DPO step, eager autograd.

    /usr/bin/python3 scripts/bench/torch_dpo_step.py --model DIR --threads 2 --pairs 4 \\
        --prompt-len 128 --response-len 128 --mode lora --repeats 3 --json

Model code is torch_llama.py's (weights, config, RoPE, RMSNorm, GQA attention through a plain
matmul + softmax, SwiGLU, tied lm_head), with autograd on. One training step, as TRL's DPOTrainer
does it with loss_type "sigmoid" and no padding:

  forward over 2P sequences (the P chosen rows, then the P rejected rows; each row is the pair's
  prompt followed by its response) -> logits [2P, S, V] -> log_softmax -> log p(next token) ->
  sum over response tokens = policy log-probs; loss = mean(-logsigmoid(beta * ((pi_c - ref_c) -
  (pi_r - ref_r)))); backward; torch.nn.utils.clip_grad_norm_(max_grad_norm);
  torch.optim.AdamW.step() (betas 0.9/0.999, eps 1e-8, weight decay --weight-decay).

--mode lora: frozen base, PEFT-style LoRA on every q/k/v/o/gate/up/down projection:
  y = x W^T + (alpha / r) * (x A^T) B^T, A [r, in] ~ U(-1/sqrt(in), 1/sqrt(in)) (PEFT's
  kaiming_uniform(a=sqrt(5))), B [out, r] = 0 (PEFT's init; after the warm-up step B is non-zero,
  so the timed steps move real gradients through both factors). Only A and B are in the optimizer.
--mode full: every model tensor (embedding/lm_head tied, norms, projections) is trainable.

The batch is deterministic and shared with bench/bench-train.ts: token ids come from the
Park-Miller "minimal standard" generator x <- 48271 * x mod (2^31 - 1), x0 = seed + 1, as
id = 3 + x mod (vocab - 3), drawn per pair in the order prompt, chosen response, rejected
response. Reference log-probs are fixed numbers (the reference forward is not part of a step):
ref_chosen[i] = -1386 + 0.5 i, ref_rejected[i] = -1386 - 0.5 i.

Reports, after --warmup untimed steps (1), the best of --repeats step times (ms) and each step's CPU time
(user + system seconds of all threads: less sensitive to a busy machine), every step's loss and
gradient norm (the warm-up step's loss equals the base model's, whatever the LoRA init, since
B = 0), peak RSS of the process (getrusage ru_maxrss) and of the timed steps alone (VmHWM after
resetting it through /proc/self/clear_refs, where the kernel allows), the BLAS library, and the
machine's sgemm GFLOP/s through torch.mm with the same threads. Like torch_llama.py it sets
OMP_NUM_THREADS / OPENBLAS_NUM_THREADS to --threads and OMP_WAIT_POLICY=PASSIVE before torch loads.
"""

import argparse
import functools
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_process import cpu_seconds, minstd_ids, reset_hwm, vm_hwm_bytes  # noqa: E402
from thread_env import ensure_thread_env_from_argv, thread_env  # noqa: E402


if __name__ == "__main__":
    ensure_thread_env_from_argv()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torch.utils.checkpoint  # noqa: E402

from torch_llama import Llama, blas_info, rms_norm, rotate_half  # noqa: E402

LORA_TARGETS = ("q", "k", "v", "o", "gate", "up", "down")
TARGET_NAMES = {
    "q": "self_attn.q_proj",
    "k": "self_attn.k_proj",
    "v": "self_attn.v_proj",
    "o": "self_attn.o_proj",
    "gate": "mlp.gate_proj",
    "up": "mlp.up_proj",
    "down": "mlp.down_proj",
}


# ----------------------------------------------------------------------------------------------
# The shared batch


def make_batch(pairs, prompt_len, response_len, vocab, seed):
    """ids [2P, S] (chosen rows then rejected rows), response_mask [2P, S], ref log-probs [P] x 2."""
    per = prompt_len + 2 * response_len
    flat = minstd_ids(seed, pairs * per, vocab)
    chosen, rejected = [], []
    for p in range(pairs):
        chunk = flat[p * per : (p + 1) * per]
        prompt = chunk[:prompt_len]
        chosen.append(prompt + chunk[prompt_len : prompt_len + response_len])
        rejected.append(prompt + chunk[prompt_len + response_len :])
    ids = torch.tensor(chosen + rejected, dtype=torch.int64)
    mask = torch.zeros(ids.shape)
    mask[:, prompt_len:] = 1.0
    ref_c = torch.tensor([-1386.0 + 0.5 * i for i in range(pairs)])
    ref_r = torch.tensor([-1386.0 - 0.5 * i for i in range(pairs)])
    return ids, mask, ref_c, ref_r


# ----------------------------------------------------------------------------------------------
# Training forward (torch_llama.Llama.forward without the cache, with a LoRA hook on the linears)


def lora_params(model, r, gen):
    """{(layer, target): (A [r, in], B [out, r])}, PEFT's default init."""
    out = {}
    for li, L in enumerate(model.layers):
        for t in LORA_TARGETS:
            w = L[t]
            o, i = w.shape
            bound = 1.0 / (i**0.5)
            a = (torch.rand(r, i, generator=gen) * 2 - 1) * bound
            b = torch.zeros(o, r)
            out[(li, t)] = (a.requires_grad_(True), b.requires_grad_(True))
    return out


def forward_logits(model, ids, lora=None, lora_scale=1.0, checkpoint_layers=False):
    b, t = ids.shape
    positions = torch.arange(t)
    cos, sin = model.rope(positions)
    rep = model.n_heads // model.n_kv
    hd = model.hd
    scale = 1.0 / (hd**0.5)
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    mask = torch.zeros(t, t).masked_fill(~causal, float("-inf")).repeat(rep, 1)

    def lin(x, L, li, name, bias=None):
        y = F.linear(x, L[name], bias)
        if lora is not None:
            a, bb = lora[(li, name)]
            y = y + F.linear(F.linear(x, a), bb) * lora_scale
        return y

    def layer(x, li, L):
        h = rms_norm(x, L["ln1"], model.eps)
        q = lin(h, L, li, "q", L["qb"]).view(b, t, model.n_heads, hd).transpose(1, 2)
        k = lin(h, L, li, "k", L["kb"]).view(b, t, model.n_kv, hd).transpose(1, 2)
        v = lin(h, L, li, "v", L["vb"]).view(b, t, model.n_kv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        q = q.reshape(b, model.n_kv, rep * t, hd)
        scores = torch.matmul(q, k.transpose(-1, -2)) * scale + mask
        probs = torch.softmax(scores, dim=-1)
        attn = torch.matmul(probs, v)
        attn = attn.reshape(b, model.n_heads, t, hd).transpose(1, 2).reshape(b, t, -1)
        x = x + lin(attn, L, li, "o")
        h = rms_norm(x, L["ln2"], model.eps)
        return x + lin(F.silu(lin(h, L, li, "gate")) * lin(h, L, li, "up"), L, li, "down")

    x = F.embedding(ids, model.embed)
    for li, L in enumerate(model.layers):
        if checkpoint_layers:
            # transformers' gradient_checkpointing: keep each layer's input, recompute the rest.
            x = torch.utils.checkpoint.checkpoint(
                functools.partial(layer, li=li, L=L), x, use_reentrant=False
            )
        else:
            x = layer(x, li, L)
    x = rms_norm(x, model.w["model.norm.weight"], model.eps)
    return F.linear(x, model.lm_head)


def sequence_logps(logits, ids, response_mask):
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    tok = logp.gather(-1, ids[:, 1:, None])[..., 0]
    return (tok * response_mask[:, 1:]).sum(-1)


# ----------------------------------------------------------------------------------------------
# Measurements


def matmul_gflops(n, k, m, repeats=5):
    a = torch.randn(n, k)
    b = torch.randn(k, m)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n * k * m / best / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="HF model folder (required unless --matmul-only)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--pairs", type=int, default=4)
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--response-len", type=int, default=128)
    ap.add_argument("--mode", choices=("lora", "full"), default="lora")
    ap.add_argument(
        "--gradient-checkpointing",
        action="store_true",
        help="recompute each layer in the backward pass (torch.utils.checkpoint)",
    )
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--lora-alpha", type=float, default=32)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps before the timed ones")
    ap.add_argument("--seed", type=int, default=0, help="seed of the token ids and the LoRA init")
    ap.add_argument("--no-matmul-peak", action="store_true", help="skip the torch.mm GFLOP/s probe")
    ap.add_argument(
        "--matmul-only",
        metavar="N,K,M",
        help="only time torch.mm on a 2048^3 square and an [N,K]x[K,M] product, print JSON and exit",
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object (else a summary)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    blas = blas_info()
    if blas["name"] == "reference or unknown":
        print(
            "warning: torch is not using OpenBLAS/MKL/BLIS (loaded: %s); numbers will be ~20x low. "
            "On Debian: apt-get install libopenblas0-pthread" % (blas["libs"] or "none"),
            file=sys.stderr,
        )

    if args.matmul_only:
        n, k, m = (int(x) for x in args.matmul_only.split(","))
        mm = {"square_2048": matmul_gflops(2048, 2048, 2048), "mlp_shape": matmul_gflops(n, k, m)}
        print(json.dumps({"matmul_gflops": mm, "threads": args.threads, "torch": torch.__version__, "blas": blas["name"]}))
        return
    if not args.model:
        ap.error("--model is required")

    t_load = time.perf_counter()
    model = Llama.from_dir(args.model)
    t_load = time.perf_counter() - t_load
    ids, resp_mask, ref_c, ref_r = make_batch(
        args.pairs, args.prompt_len, args.response_len, model.cfg["vocab_size"], args.seed
    )
    P = args.pairs

    lora = None
    if args.mode == "lora":
        lora = lora_params(model, args.lora_r, torch.Generator().manual_seed(args.seed))
        params = [t for ab in lora.values() for t in ab]
    else:
        # Every distinct model tensor (the tied embedding/lm_head once).
        seen, params = set(), []
        for w in model.w.values():
            if id(w) not in seen:
                seen.add(id(w))
                params.append(w.requires_grad_(True))
    n_trainable = sum(p.numel() for p in params)
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=args.weight_decay)
    lora_scale = args.lora_alpha / args.lora_r

    def step():
        opt.zero_grad(set_to_none=True)
        logits = forward_logits(model, ids, lora, lora_scale, args.gradient_checkpointing)
        seq = sequence_logps(logits, ids, resp_mask)
        z = args.beta * ((seq[:P] - ref_c) - (seq[P:] - ref_r))
        loss = -F.logsigmoid(z).mean()
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(params, args.max_grad_norm)
        opt.step()
        return float(loss), float(gn)

    losses, norms, warm_ms = [], [], 0.0
    for _ in range(args.warmup):
        t0 = time.perf_counter()
        loss, gn = step()
        warm_ms = (time.perf_counter() - t0) * 1000
        losses.append(loss)
        norms.append(gn)
    hwm_reset = reset_hwm()
    times, cpus = [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), cpu_seconds()
        loss, gn = step()
        times.append((time.perf_counter() - t0) * 1000)
        cpus.append(cpu_seconds() - c0)
        losses.append(loss)
        norms.append(gn)
    steps_hwm = vm_hwm_bytes() if hwm_reset else None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    mm = None
    if not args.no_matmul_peak:
        mm = {
            "square_2048": matmul_gflops(2048, 2048, 2048),
            # the shape of an MLP projection in this step: [2P*S, hidden] x [hidden, intermediate]
            "mlp_shape": matmul_gflops(ids.numel(), model.cfg["hidden_size"], model.cfg["intermediate_size"]),
        }

    result = {
        "mode": args.mode,
        "step_ms": min(times) if times else warm_ms,
        "step_ms_all": times,
        "step_cpu_s_all": cpus,
        "warmup_ms": warm_ms,
        "losses": losses,
        "grad_norms": norms,
        "trainable_params": n_trainable,
        "tokens": ids.numel(),
        "peak_rss_bytes": peak,
        "steps_peak_rss_bytes": steps_hwm,
        "matmul_gflops": mm,
        "threads": args.threads,
        "torch": torch.__version__,
        "blas": blas["name"],
        "blas_detail": blas,
        "load_s": t_load,
        "config": {
            "pairs": P,
            "prompt_len": args.prompt_len,
            "response_len": args.response_len,
            "lora_r": args.lora_r,
            "lora_alpha": args.lora_alpha,
            "beta": args.beta,
            "lr": args.lr,
            "weight_decay": args.weight_decay,
            "max_grad_norm": args.max_grad_norm,
            "seed": args.seed,
        },
        "env": {k: os.environ.get(k) for k in thread_env(args.threads)},
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            "%s: step %.0f ms (best of %d), loss %.4f, grad norm %.4f, peak RSS %.2f GB | %d threads, torch %s, %s"
            % (
                args.mode,
                result["step_ms"],
                len(times),
                losses[0],
                norms[0],
                peak / 1e9,
                args.threads,
                torch.__version__,
                blas["name"],
            )
        )


if __name__ == "__main__":
    main()
