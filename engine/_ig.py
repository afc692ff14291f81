"""Integrated gradients on the HAN's word embeddings, through Captum, in memory linear in the text.

Captum's ``LayerIntegratedGradients`` hooks the embedding layer (a private twin of ``model.embedding``
sharing its weights, so that other readers of the model are never hooked) and replaces its output by
points on the straight line from the baseline's embeddings (every word the padding embedding) to the
text's;
it integrates the gradient of ``f`` (the class probability) along that line with ``steps``
Gauss-Legendre nodes, ``internal_batch_size`` of them per forward pass.

The forward pass Captum drives is :class:`DocumentForward`: one document, read as a flat ``(n, T)``
row of word ids (``n`` = the steps of one internal batch, ``T`` = the document's words), whose
sentence lengths are fixed when it is built. Nothing is padded to the longest sentence of the
document (sentences go in length-sorted chunks under the inference budget, as in
:mod:`engine.inference`), so one forward pass holds about ``n x T`` activations, never ``n x S x W``.
Because the lengths come from the structure and not from the ids, the all-padding baseline is read
as a document of the same shape whose every word is the padding embedding.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator, Sequence

import torch
from torch import nn

from engine._lockstep import in_lockstep
from engine.inference import length_chunks
from engine.limits import INFERENCE_BUDGET
from engine.model import HAN
from engine.vocab import PAD_ID

__all__ = ["DocumentForward", "IGResult", "auto_batch_size", "ig_steps"]

# Steps per IG pass: all 50 steps of a review of up to ~800 words in one pass is faster on a CPU than
# two passes (1.28 s vs 1.5-1.7 s for 501 words, one thread, measured in one run), for about 350 MB
# at that size; the sentences are still chunked under INFERENCE_BUDGET (a larger chunk pads more).
# Longer reviews take more passes, so memory stays linear in the text.
IG_STEPS_BUDGET = 2 * INFERENCE_BUDGET

IGResult = tuple[torch.Tensor, torch.Tensor]  # scores (C, T) float64, completeness gaps (C,) float64


def _one_direction(gru: nn.GRU, suffix: str) -> nn.GRU:
    """A one-layer, one-way GRU that shares ``gru``'s weights of one direction (``""`` or ``"_reverse"``)."""
    one = nn.GRU(gru.input_size, gru.hidden_size, batch_first=True, bias=gru.bias)
    for name in one._flat_weights_names:
        setattr(one, name, getattr(gru, name + suffix))  # the same Parameter: no copy
    return one.to(next(gru.parameters()).device).train(gru.training)


class DocumentForward:
    """``f(ids (n, T)) -> probabilities (n, C)`` for one document with sentences of ``lengths`` words.

    The word GRU's two directions run as two one-way GRUs on right-padded sentences, the reverse one
    on each sentence reversed within its length: both read exactly the sentence's words, so the
    result equals the packed inference path up to float rounding, without packing, whose backward
    pass costs the whole chunk's size at every time step. Sentences go in length-sorted chunks of
    at most ``budget`` padded floats. ``on_rows(n)``, if given, is called before each pass with the
    number of rows it reads.
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
        c = model.config
        self.width = max(c.embed_dim, 2 * c.word_hidden, c.word_attention_dim)
        # Captum hooks this module while a pass runs, and a pass may be paused mid-way (in_lockstep):
        # a private module with the model's weights (shared, not copied) leaves the model's own
        # embedding untouched for whatever else reads the model meanwhile (the GUI's predictions).
        self.embedding = nn.Embedding.from_pretrained(
            model.embedding.weight.detach(), freeze=True, padding_idx=model.embedding.padding_idx
        )
        self.forward_gru = _one_direction(model.word_gru, "")
        self.reverse_gru = _one_direction(model.word_gru, "_reverse")

    def _encode_words(self, pieces: Sequence[torch.Tensor], chunk: list[int], n: int) -> torch.Tensor:
        """Sentence vectors (n, c, 2Hw) of the sentences in ``chunk``; ``pieces[i]`` is (n, W_i, E)."""
        device = pieces[0].device
        lengths = torch.tensor([self.lengths[i] for i in chunk], device=device)  # (c,)
        longest = int(lengths.max())
        x = torch.stack(
            [nn.functional.pad(pieces[i], (0, 0, 0, longest - self.lengths[i])) for i in chunk], dim=1
        ).reshape(n * len(chunk), longest, -1)  # (n*c, W, E); row b*c + k: step b, sentence k
        t = torch.arange(longest, device=device)
        mask = (t < lengths[:, None]).repeat(n, 1)  # (n*c, W)
        flip = torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t).repeat(n, 1)  # (n*c, W)
        x_rev = x.gather(1, flip[..., None].expand_as(x))  # (n*c, W, E): each sentence reversed
        h_fwd, _ = self.forward_gru(x)  # (n*c, W, Hw)
        h_rev, _ = self.reverse_gru(x_rev)  # (n*c, W, Hw), in reversed order
        h_rev = h_rev.gather(1, flip[..., None].expand_as(h_rev))  # back to text order
        pooled: torch.Tensor = self.model.word_attention(torch.cat([h_fwd, h_rev], -1), mask)[0]  # (n*c, 2Hw)
        return pooled.view(n, len(chunk), -1)

    def __call__(self, ids: torch.Tensor) -> torch.Tensor:
        m = self.model
        device = next(m.parameters()).device
        emb = self.embedding(ids.to(device))  # (n, T, E); Captum's hook swaps in interpolated embeddings
        n = emb.shape[0]
        if self.on_rows is not None:
            self.on_rows(n)
        emb = m.embed_dropout(emb.transpose(1, 2)).transpose(1, 2)
        pieces = emb.split(self.lengths, dim=1)  # S views (n, W_i, E); their backward is one cat
        parts: list[torch.Tensor] = []
        order: list[int] = []
        for chunk in length_chunks(self.lengths, self.width * n, self.budget):
            parts.append(self._encode_words(pieces, chunk, n))  # (n, c, 2Hw)
            order.extend(chunk)
        inverse = torch.argsort(torch.tensor(order, device=device))
        sents = m.dropout(torch.cat(parts, dim=1)[:, inverse])  # (n, S, 2Hw), in text order
        h_sents, _ = m.sentence_gru(sents)  # (n, S, 2Hs): every row has all S sentences, no padding
        mask = torch.ones(h_sents.shape[:2], dtype=torch.bool, device=device)  # (n, S)
        doc, _ = m.sentence_attention(h_sents, mask)  # (n, 2Hs)
        logits = m.classifier(m.dropout(doc))  # (n, C)
        return torch.softmax(logits, dim=-1)


def auto_batch_size(n_words: int, width: int, steps: int, budget: int = INFERENCE_BUDGET) -> int:
    """Steps per forward pass so that ``steps x words x width`` floats stay under the budget."""
    return max(1, min(steps, budget // max(1, n_words * width)))


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
        lig = LayerIntegratedGradients(forward, forward.embedding)
        scores = []
        with _gradients_through_rnns(device):
            for c in range(direct):
                attr = lig.attribute(
                    ids, baselines=baseline, target=c, n_steps=steps, internal_batch_size=batch
                )  # (1, T, E)
                scores.append(attr[0].detach().double().sum(-1).cpu())  # (T,)
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
