"""Skip-gram word2vec with negative sampling (Mikolov et al. 2013), in torch.

Used to give the HAN's embedding a start from the training text alone (the paper starts from
word2vec too). Written in torch rather than with gensim so it runs on the GPU machine, where only
torch is installed, and trains in seconds there.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from engine.vocab import PAD_ID, UNK_ID

__all__ = ["train_word2vec"]


def _pairs(corpus: torch.Tensor, window: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(center, context) pairs with word2vec's shrinking window: offset d kept w.p. (window-d+1)/window."""
    centers, contexts = [], []
    for d in range(1, window + 1):
        keep = torch.rand(len(corpus) - d, generator=gen, device="cpu") < (window - d + 1) / window
        keep = keep.to(corpus.device)
        a, b = corpus[:-d][keep], corpus[d:][keep]
        centers += [a, b]
        contexts += [b, a]
    return torch.cat(centers), torch.cat(contexts)


def train_word2vec(
    docs: Sequence[Sequence[Sequence[int]]],
    vocab_size: int,
    dim: int,
    epochs: int = 5,
    window: int = 5,
    negatives: int = 5,
    batch_size: int = 8192,
    lr: float = 2e-3,
    subsample: float = 1e-4,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> Iterator[tuple[int, float, torch.Tensor | None]]:
    """Yield ``(epoch, mean loss, None)`` per epoch, then ``(epochs, loss, vectors (V, dim))`` last."""
    gen = torch.Generator().manual_seed(seed)
    flat = np.fromiter((w for d in docs for s in d for w in s), dtype=np.int64)
    corpus_all = torch.from_numpy(flat)
    corpus_all = corpus_all[(corpus_all != PAD_ID) & (corpus_all != UNK_ID)]
    counts = torch.bincount(corpus_all, minlength=vocab_size).double()
    freq = counts / counts.sum().clamp(min=1)
    keep_p = ((subsample / freq).sqrt() + subsample / freq).clamp(max=1.0).nan_to_num(0.0)
    noise = (counts**0.75).float().to(device)
    noise[PAD_ID] = noise[UNK_ID] = 0
    centers_emb = nn.Embedding(vocab_size, dim, sparse=True)
    context_emb = nn.Embedding(vocab_size, dim, sparse=True)
    with torch.no_grad():
        centers_emb.weight.uniform_(-0.5 / dim, 0.5 / dim, generator=gen)
        context_emb.weight.zero_()
    centers_emb, context_emb = centers_emb.to(device), context_emb.to(device)
    dev_gen = torch.Generator(device=device).manual_seed(seed)  # negatives, drawn on the device
    opt = torch.optim.SparseAdam([*centers_emb.parameters(), *context_emb.parameters()], lr=lr)
    loss = float("nan")
    for epoch in range(epochs):
        kept = corpus_all[torch.rand(len(corpus_all), generator=gen) < keep_p[corpus_all].float()]
        c, o = _pairs(kept.to(device), window, gen)
        perm = torch.randperm(len(c), generator=gen).to(device)
        total, n = 0.0, 0
        for i in range(0, len(perm), batch_size):
            idx = perm[i : i + batch_size]
            v = centers_emb(c[idx])  # (N, D)
            pos = (context_emb(o[idx]) * v).sum(-1)  # (N,)
            neg_ids = torch.multinomial(noise, len(idx) * negatives, replacement=True, generator=dev_gen)
            neg = torch.bmm(context_emb(neg_ids).view(len(idx), negatives, dim), v.unsqueeze(-1))
            batch_loss = -(
                nn.functional.logsigmoid(pos).mean()
                + nn.functional.logsigmoid(-neg.squeeze(-1)).sum(-1).mean()
            )
            opt.zero_grad()
            batch_loss.backward()
            opt.step()
            total += batch_loss.item() * len(idx)
            n += len(idx)
        loss = total / max(n, 1)
        yield epoch + 1, loss, None
    yield epochs, loss, centers_emb.weight.detach().to("cpu").clone()
