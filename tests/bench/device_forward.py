"""Plain-torch BERT forward + mean pooling + L2 norm (sentence-transformers MiniLM).
Runs on the lent GPU machine, which has torch but not transformers:
`python tests/bench/device_forward.py IN_DIR OUT_FILE`."""
import json
import sys

import torch
import torch.nn.functional as F


def main(src: str, out: str) -> None:
    cfg = json.load(open(f"{src}/config.json"))
    w = {k: v.float().cuda() for k, v in torch.load(f"{src}/weights.pt").items()}
    w = {k[len("bert."):] if k.startswith("bert.") else k: v for k, v in w.items()}
    ids = json.load(open(f"{src}/ids.json"))
    heads, eps = cfg["num_attention_heads"], cfg["layer_norm_eps"]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    result = torch.zeros(len(ids), cfg["hidden_size"])

    def ln(x, p):  # noqa: ANN001
        return F.layer_norm(x, x.shape[-1:], w[p + ".weight"], w[p + ".bias"], eps)

    def lin(x, p):  # noqa: ANN001
        return F.linear(x, w[p + ".weight"], w[p + ".bias"])

    with torch.no_grad():
        for s in range(0, len(order), 256):
            idx = order[s:s + 256]
            n = max(len(ids[i]) for i in idx)
            x_ids = torch.zeros(len(idx), n, dtype=torch.long)
            mask = torch.zeros(len(idx), n)
            for r, i in enumerate(idx):
                x_ids[r, :len(ids[i])] = torch.tensor(ids[i])
                mask[r, :len(ids[i])] = 1
            x_ids, mask = x_ids.cuda(), mask.cuda()
            pos = torch.arange(n, device="cuda")
            h = (w["embeddings.word_embeddings.weight"][x_ids] + w["embeddings.position_embeddings.weight"][pos]
                 + w["embeddings.token_type_embeddings.weight"][0])
            h = ln(h, "embeddings.LayerNorm")
            bias = (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float32).min
            B, T, D = h.shape
            for layer in range(cfg["num_hidden_layers"]):
                p = f"encoder.layer.{layer}."
                q, k, v = (lin(h, p + f"attention.self.{m}").view(B, T, heads, -1).transpose(1, 2)
                           for m in ("query", "key", "value"))
                att = torch.softmax(q @ k.transpose(-1, -2) / (D // heads) ** 0.5 + bias, dim=-1)
                ctx = (att @ v).transpose(1, 2).reshape(B, T, D)
                h = ln(lin(ctx, p + "attention.output.dense") + h, p + "attention.output.LayerNorm")
                ff = lin(F.gelu(lin(h, p + "intermediate.dense")), p + "output.dense")
                h = ln(ff + h, p + "output.LayerNorm")
            pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            result[idx] = F.normalize(pooled, dim=-1).cpu()
    torch.save(result.half(), out)  # fp16: half the transfer; cosine error ~1e-4
    print("embedded", len(ids))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
