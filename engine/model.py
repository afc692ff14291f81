"""Hierarchical Attention Network (Yang et al., NAACL 2016).

Embedding -> bi-GRU word encoder -> word attention -> sentence vectors -> bi-GRU sentence encoder
-> sentence attention -> document vector -> linear classifier.

Attention at both levels is ``u = tanh(W h + b)``, ``score = u . u_ctx``, softmax over the real
positions only: padding gets exactly zero weight. The GRUs run on packed sequences, so a
document's result does not depend on how much padding its batch adds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from engine.config import HANConfig, weight_shapes
from engine.vocab import PAD_ID

__all__ = ["HAN", "Attention", "HANConfig", "HANOutput", "encode_packed", "weight_shapes"]


@dataclass(frozen=True)
class HANOutput:
    """Everything one forward pass computes.

    logits: (B, C). word_attention: (B, S, W), each real sentence's row sums to 1, padding is 0.
    sentence_attention: (B, S), sums to 1 over real sentences, padding is 0.
    """

    logits: torch.Tensor
    word_attention: torch.Tensor
    sentence_attention: torch.Tensor


class Attention(nn.Module):
    """Additive attention with a learned context vector: ``softmax(tanh(W h + b) . u)``."""

    def __init__(self, in_dim: int, att_dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(in_dim, att_dim)
        self.context = nn.Parameter(torch.empty(att_dim).uniform_(-0.1, 0.1))

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """h: (N, T, D), mask: (N, T) bool with >=1 True per row -> pooled (N, D), weights (N, T)."""
        u = torch.tanh(self.proj(h))  # (N, T, A)
        scores = u @ self.context  # (N, T)
        scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1).masked_fill(~mask, 0.0)  # (N, T), exact 0 on pad
        pooled = (weights.unsqueeze(-1) * h).sum(dim=1)  # (N, D)
        return pooled, weights


def encode_packed(gru: nn.GRU, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Run a batch-first GRU over padded x (N, T, D) with true lengths -> (N, T, 2H), 0 on pad."""
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = gru(packed)
    padded, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return padded


class HAN(nn.Module):
    """The network; ``forward(ids)`` with ids (B, S, W), 0 = padding."""

    def __init__(self, config: HANConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embed_dim, padding_idx=PAD_ID)
        self.word_gru = nn.GRU(c.embed_dim, c.word_hidden, batch_first=True, bidirectional=True)
        self.word_attention = Attention(2 * c.word_hidden, c.word_attention_dim)
        self.sentence_gru = nn.GRU(2 * c.word_hidden, c.sentence_hidden, batch_first=True, bidirectional=True)
        self.sentence_attention = Attention(2 * c.sentence_hidden, c.sentence_attention_dim)
        self.embed_dropout = nn.Dropout1d(c.embed_dropout)
        self.dropout = nn.Dropout(c.dropout)
        self.classifier = nn.Linear(2 * c.sentence_hidden, c.num_classes)

    def forward(self, ids: torch.Tensor) -> HANOutput:
        B, S, W = ids.shape
        word_mask = ids != PAD_ID  # (B, S, W)
        word_len = word_mask.sum(-1)  # (B, S)
        sent_mask = word_len > 0  # (B, S)
        if not bool(sent_mask[:, 0].all()):
            raise ValueError("every document needs at least one word in its first sentence")
        flat = sent_mask.reshape(-1)  # (B*S,)
        real_ids = ids.reshape(B * S, W)[flat]  # (N, W), N real sentences
        emb = self.embedding(real_ids)  # (N, W, E)
        emb = self.embed_dropout(emb.transpose(1, 2)).transpose(1, 2)  # drop features per sentence
        h_words = encode_packed(self.word_gru, emb, word_len.reshape(-1)[flat])  # (N, W, 2Hw)
        sent_vecs, w_att = self.word_attention(h_words, word_mask.reshape(B * S, W)[flat])
        # scatter the N real sentences back into their (B, S) slots
        sents = sent_vecs.new_zeros(B * S, sent_vecs.shape[-1])
        sents[flat] = sent_vecs
        word_attention = w_att.new_zeros(B * S, W)
        word_attention[flat] = w_att
        sents = self.dropout(sents.view(B, S, -1))  # (B, S, 2Hw)
        h_sents = encode_packed(self.sentence_gru, sents, sent_mask.sum(-1))  # (B, S, 2Hs)
        doc, s_att = self.sentence_attention(h_sents, sent_mask)  # (B, 2Hs), (B, S)
        logits = self.classifier(self.dropout(doc))  # (B, C)
        return HANOutput(logits, word_attention.view(B, S, W), s_att)
