#!/usr/bin/env python3
"""Builds the hf-tiny fixture set: tiny random HF checkpoints plus reference numbers from transformers.

    python3 scripts/make-hf-tiny-fixtures.py OUT_DIR [--seed 0] [--corpus FILE ...]

Needs Python with torch, transformers>=5, peft and tokenizers (no network: nothing is downloaded).
Point the tests at the result with the same environment variable they use for ../shared/fixtures/hf-tiny.

What it writes under OUT_DIR (the same names, keys and conventions as the shared fixture set; the
random weights and the tokenizer's merges differ, so the numbers differ too):

  tiny-llama/        LlamaForCausalLM: hidden 64, 2 layers, 4 heads, 2 KV heads, head_dim 16,
                     SwiGLU 176, RMSNorm eps 1e-5, RoPE theta 10000, tied embeddings, float32
  tiny-llama-bf16/   the same weights stored as bfloat16
  tiny-qwen2/        Qwen2ForCausalLM: same sizes, q/k/v biases, untied lm_head, eps 1e-6, theta 1e6
                     (each folder: config.json, generation_config.json, model.safetensors,
                     tokenizer.json, tokenizer_config.json, chat_template.jinja)
  pairs.jsonl        two preference pairs in TRL's conversational format
  reference/tokenizer.json               encode / chat / pairs cases for the tokenizer
  reference/tiny-llama/reference.safetensors  chosen.{input_ids,attention_mask,response_mask,logits},
                                              rejected.{input_ids,attention_mask,response_mask}
  reference/tiny-llama/reference.json    chosen_logps, rejected_logps, greedy (16 ids per prompt)
  reference/tiny-llama-bf16/reference.safetensors  input_ids (first chat prompt), logits (bf16 compute)
  dpo/tiny-llama/policy/                 tiny-llama with every weight perturbed (full fine-tune policy)
  dpo/tiny-llama/lora-adapter/           PEFT LoRA adapter on tiny-llama (r 4, alpha 8, B non-zero)
  dpo/tiny-llama/expected.json           one DPO step: reference_model_logps, full, lora
  dpo/tiny-llama/full_grads.safetensors  d loss / d weight, keyed by checkpoint name
  dpo/tiny-llama/lora_grads.safetensors  d loss / d lora_A, lora_B, keyed by the adapter file's names

Conventions (shared by every reference number):
  - prompt ids = tokenizer(chat_template(messages, add_generation_prompt=True)), no extra specials;
  - response ids = tokenizer(response_text + "<|im_end|>"), appended right after the prompt ids;
  - a sequence log-prob is the SUM over response tokens of log p(token | all previous tokens);
  - batches are right-padded with pad id 0 and an attention mask.

The tokenizer is a byte-level BPE (vocab 2048; <|endoftext|>=0, <|im_start|>=1, <|im_end|>=2)
trained with `tokenizers` on --corpus files, by default on this Python's standard-library sources
(deterministic for a given Python version) plus the fixture texts.
"""

import argparse
import copy
import glob
import json
import os
import sys
import sysconfig

# ------------------------------------------------------------------------------------------------
# Fixed content

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
VOCAB_SIZE = 2048

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

PAIRS = [
    {
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Explain why the sky looks blue in one sentence."},
        ],
        "chosen": "Sunlight scatters off air molecules, and blue light scatters the most.",
        "rejected": "Because it is.",
    },
    {
        "messages": [{"role": "user", "content": "Write a haiku about compilers."}],
        "chosen": "Tokens flow in rows / the parser builds a tall tree / errors bloom at dawn",
        "rejected": "I cannot help with that.",
    },
]

ENCODE_CASES = [
    "Hello, world!",
    "  leading spaces and\ttabs\nnew lines",
    "na\u00efve caf\u00e9 \u2014 \u00fcn\u00efc\u00f6d\u00e9 \u2713 \u65e5\u672c\u8a9e",
    "<|im_start|>user\nhi<|im_end|>",
]

# Model sizes (README: "Checkpoints").
COMMON = dict(
    vocab_size=VOCAB_SIZE,
    hidden_size=64,
    intermediate_size=176,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=512,
    hidden_act="silu",
    bos_token_id=None,
    eos_token_id=2,  # <|im_end|>
    pad_token_id=0,  # <|endoftext|>
)

WEIGHT_STD = 0.15  # matrices and embeddings
NORM_STD = 0.2  # norm weights ~ 1 + 0.2 N(0, 1)
BIAS_STD = 0.1  # biases ~ 0.1 N(0, 1)
POLICY_PERTURB_STD = 0.02  # full fine-tune policy = reference + 0.02 N(0, 1) on every weight
LORA_R, LORA_ALPHA, LORA_B_STD = 4, 8, 0.05
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
DPO_BETA = 0.1
GREEDY_NEW_TOKENS = 16


# ------------------------------------------------------------------------------------------------
# Small helpers


def write_json(path, obj):
    """JSON as the fixture set writes it: 1-space indent, ASCII escapes, no trailing newline."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


def save_tensors(path, tensors, metadata=None):
    """safetensors file of contiguous CPU copies (so tied/shared tensors can be written too)."""
    from safetensors.torch import save_file

    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file({k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}, path, metadata=metadata)


def check_versions():
    missing = []
    for mod in ("torch", "transformers", "peft", "tokenizers", "safetensors"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        sys.exit(f"missing Python packages: {', '.join(missing)} (pip install torch 'transformers>=5' peft)")
    import transformers

    if int(transformers.__version__.split(".")[0]) < 5:
        sys.exit(f"transformers>=5 is needed (config.json must use rope_parameters); found {transformers.__version__}")


# ------------------------------------------------------------------------------------------------
# Tokenizer


def default_corpus():
    """Texts to train the BPE on: the fixture texts, then this Python's stdlib sources (sorted)."""
    texts = list(ENCODE_CASES)
    for p in PAIRS:
        texts += [m["content"] for m in p["messages"]] + [p["chosen"], p["rejected"]]
    stdlib = sysconfig.get_paths()["stdlib"]
    budget = 8_000_000  # characters: plenty for 2048 tokens, and quick
    for path in sorted(glob.glob(os.path.join(stdlib, "*.py"))):
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError):
            continue
        texts.append(text)
        budget -= len(text)
        if budget <= 0:
            break
    return texts


def corpus_from_files(paths):
    texts = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            texts.append(f.read())
    return texts


def train_tokenizer(texts):
    """Byte-level BPE, vocab 2048, specials 0..2, wrapped as a transformers tokenizer with ChatML."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    if tok.get_vocab_size() != VOCAB_SIZE:
        sys.exit(f"tokenizer has {tok.get_vocab_size()} tokens, not {VOCAB_SIZE}: use a larger --corpus")
    for i, s in enumerate(SPECIALS):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))

    try:  # transformers 5 names the tokenizers-backed class TokenizersBackend
        from transformers import TokenizersBackend as FastTokenizer
    except ImportError:
        from transformers import PreTrainedTokenizerFast as FastTokenizer
    hf_tok = FastTokenizer(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
    )
    hf_tok.chat_template = CHAT_TEMPLATE
    return hf_tok


def encode(tokenizer, text):
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def prompt_ids(tokenizer, messages):
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return text, encode(tokenizer, text)


def reference_tokenizer_json(tokenizer):
    chat = []
    for p in PAIRS:
        text, ids = prompt_ids(tokenizer, p["messages"])
        chat.append({"messages": p["messages"], "text": text, "ids": ids})
    return {
        "tokenizer_vocab": VOCAB_SIZE,
        "chat_template": CHAT_TEMPLATE,
        "chat": chat,
        "encode": [{"text": t, "ids": encode(tokenizer, t)} for t in ENCODE_CASES],
        "pairs": PAIRS,
    }


# ------------------------------------------------------------------------------------------------
# Models


def init_weights(model, gen):
    """Every parameter matters: matrices N(0, 0.15), norms 1 + 0.2 N, biases 0.1 N."""
    import torch

    with torch.no_grad():
        for name, p in model.named_parameters():  # a tied lm_head is not listed separately
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if name.endswith("norm.weight"):
                p.copy_(1.0 + NORM_STD * noise)
            elif name.endswith(".bias"):
                p.copy_(BIAS_STD * noise)
            else:
                p.copy_(WEIGHT_STD * noise)
    return model


def make_llama(gen):
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        **COMMON,
        head_dim=16,
        rms_norm_eps=1e-5,
        rope_parameters={"rope_theta": 10000.0, "rope_type": "default"},
        tie_word_embeddings=True,
        attention_bias=False,
        mlp_bias=False,
    )
    model = init_weights(LlamaForCausalLM(cfg), gen).eval()
    assert model.lm_head.weight is model.model.embed_tokens.weight
    return model


def make_qwen2(gen):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    cfg = Qwen2Config(
        **COMMON,
        rms_norm_eps=1e-6,
        rope_parameters={"rope_theta": 1000000.0, "rope_type": "default"},
        tie_word_embeddings=False,
        use_sliding_window=False,
    )
    model = init_weights(Qwen2ForCausalLM(cfg), gen).eval()
    assert model.model.layers[0].self_attn.q_proj.bias is not None
    return model


def save_model(model, tokenizer, folder):
    """A normal HF folder: config, generation config, model.safetensors, tokenizer, chat template."""
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


# ------------------------------------------------------------------------------------------------
# Batches and log-probs


def build_batch(tokenizer, side):
    """Right-padded prompt+response batch for side 'chosen' or 'rejected' of the two pairs."""
    import torch

    rows, resp = [], []
    for p in PAIRS:
        _, pids = prompt_ids(tokenizer, p["messages"])
        rids = encode(tokenizer, p[side] + "<|im_end|>")
        rows.append(pids + rids)
        resp.append([0] * len(pids) + [1] * len(rids))
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id
    assert pad == 0
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows], dtype=torch.int64)
    attn = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], dtype=torch.int64)
    resp_mask = torch.tensor([m + [0] * (width - len(m)) for m in resp], dtype=torch.int64)
    return {"input_ids": ids, "attention_mask": attn, "response_mask": resp_mask}


def sequence_logps(model, batch):
    """(sum over response tokens of log p(token | previous), logits)."""
    import torch

    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    tok = logp.gather(-1, batch["input_ids"][:, 1:, None]).squeeze(-1)
    return (tok * batch["response_mask"][:, 1:].to(tok.dtype)).sum(-1), logits


def greedy(model, ids, new_tokens):
    """Greedy decoding with the KV cache and no eos stop: a list of new_tokens ids."""
    import torch

    out = []
    with torch.no_grad():
        res = model(input_ids=torch.tensor([ids]), use_cache=True)
        for _ in range(new_tokens):
            nxt = int(res.logits[0, -1].argmax())
            out.append(nxt)
            res = model(input_ids=torch.tensor([[nxt]]), past_key_values=res.past_key_values, use_cache=True)
    return out


def dpo_sigmoid_loss(pc, pr, rc, rr, beta):
    import torch.nn.functional as F

    return -F.logsigmoid(beta * ((pc - rc) - (pr - rr))).mean()


def to_list(t):
    return [float(x) for x in t.detach().cpu()]


# ------------------------------------------------------------------------------------------------
# Main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corpus", nargs="*", help="UTF-8 text files to train the tokenizer on")
    args = ap.parse_args()
    check_versions()

    import torch

    torch.manual_seed(args.seed)
    torch.set_default_dtype(torch.float32)
    out = args.out_dir
    os.makedirs(out, exist_ok=True)

    # Tokenizer and the tokenizer reference.
    tokenizer = train_tokenizer(corpus_from_files(args.corpus) if args.corpus else default_corpus())
    write_json(os.path.join(out, "reference", "tokenizer.json"), reference_tokenizer_json(tokenizer))
    with open(os.path.join(out, "pairs.jsonl"), "w") as f:
        for p in PAIRS:
            row = {
                "prompt": p["messages"],
                "chosen": [{"role": "assistant", "content": p["chosen"]}],
                "rejected": [{"role": "assistant", "content": p["rejected"]}],
            }
            f.write(json.dumps(row) + "\n")

    # Checkpoints.
    gen = torch.Generator().manual_seed(args.seed)
    llama = make_llama(gen)
    save_model(llama, tokenizer, os.path.join(out, "tiny-llama"))
    llama_bf16 = copy.deepcopy(llama).to(torch.bfloat16).eval()
    llama_bf16.config.dtype = torch.bfloat16  # config.json "dtype": "bfloat16"
    save_model(llama_bf16, tokenizer, os.path.join(out, "tiny-llama-bf16"))
    save_model(make_qwen2(gen), tokenizer, os.path.join(out, "tiny-qwen2"))

    # Reference numbers for tiny-llama (float32).
    batches = {side: build_batch(tokenizer, side) for side in ("chosen", "rejected")}
    with torch.no_grad():
        ref_logps, ref_logits = {}, {}
        for side, batch in batches.items():
            ref_logps[side], ref_logits[side] = sequence_logps(llama, batch)
    tensors = {f"{side}.{k}": v for side, batch in batches.items() for k, v in batch.items()}
    tensors["chosen.logits"] = ref_logits["chosen"]
    save_tensors(os.path.join(out, "reference", "tiny-llama", "reference.safetensors"), tensors)
    greedy_rows = []
    for p in PAIRS:
        _, pids = prompt_ids(tokenizer, p["messages"])
        greedy_rows.append({"prompt_ids": pids, "greedy_new_ids": greedy(llama, pids, GREEDY_NEW_TOKENS)})
    write_json(
        os.path.join(out, "reference", "tiny-llama", "reference.json"),
        {
            "chosen_logps": to_list(ref_logps["chosen"]),
            "rejected_logps": to_list(ref_logps["rejected"]),
            "greedy": greedy_rows,
        },
    )

    # bfloat16: weights held and computed in bfloat16, logits stored as float32.
    _, first_prompt = prompt_ids(tokenizer, PAIRS[0]["messages"])
    bf16_ids = torch.tensor([first_prompt], dtype=torch.int64)
    with torch.no_grad():
        bf16_logits = llama_bf16(input_ids=bf16_ids).logits.float()
    save_tensors(
        os.path.join(out, "reference", "tiny-llama-bf16", "reference.safetensors"),
        {"input_ids": bf16_ids, "logits": bf16_logits},
    )

    # DPO, full fine-tune: policy = tiny-llama with every weight perturbed; reference = tiny-llama.
    dpo_dir = os.path.join(out, "dpo", "tiny-llama")
    policy = copy.deepcopy(llama)
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(POLICY_PERTURB_STD * torch.randn(p.shape, generator=gen))
    policy_dir = os.path.join(dpo_dir, "policy")
    save_model(policy, tokenizer, policy_dir)
    # The shared fixture's policy/model.safetensors is a plain state_dict dump: it holds
    # lm_head.weight (equal to model.embed_tokens.weight) although config.json says tied, and has no
    # __metadata__. Keep that, so loaders are tested against a redundant tied lm_head.
    save_tensors(os.path.join(policy_dir, "model.safetensors"), policy.state_dict())

    policy.zero_grad()
    pc, _ = sequence_logps(policy, batches["chosen"])
    pr, _ = sequence_logps(policy, batches["rejected"])
    loss = dpo_sigmoid_loss(pc, pr, ref_logps["chosen"], ref_logps["rejected"], DPO_BETA)
    loss.backward()
    # named_parameters lists the tied embedding once, as model.embed_tokens.weight.
    save_tensors(
        os.path.join(dpo_dir, "full_grads.safetensors"),
        {name: p.grad for name, p in policy.named_parameters()},
    )
    full = {
        "beta": DPO_BETA,
        "loss_type": "sigmoid",
        "loss": float(loss),
        "policy_chosen_logps": to_list(pc),
        "policy_rejected_logps": to_list(pr),
        "rewards_chosen": to_list(DPO_BETA * (pc - ref_logps["chosen"])),
        "rewards_rejected": to_list(DPO_BETA * (pr - ref_logps["rejected"])),
    }

    # DPO, LoRA: policy = tiny-llama + adapter (B non-zero so the adapter changes the output).
    from peft import LoraConfig, get_peft_model

    lora_cfg = LoraConfig(
        r=LORA_R,
        lora_alpha=LORA_ALPHA,
        lora_dropout=0.0,
        target_modules=LORA_TARGETS,
        bias="none",
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(copy.deepcopy(llama), lora_cfg).eval()
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.copy_(LORA_B_STD * torch.randn(p.shape, generator=gen))
    peft_model.save_pretrained(os.path.join(dpo_dir, "lora-adapter"))

    peft_model.zero_grad()
    lc, _ = sequence_logps(peft_model, batches["chosen"])
    lr, _ = sequence_logps(peft_model, batches["rejected"])
    lora_loss = dpo_sigmoid_loss(lc, lr, ref_logps["chosen"], ref_logps["rejected"], DPO_BETA)
    lora_loss.backward()
    # Parameter names carry the adapter name (".lora_A.default.weight"); the adapter file does not.
    lora_grads = {
        name.replace(".default.", "."): p.grad
        for name, p in peft_model.named_parameters()
        if "lora_" in name and p.grad is not None
    }
    from safetensors import safe_open

    with safe_open(os.path.join(dpo_dir, "lora-adapter", "adapter_model.safetensors"), "pt") as f:
        adapter_keys = set(f.keys())
    if set(lora_grads) != adapter_keys:
        sys.exit(f"LoRA gradient names differ from the adapter's: {sorted(set(lora_grads) ^ adapter_keys)[:4]}")
    save_tensors(os.path.join(dpo_dir, "lora_grads.safetensors"), lora_grads)

    write_json(
        os.path.join(dpo_dir, "expected.json"),
        {
            "reference_model_logps": {
                "chosen": to_list(ref_logps["chosen"]),
                "rejected": to_list(ref_logps["rejected"]),
            },
            "full": full,
            "lora": {
                "r": LORA_R,
                "alpha": LORA_ALPHA,
                "loss": float(lora_loss),
                "policy_chosen_logps": to_list(lc),
                "policy_rejected_logps": to_list(lr),
            },
        },
    )
    print(f"wrote the hf-tiny fixture set to {out}")


if __name__ == "__main__":
    main()
