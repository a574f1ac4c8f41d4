"""The gradient summary every parity fixture script writes (test/helpers/grad-summary.ts reads it):
shape, max |g|, L2 norm and the entries at the largest three, the first, the middle and the last."""


def summary(g):
    flat = g.detach().reshape(-1)
    top = flat.abs().topk(min(3, flat.numel())).indices.tolist()
    fixed = [0, flat.numel() // 2, flat.numel() - 1]
    idx = sorted(set(top + fixed))
    return {
        "shape": list(g.shape),
        "max_abs": flat.abs().max().item(),
        "l2": flat.norm().item(),
        "entries": {str(i): flat[i].item() for i in idx},
    }
