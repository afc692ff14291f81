"""Word valence from a published sentiment lexicon, as a training signal for the word embedding.

Issue 17's behaviour suite found the shipped model reading "I loathe it." as positive (P(pos) 0.94)
and "Today I dislike it." as 0.95. IMDB's training reviews cannot teach those words: "loathe" is in
17 of the 25,000 (10 negative, 7 positive), "detest" in 6, "resent" in 14, and "dislike" in 66
negative and 73 positive ones. What the model lacks is what a reader brings to the reviews: the
words' meaning. Two training options take it from a lexicon.

The lexicon is VADER's (Hutto & Gilbert, ICWSM 2014; ``vaderSentiment`` on PyPI, MIT licence):
about 7,500 entries, each the mean of ten people's ratings from -4 (extremely negative) to +4. Only
its 7,209 entries of lower-case letters are used, scaled to [-1, 1], and only those in the run's
vocabulary (3,337 in the shipped one).

``train --lexicon-weight W`` adds W x :func:`valence_loss`. It asks that the valence be readable
from the embedding along one direction: the ridge least-squares fit of the valences from the
current embedding rows (weights found in closed form each step, held fixed for the gradient) leaves
a residual, and the loss is its mean square.
Its gradient moves each lexicon word's vector along the fitted direction towards its rating, so a
word that IMDB hardly trains ("loathe") comes to lie where the words the reviews do train ("awful",
"hate") lie along that direction. There is no
extra weight to keep: the fit is redone from the embedding each step (a 201 x 201 solve), so
checkpoints, resuming and several GPUs need nothing new.

That term makes the valence readable, but the word encoder need not read it: in a CPU fine-tune of
the shipped model at weight 1 "loathe" reached valence -0.55 (as "hate": -0.58) and "I loathe it."
still read P(pos) 0.77. ``train --lexicon-retrofit-rank R`` acts on the words themselves, after
Faruqui et al.'s retrofitting (NAACL 2015) with the lexicon's ratings as the only relation: each
rated word the reviews hardly train (vocabulary id >= R; the vocabulary is in order of frequency)
is set to the mean vector of the :data:`RETROFIT_NEIGHBOURS` rated words under R whose ratings are
nearest its own, at the start and after every epoch, so the encoder reads "loathe" as it reads
the frequent words rated like it. Done to the shipped model's embedding with R 5000 (2,364 of its
3,337 rated words) and no training, it moved IMDB dev from 0.9300 to 0.9276 and cut the suite's
"negative feeling verbs" failures from 23% to 9%; with R 2000 dev fell to 0.9208.

The behaviour suite's words are ordinary sentiment words, and VADER rates most of them. The suite
measures whether the model knows them; this lexicon is one way a model can come to know them, as a
pretrained language model would. The suite's templates are not in it.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from dataclasses import dataclass

import numpy as np
import torch

from engine.vocab import Vocab

__all__ = [
    "LEXICON_PACKAGE",
    "RETROFIT_NEIGHBOURS",
    "Lexicon",
    "LexiconError",
    "Retrofit",
    "check_lexicon",
    "load_lexicon",
    "plan_retrofit",
    "valence_loss",
]

LEXICON_PACKAGE = "vaderSentiment"
LEXICON_FILE = "vader_lexicon.txt"
SCALE = 4.0  # VADER's ratings run from -4 to +4
RETROFIT_NEIGHBOURS = 10  # frequent rated words averaged for a rare one
RIDGE = 1e-3  # of the fit's Gram matrix, times its mean diagonal: keeps the solve well posed


class LexiconError(ValueError):
    """The lexicon is missing or unreadable; the message says what to do."""


@dataclass(frozen=True)
class Lexicon:
    """The lexicon's words in a vocabulary: ``ids[i]`` has valence ``values[i]`` in [-1, 1]."""

    ids: np.ndarray  # (N,) int64, vocabulary ids, ascending
    values: np.ndarray  # (N,) float32
    entries: int  # the lexicon's word entries (letters only), in the vocabulary or not
    source: str  # package and version
    sha256: str  # of the lexicon file as read

    def record(self) -> dict[str, object]:
        """What a model's record keeps of it."""
        return {
            "source": self.source,
            "sha256": self.sha256,
            "entries": self.entries,
            "words_in_vocabulary": len(self.ids),
        }


def parse(text: str) -> dict[str, float]:
    """``word -> valence in [-1, 1]`` from the lexicon's lines (``word<TAB>mean<TAB>sd<TAB>ratings``).

    Entries other than lower-case letters (emoticons, "can't stand") are skipped; a line that is
    not in the format raises :class:`LexiconError` naming it.
    """
    out: dict[str, float] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            value = float(parts[1])
        except (IndexError, ValueError):
            raise LexiconError(f"lexicon line {n} is not 'word<TAB>rating…': {line[:60]!r}") from None
        word = parts[0]
        if word.isalpha() and word.islower() and np.isfinite(value):
            out[word] = max(-1.0, min(1.0, value / SCALE))
    if not out:
        raise LexiconError("the lexicon has no word entries")
    return out


def _read() -> tuple[str, str]:
    from importlib import metadata

    try:
        text = importlib.resources.files(LEXICON_PACKAGE).joinpath(LEXICON_FILE).read_bytes()
        version = metadata.version(LEXICON_PACKAGE)
    except (ModuleNotFoundError, FileNotFoundError, metadata.PackageNotFoundError) as e:
        raise LexiconError(
            f"--lexicon-weight needs the {LEXICON_PACKAGE} package's lexicon "
            f"(pip install {LEXICON_PACKAGE}): {e}"
        ) from None
    return text.decode("utf-8"), f"{LEXICON_PACKAGE} {version}"


def check_lexicon() -> str:
    """The lexicon's source ("vaderSentiment 3.3.2"), or :class:`LexiconError` saying how to install it."""
    return _read()[1]


def load_lexicon(vocab: Vocab, text: str | None = None, source: str = "given text") -> Lexicon:
    """The lexicon's words that ``vocab`` knows. ``text``: the lexicon's text (default: VADER's)."""
    if text is None:
        text, source = _read()
    valences = parse(text)
    pairs = sorted((vocab.id(w), v) for w, v in valences.items() if w in vocab)
    return Lexicon(
        ids=np.array([i for i, _ in pairs], dtype=np.int64),
        values=np.array([v for _, v in pairs], dtype=np.float32),
        entries=len(valences),
        source=source,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def valence_loss(embedding: torch.Tensor, ids: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Mean squared residual of the best linear reading of ``values`` from ``embedding[ids]``.

    ``embedding`` ``(V, E)``; ``ids`` ``(N,)``; ``values`` ``(N,)``. The reading (E weights and a
    bias) is the ridge least-squares fit to the rows as they are now, found in closed form and held
    fixed, so the gradient reaches the rows only: each moves along the fitted direction towards its
    value. Zero when the values are exactly a linear function of the rows.
    """
    x = embedding[ids].float()  # (N, E)
    xb = torch.cat([x, torch.ones_like(x[:, :1])], 1)  # (N, E+1): a bias column
    with torch.no_grad():
        gram = xb.T @ xb  # (E+1, E+1)
        eye = torch.eye(gram.shape[0], device=gram.device, dtype=gram.dtype)
        w = torch.linalg.solve(gram + RIDGE * gram.diagonal().mean() * eye, xb.T @ values.float())  # (E+1,)
    residual: torch.Tensor = xb @ w - values.float()  # (N,)
    return (residual**2).mean()


@dataclass(frozen=True)
class Retrofit:
    """Row ``targets[i]`` of the embedding becomes the mean of rows ``sources[i]``."""

    targets: np.ndarray  # (M,) int64: the rated words at or above the rank
    sources: np.ndarray  # (M, K) int64: for each, the K rated words under the rank nearest in rating
    rank: int

    def record(self) -> dict[str, object]:
        return {
            "retrofit_rank": self.rank,
            "retrofitted_words": len(self.targets),
            "neighbours": self.sources.shape[1],
        }

    def apply(self, embedding: torch.Tensor) -> None:
        """In place, without gradient: every target row set to the mean of its source rows (as they are)."""
        if not len(self.targets):
            return
        dev = embedding.device
        with torch.no_grad():
            src = torch.from_numpy(self.sources).to(dev)  # (M, K)
            means = embedding[src].float().mean(1)  # (M, E): read before any row is written
            embedding[torch.from_numpy(self.targets).to(dev)] = means.to(embedding.dtype)


def plan_retrofit(lex: Lexicon, rank: int, neighbours: int = RETROFIT_NEIGHBOURS) -> Retrofit:
    """Which rated words are set from which (:class:`Retrofit`): those with id >= ``rank`` from the
    ``neighbours`` rated words with id < ``rank`` nearest in rating (ties: the more frequent).

    :class:`LexiconError` when fewer than ``neighbours`` rated words are under ``rank``.
    """
    frequent = lex.ids < rank
    fi, fv = lex.ids[frequent], lex.values[frequent]
    if len(fi) < neighbours:
        raise LexiconError(
            f"--lexicon-retrofit-rank {rank}: only {len(fi)} rated words are more frequent; need {neighbours}"
        )
    targets = lex.ids[~frequent]
    sources = np.empty((len(targets), neighbours), dtype=np.int64)
    for row, v in enumerate(lex.values[~frequent]):
        order = np.lexsort((fi, np.abs(fv - v)))  # nearest rating first, then the lower id
        sources[row] = fi[order[:neighbours]]
    return Retrofit(targets, sources, rank)
