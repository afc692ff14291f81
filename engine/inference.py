"""The HAN's forward pass for inference, in memory that grows linearly with the text.

``HAN.forward`` takes ids ``(B, S, W)``: every sentence padded to the longest one in the batch.
That is right for training (``collate`` cuts documents to the training limits) but not for
reading whatever a user gives: one 2,000-word sentence among 2,000 short ones makes ``S x W``
ids and ``S x W x 2H`` activations, thousands of times the text. Here nothing is padded beyond
its neighbours:

* the word encoder reads sentences sorted by length, in chunks whose padded size
  (sentences x longest x widest layer) stays under a budget of floats;
* the sentence encoder reads documents sorted by sentence count, in chunks under the same budget.

Each step uses the model's own modules (embedding, packed GRUs, masked attention, dropout when
the model is in training mode), so the result equals ``HAN.forward`` up to float rounding: packed
GRUs make a sentence's result independent of its chunk. A single sentence larger than the budget
forms a chunk of its own, still linear in its length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.nn.utils.rnn import pad_sequence

from engine.limits import INFERENCE_BUDGET
from engine.model import HAN, encode_packed
from engine.vocab import PAD_ID

__all__ = ["DocumentScores", "encode_sentences", "length_chunks", "score_documents", "score_vectors"]


@dataclass(frozen=True, eq=False)
class DocumentScores:
    """One document's forward pass.

    logits: (C,). sentence_attention: (S,), sums to 1. word_attention: (T,) with T the document's
    words, sentence after sentence; ``word_counts[i]`` of them belong to sentence i and sum to 1.
    """

    logits: torch.Tensor
    sentence_attention: torch.Tensor
    word_attention: torch.Tensor
    word_counts: tuple[int, ...]


def length_chunks(lengths: Sequence[int], width: int, budget: int = INFERENCE_BUDGET) -> list[list[int]]:
    """Indices grouped by length so that ``len(chunk) * longest * width <= budget``.

    Chunks are filled longest first; inside a chunk the indices keep their order, so input that
    fits one chunk is computed exactly as ``HAN.forward`` computes it. A chunk always holds at
    least one index: one item over the budget is a chunk of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    chunks: list[list[int]] = []
    for i in order:
        if chunks and (len(chunks[-1]) + 1) * lengths[chunks[-1][0]] * width <= budget:
            chunks[-1].append(i)
        else:
            chunks.append([i])
    return [sorted(c) for c in chunks]


def _padded(
    rows: list[torch.Tensor], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(padded (n, T, ...), lengths (n,), mask (n, T))`` of a list of ``(T_i, ...)`` rows."""
    lengths = torch.tensor([len(r) for r in rows])
    padded = pad_sequence(rows, batch_first=True, padding_value=PAD_ID).to(device)  # (n, T, ...)
    mask = torch.arange(padded.shape[1], device=device) < lengths.to(device)[:, None]  # (n, T)
    return padded, lengths, mask


def encode_sentences(
    model: HAN,
    sentences: Sequence[Sequence[int]],
    budget: int = INFERENCE_BUDGET,
    keep_attention: bool = True,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Sentence vectors ``(N, 2Hw)`` and, if asked, each sentence's word attention ``(W_i,)``."""
    if any(len(s) == 0 for s in sentences):
        raise ValueError("every sentence needs at least one word")
    c = model.config
    param = next(model.parameters())
    device = param.device
    width = max(c.embed_dim, 2 * c.word_hidden, c.word_attention_dim)
    vecs = torch.empty(len(sentences), 2 * c.word_hidden, device=device, dtype=param.dtype)  # (N, 2Hw)
    attention: list[torch.Tensor] = [torch.empty(0)] * (len(sentences) if keep_attention else 0)
    for chunk in length_chunks([len(s) for s in sentences], width, budget):
        ids, lengths, mask = _padded([torch.tensor(sentences[i], dtype=torch.long) for i in chunk], device)
        emb = model.embedding(ids)  # (n, W, E)
        emb = model.embed_dropout(emb.transpose(1, 2)).transpose(1, 2)
        h = encode_packed(model.word_gru, emb, lengths)  # (n, W, 2Hw)
        pooled, weights = model.word_attention(h, mask)  # (n, 2Hw), (n, W)
        vecs[chunk] = pooled
        if keep_attention:
            for j, i in enumerate(chunk):
                attention[i] = weights[j, : len(sentences[i])].cpu()
    return vecs, attention


def score_documents(
    model: HAN,
    docs: Sequence[Sequence[Sequence[int]]],
    budget: int = INFERENCE_BUDGET,
    keep_attention: bool = True,
) -> list[DocumentScores]:
    """Each document's logits and attention; a document is a list of non-empty sentences of ids.

    Without ``keep_attention`` the word attention is left empty (evaluation needs only logits).
    """
    if any(len(d) == 0 for d in docs):
        raise ValueError("every document needs at least one sentence")
    vecs, word_att = encode_sentences(model, [s for d in docs for s in d], budget, keep_attention)  # (N, 2Hw)
    return score_vectors(model, vecs, word_att, [[len(s) for s in d] for d in docs], budget)


def score_vectors(
    model: HAN,
    vecs: torch.Tensor,
    word_attention: Sequence[torch.Tensor],
    word_counts: Sequence[Sequence[int]],
    budget: int = INFERENCE_BUDGET,
) -> list[DocumentScores]:
    """The sentence level of :func:`score_documents`, from :func:`encode_sentences`' output.

    ``vecs`` (N, 2Hw) holds every document's sentence vectors, document after document;
    ``word_counts[b]`` lists document b's sentence lengths (so ``N = sum of their lengths``) and
    ``word_attention`` is empty or has one (W_i,) tensor per sentence.
    """
    if any(len(d) == 0 for d in word_counts):
        raise ValueError("every document needs at least one sentence")
    c = model.config
    device = next(model.parameters()).device
    starts = torch.tensor([0, *(len(d) for d in word_counts)]).cumsum(0).tolist()
    width = max(2 * c.word_hidden, 2 * c.sentence_hidden, c.sentence_attention_dim)
    results: list[DocumentScores | None] = [None] * len(word_counts)
    for chunk in length_chunks([len(d) for d in word_counts], width, budget):
        sents, lengths, mask = _padded([vecs[starts[b] : starts[b + 1]] for b in chunk], device)
        sents = model.dropout(sents)  # (n, S, 2Hw)
        h = encode_packed(model.sentence_gru, sents, lengths)  # (n, S, 2Hs)
        doc_vecs, s_att = model.sentence_attention(h, mask)  # (n, 2Hs), (n, S)
        logits = model.classifier(model.dropout(doc_vecs))  # (n, C)
        for j, b in enumerate(chunk):
            own = word_attention[starts[b] : starts[b + 1]]
            results[b] = DocumentScores(
                logits[j].cpu(),
                s_att[j, : len(word_counts[b])].cpu(),
                torch.cat(list(own)) if own else torch.empty(0),
                tuple(word_counts[b]),
            )
    return [r for r in results if r is not None]
