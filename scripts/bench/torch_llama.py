#!/usr/bin/env python3
"""PyTorch CPU baseline for the generation benchmark: a plain Llama (no transformers), eager mode.

    /usr/bin/python3 scripts/bench/torch_llama.py --model /tmp/bench-smollm --threads 2 \\
        --prompt-len 128 --new-tokens 32 --batch 1 --repeats 3 --json

Loads a HF Llama-family folder (config.json + model.safetensors, or a sharded index; float32,
float16 or bfloat16 weights, computed in float32): RMSNorm, RoPE (HF's rotate_half convention,
`rope_parameters.rope_theta` or a top-level `rope_theta`), GQA, SwiGLU, tied or separate lm_head,
optional q/k/v biases (Qwen2), and a preallocated KV cache.

Measures, under torch.inference_mode() with torch.set_num_threads(N), best of --repeats after one
warmup, on fixed random prompt ids (--seed):
  prefill_tok_s    batch 1: prompt_len / (time of one forward over the prompt that fills the cache)
  decode_b1_tok_s  batch --batch (default 1): prefill untimed, then new_tokens greedy steps
                   (one token per sequence per step, with cache); batch * new_tokens / time
  decode_b8_tok_s  the same at batch 8 (eight different prompts of prompt_len tokens)
  decode_b8_sampled_tok_s  the same, sampling at --temperature / --top-p (0.8 / 0.95) the way
                   transformers does, with each drawn token's log-prob
Prefill computes lm_head logits for the last position only (what a generate loop needs), unless
--prefill-logits all. One-row matmuls (decode at batch 1, the last-position lm_head) use torch.mv,
which OpenBLAS runs 2-4x faster than the M=1 sgemm that F.linear issues (--gemv off: F.linear
everywhere, which is what transformers' nn.Linear does).

Before timing it checks that greedy decoding with the cache gives the same ids (and logits to
1e-4) as greedy decoding that re-runs the whole sequence each step (--no-check skips it).

A fair baseline needs a real BLAS: Debian's python3-torch calls whatever libblas.so.3 the
alternatives system points at, and the reference BLAS there is ~20x slower; install
libopenblas0-pthread. The script sets OMP_NUM_THREADS / OPENBLAS_NUM_THREADS to --threads and
OMP_WAIT_POLICY=PASSIVE (re-executing itself so the libraries see them at load) and reports which
BLAS library is loaded in the "blas" field; it warns on stderr when that is not OpenBLAS/MKL/BLIS.
"""

import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from thread_env import ensure_thread_env_from_argv, thread_env  # noqa: E402


# ----------------------------------------------------------------------------------------------
# Thread environment: must be in place before torch (libgomp, OpenBLAS) is loaded.


if __name__ == "__main__":
    ensure_thread_env_from_argv()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from safetensors_io import read_safetensors  # noqa: E402


# ----------------------------------------------------------------------------------------------
# Model


def load_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("rope_parameters"):
        rp = cfg["rope_parameters"]
        if rp.get("rope_type", "default") != "default":
            raise ValueError(f"rope_type {rp.get('rope_type')!r} is not supported by this baseline")
        theta = rp["rope_theta"]
    elif cfg.get("rope_scaling"):
        raise ValueError("rope_scaling is not supported by this baseline")
    else:
        theta = cfg.get("rope_theta", 10000.0)
    cfg["_rope_theta"] = float(theta)
    cfg.setdefault("head_dim", None)
    if cfg["head_dim"] is None:
        cfg["head_dim"] = cfg["hidden_size"] // cfg["num_attention_heads"]
    cfg.setdefault("num_key_value_heads", cfg["num_attention_heads"])
    return cfg


def load_weights(model_dir):
    """{name: float32 torch tensor} from model.safetensors or model.safetensors.index.json."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    out = {}
    for name in files:
        for k, v in read_safetensors(os.path.join(model_dir, name)).items():
            out[k] = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
    return out


# With one row (decode at batch 1) F.linear goes through sgemm with M=1, which OpenBLAS runs ~2-4x
# slower than sgemv on the same weights (measured here with 2 threads: 576->1536 0.28 ms vs 0.06 ms,
# lm_head 28 ms vs 17 ms). A careful eager baseline would use the matrix-vector product, so by
# default linear() does (USE_GEMV = False gives plain nn.Linear behaviour, as transformers has).
USE_GEMV = True


def linear(x, weight, bias=None):
    if USE_GEMV and x.numel() == x.shape[-1]:
        flat = x.reshape(-1)
        y = torch.mv(weight, flat) if bias is None else torch.addmv(bias, weight, flat)
        return y.view(*x.shape[:-1], weight.shape[0])
    return F.linear(x, weight, bias)


def rms_norm(x, weight, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(var + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class KVCache:
    """Per layer k, v of shape [B, n_kv, max_len, head_dim]; `length` positions are filled."""

    def __init__(self, cfg, batch, max_len):
        shape = (batch, cfg["num_key_value_heads"], max_len, cfg["head_dim"])
        self.k = [torch.zeros(shape) for _ in range(cfg["num_hidden_layers"])]
        self.v = [torch.zeros(shape) for _ in range(cfg["num_hidden_layers"])]
        self.length = 0


class Llama:
    def __init__(self, cfg, weights):
        self.cfg = cfg
        self.w = weights
        self.n_layers = cfg["num_hidden_layers"]
        self.n_heads = cfg["num_attention_heads"]
        self.n_kv = cfg["num_key_value_heads"]
        self.hd = cfg["head_dim"]
        self.eps = cfg["rms_norm_eps"]
        self.embed = weights["model.embed_tokens.weight"]
        if "lm_head.weight" in weights and not cfg.get("tie_word_embeddings", False):
            self.lm_head = weights["lm_head.weight"]
        else:
            self.lm_head = self.embed
        half = torch.arange(0, self.hd, 2, dtype=torch.int64).float() / self.hd
        self.inv_freq = 1.0 / (cfg["_rope_theta"] ** half)
        self.layers = []
        for i in range(self.n_layers):
            p = f"model.layers.{i}."
            g = lambda n: weights.get(p + n)  # noqa: E731
            self.layers.append(
                {
                    "ln1": g("input_layernorm.weight"),
                    "q": g("self_attn.q_proj.weight"),
                    "k": g("self_attn.k_proj.weight"),
                    "v": g("self_attn.v_proj.weight"),
                    "qb": g("self_attn.q_proj.bias"),
                    "kb": g("self_attn.k_proj.bias"),
                    "vb": g("self_attn.v_proj.bias"),
                    "o": g("self_attn.o_proj.weight"),
                    "ln2": g("post_attention_layernorm.weight"),
                    "gate": g("mlp.gate_proj.weight"),
                    "up": g("mlp.up_proj.weight"),
                    "down": g("mlp.down_proj.weight"),
                }
            )

    @classmethod
    def from_dir(cls, model_dir):
        return cls(load_config(model_dir), load_weights(model_dir))

    def rope(self, positions):
        freqs = positions.float()[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()  # [T, head_dim]

    def forward(self, ids, cache=None, attention_mask=None, logits="all"):
        """ids [B, T] int64 -> logits [B, T, V] ("all") or [B, 1, V] ("last").

        With a cache the tokens go at positions cache.length .. cache.length+T-1 and the cache is
        extended. attention_mask [B, total_len] (1 = real token) masks padded keys; positions are
        0..len-1 regardless, as transformers does when no position_ids are given.
        """
        b, t = ids.shape
        start = cache.length if cache is not None else 0
        total = start + t
        positions = torch.arange(start, total)
        cos, sin = self.rope(positions)
        rep = self.n_heads // self.n_kv
        scale = 1.0 / math.sqrt(self.hd)

        # Queries are grouped per kv head as rows (r, t) of [B, n_kv, rep * T, head_dim], so the
        # additive mask is [rep * T, total] (causal) plus [B, 1, 1, total] (padding).
        mask = None
        if t > 1:
            causal = torch.ones(t, total, dtype=torch.bool).tril(diagonal=start)
            mask = torch.zeros(t, total).masked_fill(~causal, float("-inf")).repeat(rep, 1)
        if attention_mask is not None:
            pad = torch.zeros(b, total).masked_fill(attention_mask[:, :total] == 0, float("-inf"))
            pad = pad[:, None, None, :]
            mask = pad if mask is None else mask + pad

        x = F.embedding(ids, self.embed)
        for li, L in enumerate(self.layers):
            h = rms_norm(x, L["ln1"], self.eps)
            q = linear(h, L["q"], L["qb"]).view(b, t, self.n_heads, self.hd).transpose(1, 2)
            k = linear(h, L["k"], L["kb"]).view(b, t, self.n_kv, self.hd).transpose(1, 2)
            v = linear(h, L["v"], L["vb"]).view(b, t, self.n_kv, self.hd).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if cache is not None:
                cache.k[li][:, :, start:total] = k
                cache.v[li][:, :, start:total] = v
                k = cache.k[li][:, :, :total]
                v = cache.v[li][:, :, :total]
            # GQA without copying k/v: query head j uses kv head j // rep (HF's repeat_kv order).
            q = q.reshape(b, self.n_kv, rep * t, self.hd)
            scores = torch.matmul(q, k.transpose(-1, -2)) * scale  # [B, kv, rep*T, total]
            if mask is not None:
                scores = scores + mask
            probs = torch.softmax(scores, dim=-1)
            attn = torch.matmul(probs, v)  # [B, kv, rep*T, hd]
            attn = attn.reshape(b, self.n_heads, t, self.hd).transpose(1, 2).reshape(b, t, -1)
            x = x + linear(attn, L["o"])
            h = rms_norm(x, L["ln2"], self.eps)
            x = x + linear(F.silu(linear(h, L["gate"])) * linear(h, L["up"]), L["down"])
        if cache is not None:
            cache.length = total
        if logits == "last":
            x = x[:, -1:]
        x = rms_norm(x, self.w["model.norm.weight"], self.eps)
        return linear(x, self.lm_head)


def greedy_cached(model, prompt, new_tokens, prefill_logits="last"):
    """prompt [B, T] -> (new ids [B, new_tokens], list of per-step logits [B, V])."""
    cache = KVCache(model.cfg, prompt.shape[0], prompt.shape[1] + new_tokens)
    logits = model.forward(prompt, cache, logits=prefill_logits)[:, -1]
    out, steps = [], []
    for i in range(new_tokens):
        steps.append(logits)
        nxt = logits.argmax(-1, keepdim=True)
        out.append(nxt)
        if i + 1 < new_tokens:
            logits = model.forward(nxt, cache, logits="last")[:, -1]
    return torch.cat(out, dim=1), steps


def greedy_uncached(model, prompt, new_tokens):
    seq, out, steps = prompt, [], []
    for _ in range(new_tokens):
        logits = model.forward(seq, None, logits="last")[:, -1]
        steps.append(logits)
        nxt = logits.argmax(-1, keepdim=True)
        out.append(nxt)
        seq = torch.cat([seq, nxt], dim=1)
    return torch.cat(out, dim=1), steps


# ----------------------------------------------------------------------------------------------
# Benchmark


def blas_info():
    """Which BLAS shared library the process has loaded (after a matmul), plus OpenBLAS's config."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    libs = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                base = os.path.basename(path).lower()
                if any(s in base for s in ("blas", "mkl_", "blis", "accelerate")) and path not in libs:
                    libs.append(path)
    except OSError:
        pass
    info = {"libs": [os.path.realpath(p) for p in libs]}
    for path in libs:
        if "openblas" in os.path.basename(path).lower():
            try:
                import ctypes

                lib = ctypes.CDLL(path)
                lib.openblas_get_config.restype = ctypes.c_char_p
                info["openblas_config"] = lib.openblas_get_config().decode().strip()
                info["openblas_threads"] = lib.openblas_get_num_threads()
            except (OSError, AttributeError):
                pass
            break
    names = " ".join(info["libs"]).lower()
    if "openblas" in names:
        info["name"] = "openblas"
    elif "mkl" in names:
        info["name"] = "mkl"
    elif "blis" in names:
        info["name"] = "blis"
    elif "mkl" in torch.__config__.show().lower() and "MKL not found" not in torch.__config__.parallel_info():
        info["name"] = "mkl (static)"
    else:
        info["name"] = "reference or unknown"
    return info


def best_time(fn, repeats):
    fn()  # warmup
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def greedy_pick(logits):
    return logits.argmax(-1, keepdim=True)


def top_p_sampler(temperature, top_p, seed):
    """transformers' sampling: TemperatureLogitsWarper, TopPLogitsWarper (sort, softmax, cumsum,
    drop the tail whose cumulative probability is <= 1 - top_p, keep at least one token), then
    softmax + torch.multinomial; plus the log-prob of each drawn token under the raw logits, which
    a pipeline stores (our engine computes it too)."""
    gen = torch.Generator().manual_seed(seed)

    def pick(logits):
        scores = logits / temperature
        sorted_scores, sorted_idx = torch.sort(scores, descending=False)
        cumulative = sorted_scores.softmax(-1).cumsum(-1)
        remove_sorted = cumulative <= (1 - top_p)
        remove_sorted[..., -1:] = False
        remove = remove_sorted.scatter(1, sorted_idx, remove_sorted)
        probs = scores.masked_fill(remove, float("-inf")).softmax(-1)
        nxt = torch.multinomial(probs, 1, generator=gen)
        torch.log_softmax(logits, -1).gather(-1, nxt)
        return nxt

    return pick


def bench_decode(model, prompts, new_tokens, repeats, pick=greedy_pick):
    """Aggregate tokens/s of new_tokens cached steps (greedy unless `pick` says otherwise) after an
    untimed prefill."""
    b, t = prompts.shape

    def run():
        cache = KVCache(model.cfg, b, t + new_tokens)
        logits = model.forward(prompts, cache, logits="last")[:, -1]
        t0 = time.perf_counter()
        for _ in range(new_tokens):
            nxt = pick(logits)
            logits = model.forward(nxt, cache, logits="last")[:, -1]
        return time.perf_counter() - t0

    run()  # warmup
    best = min(run() for _ in range(repeats))
    return b * new_tokens / best, best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="HF model folder")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--batch", type=int, default=1, help="batch of the decode_b1 measurement")
    ap.add_argument("--big-batch", type=int, default=8, help="batch of the decode_b8 measurement")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0, help="seed of the random prompt ids")
    ap.add_argument("--temperature", type=float, default=0.8, help="of the sampled batch-8 decode")
    ap.add_argument("--top-p", type=float, default=0.95, help="of the sampled batch-8 decode")
    ap.add_argument("--prefill-logits", choices=("last", "all"), default="last")
    ap.add_argument(
        "--gemv",
        choices=("auto", "off"),
        default="auto",
        help="auto: one-row matmuls (decode at batch 1) use torch.mv; off: always F.linear (sgemm)",
    )
    ap.add_argument("--no-check", action="store_true", help="skip the cache-vs-no-cache check")
    ap.add_argument("--json", action="store_true", help="print one JSON object (else a summary)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    global USE_GEMV
    USE_GEMV = args.gemv == "auto"
    blas = blas_info()
    if blas["name"] == "reference or unknown":
        print(
            "warning: torch is not using OpenBLAS/MKL/BLIS (loaded: %s); numbers will be ~20x low. "
            "On Debian: apt-get install libopenblas0-pthread" % (blas["libs"] or "none"),
            file=sys.stderr,
        )

    with torch.inference_mode():
        t_load = time.perf_counter()
        model = Llama.from_dir(args.model)
        t_load = time.perf_counter() - t_load
        gen = torch.Generator().manual_seed(args.seed)
        vocab = model.cfg["vocab_size"]
        # Avoid ids 0..2 (pad/bos/eos in most configs) so prompts look like ordinary text.
        rand_ids = lambda b: torch.randint(3, vocab, (b, args.prompt_len), generator=gen)  # noqa: E731
        prompt1 = rand_ids(1)
        prompt_b = rand_ids(args.batch)
        prompt_big = rand_ids(args.big_batch)

        check = None
        if not args.no_check:
            n = min(4, args.new_tokens)
            ids_c, logits_c = greedy_cached(model, prompt1, n)
            ids_u, logits_u = greedy_uncached(model, prompt1, n)
            diff = max(float((a - b).abs().max()) for a, b in zip(logits_c, logits_u))
            scale = max(float(a.abs().max()) for a in logits_u)
            ok = bool(torch.equal(ids_c, ids_u)) and diff <= 1e-4 * max(1.0, scale)
            check = {"ok": ok, "tokens": n, "max_logit_diff": diff}
            if not ok:
                print("error: greedy with KV cache differs from greedy without: %s" % check, file=sys.stderr)
                sys.exit(1)

        def prefill():
            cache = KVCache(model.cfg, 1, args.prompt_len)
            model.forward(prompt1, cache, logits=args.prefill_logits)

        t_prefill = best_time(prefill, args.repeats)
        b1, t_b1 = bench_decode(model, prompt_b, args.new_tokens, args.repeats)
        b8, t_b8 = bench_decode(model, prompt_big, args.new_tokens, args.repeats)
        sampler = top_p_sampler(args.temperature, args.top_p, args.seed)
        b8s, t_b8s = bench_decode(model, prompt_big, args.new_tokens, args.repeats, sampler)

    result = {
        "prefill_tok_s": args.prompt_len / t_prefill,
        "decode_b1_tok_s": b1,
        "decode_b8_tok_s": b8,
        "decode_b8_sampled_tok_s": b8s,
        "temperature": args.temperature,
        "top_p": args.top_p,
        "threads": args.threads,
        "torch": torch.__version__,
        "blas": blas["name"],
        "blas_detail": blas,
        "prompt_len": args.prompt_len,
        "new_tokens": args.new_tokens,
        "batch": args.batch,
        "big_batch": args.big_batch,
        "repeats": args.repeats,
        "prefill_logits": args.prefill_logits,
        "gemv": args.gemv,
        "times_s": {"prefill": t_prefill, "decode_b1": t_b1, "decode_b8": t_b8, "decode_b8_sampled": t_b8s, "load": t_load},
        "cache_check": check,
        "env": {k: os.environ.get(k) for k in thread_env(args.threads)},
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            "prefill %.1f tok/s | decode b%d %.1f tok/s | decode b%d %.1f tok/s (sampled %.1f) | %d threads, torch %s, %s"
            % (
                result["prefill_tok_s"],
                args.batch,
                b1,
                args.big_batch,
                b8,
                b8s,
                args.threads,
                torch.__version__,
                blas["name"],
            )
        )


if __name__ == "__main__":
    main()
