"""Integrated gradients on the HAN's words, through Captum, in memory linear in the text.

Captum's ``LayerIntegratedGradients`` hooks :class:`InputGates`, the word GRU's input gates
``W_ih e + b_ih`` of every word (a private module with the model's weights, so that other readers
of the model are never hooked), and replaces its output by points on the straight line from the
baseline's gates (every word the padding embedding) to the text's. The gates are affine in the
embeddings, so that line is the image of the straight line between the embeddings, and a word's
attribution summed over its gates is the one summed over its embedding: the same integrated
gradients, without the ``(T, E) x (E, 6H)`` product and its gradient at every step (tested
against Captum at the embedding layer). It integrates the gradient of ``f`` (the class
probability) with ``steps`` Gauss-Legendre nodes, ``internal_batch_size`` of them per pass.

The forward pass Captum drives is :class:`DocumentForward`: one document, read as a flat ``(n, T)``
row of word ids (``n`` = the steps of one internal batch, ``T`` = the document's words), whose
sentence lengths are fixed when it is built. Its word GRU runs the sentences packed (no padded
word is computed, forward or backward), so one pass holds about ``n x T`` activations. Because the
lengths come from the structure and not from the ids, the all-padding baseline is read as a
document of the same shape whose every word is the padding embedding.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator, Sequence

import torch
from torch import nn

from engine._lockstep import in_lockstep
from engine.limits import INFERENCE_BUDGET
from engine.model import HAN
from engine.vocab import PAD_ID

__all__ = ["DocumentForward", "IGResult", "auto_batch_size", "ig_steps"]

# Steps per IG pass: on a CPU, passes of ~17 steps over a 501-word review beat one pass of all 50 (p50
# 0.65-0.75 s against 0.76 s on 2 threads, 0.83-0.86 s against 1.13 s on one, measured in one run):
# the smaller pass's activations stay nearer the caches. Passes are balanced (50 steps: 17, 17, 16),
# and longer reviews take more of them, so memory stays linear in the text.
IG_STEPS_BUDGET = INFERENCE_BUDGET // 2

IGResult = tuple[torch.Tensor, torch.Tensor]  # scores (C, T) float64, completeness gaps (C,) float64


def _weight(gru: nn.GRU, name: str) -> torch.Tensor:
    """One of ``gru``'s weights, detached: the explainer never trains it."""
    w = getattr(gru, name)
    assert isinstance(w, torch.Tensor)
    return w.detach()


class _Packing:
    """Where each word of one document goes when its sentences run through a bi-GRU unpadded.

    Sentences are sorted longest first (stable), so at time step ``t`` the ``active[t]`` sentences
    still reading are a prefix of that order: the rows of step ``t`` are one contiguous block and
    the whole run holds exactly ``T`` word positions, as a packed sequence does. ``forward[k]`` is
    the text position of the ``k``-th packed slot for the left-to-right direction, ``reverse[k]``
    for the right-to-left one (word ``len - 1 - t`` of its sentence at step ``t``).
    """

    def __init__(self, lengths: Sequence[int], device: torch.device) -> None:
        starts = [0]
        for n in lengths:
            starts.append(starts[-1] + n)
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        longest = lengths[order[0]]
        self.active = [sum(1 for n in lengths if n > t) for t in range(longest)]
        fwd = [starts[s] + t for t in range(longest) for s in order[: self.active[t]]]
        rev = [starts[s] + lengths[s] - 1 - t for t in range(longest) for s in order[: self.active[t]]]

        def index(xs: list[int]) -> torch.Tensor:
            return torch.tensor(xs, dtype=torch.long, device=device)

        self.forward = index(fwd)
        self.reverse = index(rev)
        self.forward_inverse = torch.argsort(self.forward)
        self.reverse_inverse = torch.argsort(self.reverse)
        self.words = starts[-1]
        self.longest = longest
        # a padded (S, longest) view of the text for the per-sentence softmax; slot T is the padding
        slots = [self.words] * (len(lengths) * longest)
        for s, n in enumerate(lengths):
            slots[s * longest : s * longest + n] = range(starts[s], starts[s] + n)
        self.padded = index(slots)
        self.text_slots = index([s * longest + j for s, n in enumerate(lengths) for j in range(n)])
        self.sentence_of = index([s for s, n in enumerate(lengths) for _ in range(n)])


class InputGates(nn.Module):
    """Word ids -> both directions' input gates ``W_ih e + b_ih`` in packed order: ``(n, T) -> (n, 2T, 3H)``.

    Row ``k`` (``k < T``) holds the left-to-right gates of the word in packed slot ``k``
    (:class:`_Packing`), row ``T + k`` the right-to-left gates of the word in that direction's slot
    ``k``. The gates are the first thing the word GRU computes, and affine in the embeddings: a
    straight line between two documents' embeddings maps to the straight line between their
    gates, and a word's attribution summed over its gates equals its attribution summed over its
    embedding (the bias cancels in the difference). So integrated gradients can be taken here,
    which spares every step the ``(T, E) x (E, 6H)`` product and its gradient: the product runs
    once per distinct row of ids (one, when Captum repeats the document for its steps).
    """

    def __init__(self, embedding: nn.Embedding, gru: nn.GRU, dropout: nn.Module, packing: _Packing) -> None:
        super().__init__()
        self.embedding = embedding
        self.dropout = dropout
        self.packing = packing
        # weight (2, 3H, E), bias (2, 3H): both directions
        self.weight = torch.stack([_weight(gru, "weight_ih_l0"), _weight(gru, "weight_ih_l0_reverse")])
        self.bias = torch.stack([_weight(gru, "bias_ih_l0"), _weight(gru, "bias_ih_l0_reverse")])

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        n = ids.shape[0]
        rows = ids[:1] if n > 1 and bool((ids == ids[:1]).all()) else ids
        emb = self.embedding(rows)  # (r, T, E): a hook on the embedding may hand back n rows
        emb = self.dropout(emb.transpose(1, 2)).transpose(1, 2)
        p = self.packing
        gates = torch.cat(
            [
                nn.functional.linear(emb.index_select(1, p.forward), self.weight[0], self.bias[0]),
                nn.functional.linear(emb.index_select(1, p.reverse), self.weight[1], self.bias[1]),
            ],
            dim=1,
        )  # (r, 2T, 3H)
        return gates.expand(n, -1, -1) if gates.shape[0] != n else gates

    def word_sums(self, per_gate: torch.Tensor) -> torch.Tensor:
        """Scores (..., 2T, 3H) of these gates -> each word's total (..., T), in text order."""
        p = self.packing
        per_slot = per_gate.sum(-1)  # (..., 2T)
        words = per_slot.new_zeros(*per_slot.shape[:-1], p.words)
        words.index_add_(-1, p.forward, per_slot[..., : p.words])
        return words.index_add_(-1, p.reverse, per_slot[..., p.words :])


class DocumentForward:
    """``f(ids (n, T)) -> probabilities (n, C)`` for one document with sentences of ``lengths`` words.

    Words -> :class:`InputGates` -> the word GRU's recurrence, written out here with the model's
    weights (``torch.nn.GRU``'s equations: ``r, z = sigmoid(gi + gh)``, ``n = tanh(gi_n + r * gh_n)``,
    ``h = (1 - z) * n + z * h``), both directions in one batched product per time step, on the
    packed sentences (:class:`_Packing`): no padded word is computed, and the backward pass of a
    step costs that step's rows only. Word attention is a softmax per sentence; the sentence level
    is the model's own modules. Equals the packed inference path up to float rounding (tested).
    ``on_rows(n)``, if given, is called before each pass with the number of rows it reads. The
    model is read in eval mode semantics (its dropouts are called, so a model in training mode
    drops as it would).
    """

    def __init__(
        self,
        model: HAN,
        lengths: Sequence[int],
        budget: int = INFERENCE_BUDGET,
        on_rows: Callable[[int], None] | None = None,
    ) -> None:
        if not lengths or min(lengths) < 1:
            raise ValueError("a document needs at least one sentence, and every sentence a word")
        if model.word_gru.num_layers != 1 or not model.word_gru.bidirectional:
            raise ValueError("the word encoder must be a one-layer bidirectional GRU")
        self.model = model
        self.lengths = list(lengths)
        self.budget = budget
        self.on_rows = on_rows
        device = next(model.parameters()).device
        self.packing = _Packing(self.lengths, device)
        # Captum hooks these modules while a pass runs, and a pass may be paused mid-way (in_lockstep):
        # private modules with the model's weights leave the model's own embedding untouched for
        # whatever else reads the model meanwhile (the GUI's predictions).
        self.embedding = nn.Embedding.from_pretrained(
            model.embedding.weight.detach(), freeze=True, padding_idx=model.embedding.padding_idx
        )
        gru = model.word_gru
        self.gates = InputGates(self.embedding, gru, model.embed_dropout, self.packing)
        w_hh = [_weight(gru, "weight_hh_l0").t(), _weight(gru, "weight_hh_l0_reverse").t()]
        self.w_hh = torch.stack(w_hh)  # (2, H, 3H); biases (2, 1, 3H)
        self.b_hh = torch.stack([_weight(gru, "bias_hh_l0"), _weight(gru, "bias_hh_l0_reverse")])[:, None]

    def _word_states(self, gates: torch.Tensor) -> torch.Tensor:
        """Packed input gates (n, 2T, 3H) -> both directions' hidden states (T, n, 2H), in text order."""
        p = self.packing
        n, _, h3 = gates.shape
        hidden = h3 // 3
        packed = gates.view(n, 2, p.words, h3).permute(1, 2, 0, 3)  # (2, T, n, 3H), a view
        h = gates.new_zeros(2, p.active[0] * n, hidden)  # (2, rows, H): both directions
        states = []
        for a, gi in zip(p.active, packed.split(p.active, dim=1), strict=True):  # gi (2, a, n, 3H)
            rows = a * n
            gi = gi.reshape(2, rows, h3)
            h = h[:, :rows]
            gh = torch.baddbmm(self.b_hh, h, self.w_hh)  # (2, rows, 3H)
            # split, not sliced: a split's backward is one cat, a slice's a zero-filled tensor each
            gi_rz, gi_n = gi.split([2 * hidden, hidden], dim=-1)
            gh_rz, gh_n = gh.split([2 * hidden, hidden], dim=-1)
            r, z = torch.sigmoid(gi_rz + gh_rz).split(hidden, dim=-1)
            cand = torch.tanh(gi_n + r * gh_n)
            h = cand + z * (h - cand)
            states.append(h)
        out = torch.cat(states, dim=1).view(2, p.words, n, hidden)  # packed order
        return torch.cat(
            [out[0].index_select(0, p.forward_inverse), out[1].index_select(0, p.reverse_inverse)], -1
        )

    def _pool_words(self, h: torch.Tensor) -> torch.Tensor:
        """Word states (T, n, D) -> sentence vectors (S, n, D) by the model's word attention."""
        p = self.packing
        att = self.model.word_attention
        n = h.shape[1]
        u = torch.tanh(nn.functional.linear(h, att.proj.weight.detach(), att.proj.bias.detach()))  # (T, n, A)
        scores = u @ att.context.detach()  # (T, n)
        slots = torch.cat([scores, scores.new_full((1, n), float("-inf"))]).index_select(0, p.padded)
        weights = torch.softmax(slots.view(len(self.lengths), p.longest, n), dim=1)  # (S, W, n), 0 on padding
        w = weights.reshape(-1, n).index_select(0, p.text_slots)  # (T, n)
        return h.new_zeros(len(self.lengths), n, h.shape[-1]).index_add(0, p.sentence_of, w[..., None] * h)

    def __call__(self, ids: torch.Tensor) -> torch.Tensor:
        m = self.model
        device = next(m.parameters()).device
        ids = ids.to(device)
        if self.on_rows is not None:
            self.on_rows(ids.shape[0])
        gates = self.gates(ids)  # (n, T, 6H); Captum's hook swaps in interpolated gates
        sents = self._pool_words(self._word_states(gates))  # (S, n, 2Hw)
        sents = m.dropout(sents.transpose(0, 1))  # (n, S, 2Hw), in text order
        h_sents, _ = m.sentence_gru(sents)  # (n, S, 2Hs): every row has all S sentences, no padding
        mask = torch.ones(h_sents.shape[:2], dtype=torch.bool, device=device)  # (n, S)
        doc, _ = m.sentence_attention(h_sents, mask)  # (n, 2Hs)
        logits = m.classifier(m.dropout(doc))  # (n, C)
        return torch.softmax(logits, dim=-1)


def auto_batch_size(n_words: int, width: int, steps: int, budget: int = INFERENCE_BUDGET) -> int:
    """Steps per forward pass so that ``steps x words x width`` floats stay under the budget, in
    passes of equal size (the fewest the budget allows)."""
    cap = max(1, min(steps, budget // max(1, n_words * width)))
    passes = -(-steps // cap)
    return -(-steps // passes)


@contextlib.contextmanager
def _gradients_through_rnns(device: torch.device) -> Iterator[None]:
    """cuDNN's RNN backward refuses a model in eval mode; the native kernels compute the same thing."""
    if device.type == "cuda":
        with torch.backends.cudnn.flags(enabled=False):
            yield
    else:
        yield


def ig_steps(
    model: HAN,
    sentences: Sequence[Sequence[int]],
    steps: int = 50,
    internal_batch_size: int | None = None,
    budget: int = INFERENCE_BUDGET,
) -> Generator[float, None, IGResult]:
    """Integrated gradients of every class's probability for one document of word ids.

    Yields the fraction of forward rows done (0 first), and returns ``(scores, gaps)``: ``scores``
    (C, T) is each word's attribution summed over the embedding dimensions, ``gaps`` (C,) is
    ``|sum of the class's scores - (f(x) - f(baseline))|``. Captum runs for C - 1 classes; the
    last class's attributions are minus the sum of the others, exactly so, since the probabilities
    sum to 1 at every point of the path and so do their gradients to 0.
    """
    from captum.attr import LayerIntegratedGradients  # imported here: it brings in matplotlib

    lengths = [len(s) for s in sentences]
    device = next(model.parameters()).device
    ids = torch.tensor([[w for s in sentences for w in s]], device=device)  # (1, T)
    baseline = torch.full_like(ids, PAD_ID)  # (1, T): every word the padding embedding
    n_classes = model.config.num_classes
    direct = max(1, n_classes - 1)
    # rows Captum reads per class: input and baseline once each, then every step
    total_rows = 2 + direct * (2 + steps)
    steps_budget = IG_STEPS_BUDGET * budget // INFERENCE_BUDGET
    batch = internal_batch_size or auto_batch_size(ids.shape[1], model.config.embed_dim, steps, steps_budget)
    rows_done = [0]
    fraction = [0.0]

    def work(pause: Callable[[], None]) -> IGResult:
        def on_rows(n: int) -> None:
            fraction[0] = min(1.0, rows_done[0] / total_rows)
            pause()
            rows_done[0] += n

        forward = DocumentForward(model, lengths, budget, on_rows)
        with torch.no_grad():
            p_x, p_base = forward(torch.cat([ids, baseline])).double()  # (C,) each, in one pass
        lig = LayerIntegratedGradients(forward, forward.gates)
        scores = []
        with _gradients_through_rnns(device):
            for c in range(direct):
                attr = lig.attribute(
                    ids, baselines=baseline, target=c, n_steps=steps, internal_batch_size=batch
                )  # (1, T, E)
                scores.append(forward.gates.word_sums(attr[0].detach().double()).cpu())  # (T,)
        if n_classes > direct:
            scores.append(-torch.stack(scores).sum(0))
        s = torch.stack(scores)  # (C, T)
        gaps = (s.sum(1) - (p_x - p_base).cpu()).abs()  # (C,)
        return s, gaps

    gen = in_lockstep(work, name="integrated-gradients")
    try:
        while True:
            next(gen)
            yield fraction[0]
    except StopIteration as done:
        result: IGResult = done.value
        return result
    finally:
        gen.close()
