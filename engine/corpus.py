"""Score a whole dataset with a model: one compact record per review, streamed, cached.

``score_corpus(bundle, dataset) -> Generator[CorpusProgress, None, CorpusResult]`` reads the reviews
in blocks (in a fixed shuffled order, so a run stopped early has scored a random part of the data,
not the shortest reviews or only the first class of a sorted file), sorts each block by length and
scores it in batches (:func:`engine.inference.score_documents`: nothing is padded beyond its
neighbours). After each batch it yields a :class:`CorpusProgress` carrying that batch's rows, so a
GUI worker shows rate and time left, fills its table as rows arrive and can stop between batches;
a :class:`CorpusBuilder` fed with those rows gives the same consistent partial result the
generator would have returned.

Memory is bounded by the table: per review a few numbers and the ``top_k`` most attended words
(word ids into a shared word list) are kept, never the full attention (a 25,000-review corpus would
hold ~6 million weights); the texts stay with the :class:`~engine.data.Dataset` that was read.

Results are cached per (model fingerprint, dataset content) as ``.npz`` (no pickle) in a folder the
caller chooses, written atomically; a partial result is never cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import time
from collections.abc import Generator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.analyze import Analysis, encode_document, scores_to_analysis
from engine.atomic import write_bytes
from engine.bundle import ModelBundle
from engine.data import Dataset
from engine.inference import score_documents
from engine.preprocess import doc_words
from engine.text import tokenize

__all__ = [
    "SUMMARY_VERSION",
    "CorpusBuilder",
    "CorpusProgress",
    "CorpusResult",
    "cache_key",
    "iter_analyses",
    "load_cached",
    "model_fingerprint",
    "save_cached",
    "score_corpus",
]

SUMMARY_VERSION = 1  # bump when a record's meaning changes: older cache files stop matching
TOP_K = 10  # most attended words kept per review: enough for "heavily attended" filters
BLOCK = 2048  # reviews tokenized and length-sorted together: padding stays low, memory bounded
BATCH = 64  # reviews per forward pass (the inference budget splits larger sentence sets anyway)


@dataclass(frozen=True, eq=False)
class CorpusResult:
    """The scored rows of a dataset, one per review, in dataset order (N rows, C classes, K top words).

    row: (N,) the review's index in the dataset. truth, pred: (N,) class indices into
    ``label_names`` (pred -1: a review with no words, counted wrong). probs: (N, C). words,
    sentences: (N,). last_share: (N,) the sentence attention of the last sentence. top_words:
    (N, K) ids into ``word_list`` (-1: none), most attended first; top_weights: (N, K) each word's
    document-level weight (sentence weight x word weight, summed over the word's occurrences).
    ``total`` is the dataset's size: ``complete`` is False for a run stopped early.
    """

    label_names: tuple[str, ...]
    row: np.ndarray
    truth: np.ndarray
    pred: np.ndarray
    probs: np.ndarray
    words: np.ndarray
    sentences: np.ndarray
    last_share: np.ndarray
    top_words: np.ndarray
    top_weights: np.ndarray
    word_list: tuple[str, ...]
    total: int
    complete: bool
    key: str = ""  # the cache key (model fingerprint x dataset content)
    seconds: float = 0.0  # time spent scoring (0 when read from the cache)
    cached: bool = field(default=False)

    def __len__(self) -> int:
        return len(self.row)

    @property
    def confidence(self) -> np.ndarray:
        """(N,) the predicted class's probability."""
        out: np.ndarray = self.probs.max(axis=1) if len(self) else np.zeros(0, np.float32)
        return out

    @property
    def margin(self) -> np.ndarray:
        """(N,) top probability minus the runner-up."""
        if not len(self) or self.probs.shape[1] < 2:
            return self.confidence
        part = np.sort(self.probs, axis=1)
        out: np.ndarray = part[:, -1] - part[:, -2]
        return out

    @property
    def correct(self) -> np.ndarray:
        return np.asarray(self.pred == self.truth)

    def review_top_words(self, i: int) -> list[tuple[str, float]]:
        """Row ``i``'s most attended words with their document-level weight."""
        return [
            (self.word_list[w], float(x))
            for w, x in zip(self.top_words[i], self.top_weights[i], strict=True)
            if w >= 0
        ]


@dataclass(frozen=True, eq=False)
class CorpusProgress:
    """One scored batch: ``done`` of ``total`` reviews after ``seconds``; ``rows`` are the batch's."""

    done: int
    total: int
    seconds: float
    rows: _Rows

    @property
    def rate(self) -> float:
        """Reviews per second so far."""
        return self.done / self.seconds if self.seconds > 0 else 0.0

    @property
    def seconds_left(self) -> float:
        return (self.total - self.done) / self.rate if self.rate > 0 else float("nan")


@dataclass(frozen=True, eq=False)
class _Rows:
    """A batch's records: like :class:`CorpusResult`'s columns, top words as strings."""

    row: np.ndarray
    pred: np.ndarray
    probs: np.ndarray
    words: np.ndarray
    sentences: np.ndarray
    last_share: np.ndarray
    top_words: tuple[tuple[str, ...], ...]
    top_weights: np.ndarray  # (n, K), 0 where there is no word

    @staticmethod
    def concat(parts: Sequence[_Rows]) -> _Rows:
        """Several batches' records as one (in that order)."""

        def cat(name: str) -> np.ndarray:
            return np.concatenate([getattr(p, name) for p in parts])

        return _Rows(
            row=cat("row"),
            pred=cat("pred"),
            probs=cat("probs"),
            words=cat("words"),
            sentences=cat("sentences"),
            last_share=cat("last_share"),
            top_words=tuple(w for p in parts for w in p.top_words),
            top_weights=cat("top_weights"),
        )


class CorpusBuilder:
    """Collects batches into preallocated columns; :meth:`result` gives the rows scored so far."""

    def __init__(
        self, label_names: Sequence[str], truth: Sequence[int] | np.ndarray, top_k: int = TOP_K, key: str = ""
    ) -> None:
        n, c = len(truth), len(label_names)
        self.label_names = tuple(label_names)
        self.key = key
        self.top_k = top_k
        self.truth = np.asarray(truth, dtype=np.int64)
        self.scored = np.zeros(n, dtype=bool)
        self.pred = np.full(n, -1, dtype=np.int64)
        self.probs = np.zeros((n, c), dtype=np.float32)
        self.words = np.zeros(n, dtype=np.int32)
        self.sentences = np.zeros(n, dtype=np.int32)
        self.last_share = np.zeros(n, dtype=np.float32)
        self.top_words = np.full((n, top_k), -1, dtype=np.int32)
        self.top_weights = np.zeros((n, top_k), dtype=np.float32)
        self._word_ids: dict[str, int] = {}
        self._word_list: tuple[str, ...] = ()  # tuple(self._word_ids), kept until a word is added
        self._done = 0
        self.seconds = 0.0

    @property
    def done(self) -> int:
        return self._done

    def add(self, rows: _Rows, seconds: float | None = None) -> None:
        r = rows.row
        self.pred[r], self.probs[r] = rows.pred, rows.probs
        self.words[r], self.sentences[r], self.last_share[r] = rows.words, rows.sentences, rows.last_share
        for j, words in zip(r.tolist(), rows.top_words, strict=True):
            ids = [self._word_ids.setdefault(w, len(self._word_ids)) for w in words]
            self.top_words[j, : len(ids)] = ids
        self.top_weights[r] = rows.top_weights
        self._done += int(len(r) - self.scored[r].sum())
        self.scored[r] = True
        if seconds is not None:
            self.seconds = seconds

    def result(self, rows: np.ndarray | None = None) -> CorpusResult:
        """The rows scored so far, in dataset order; ``complete`` when every row is scored.

        ``rows``: only these dataset rows (scored ones, in the order given): what arrived since the
        last look, at the cost of those rows alone (the whole result costs all of them)."""
        idx = np.flatnonzero(self.scored) if rows is None else np.asarray(rows, dtype=np.int64)
        if len(self._word_list) != len(self._word_ids):
            self._word_list = tuple(self._word_ids)
        return CorpusResult(
            label_names=self.label_names,
            row=idx.astype(np.int64),
            truth=self.truth[idx],
            pred=self.pred[idx],
            probs=self.probs[idx],
            words=self.words[idx],
            sentences=self.sentences[idx],
            last_share=self.last_share[idx],
            top_words=self.top_words[idx],
            top_weights=self.top_weights[idx],
            word_list=self._word_list,
            total=len(self.truth),
            complete=len(idx) == len(self.truth) and self._done == len(self.truth),
            key=self.key,
            seconds=self.seconds,
        )


# --------------------------------------------------------------------------- scoring


def model_truth(bundle: ModelBundle, ds: Dataset) -> np.ndarray:
    """(N,) each review's true class as an index into the model's ``label_names`` (mapped by name)."""
    index = {name: i for i, name in enumerate(bundle.label_names)}
    unknown = sorted(set(ds.label_names) - set(index))
    if unknown:
        raise ValueError(
            f"the dataset has labels the model does not know: {unknown}; "
            f"the model's labels are {list(bundle.label_names)}"
        )
    names = [index[n] for n in ds.label_names]
    return np.asarray([names[y] for y in ds.labels], dtype=np.int64)


def _order(ds: Dataset, block: int, seed: int) -> list[np.ndarray]:
    """Blocks of row indices: a seeded shuffle cut into blocks, each sorted by text length."""
    perm = np.random.default_rng(seed).permutation(len(ds))
    lengths = np.fromiter((len(t) for t in ds.texts), dtype=np.int64, count=len(ds))
    return [
        b[np.argsort(lengths[b], kind="stable")] for b in np.array_split(perm, max(1, -(-len(ds) // block)))
    ]


def _summarize(
    words: list[list[str]], s_att: list[float], w_att: list[float], top_k: int
) -> tuple[tuple[str, ...], list[float]]:
    """The ``top_k`` words by document-level weight (sentence x word weight, summed per word)."""
    mass: dict[str, float] = {}
    flat = iter(w_att)
    for s, sentence in zip(s_att, words, strict=True):
        for w in sentence:
            mass[w] = mass.get(w, 0.0) + s * next(flat)
    top = sorted(mass.items(), key=lambda kv: -kv[1])[:top_k]
    return tuple(w for w, _ in top), [x for _, x in top]


@torch.inference_mode()
def _score_batch(
    bundle: ModelBundle,
    ds: Dataset,
    idx: np.ndarray,
    top_k: int,
    words_too: bool,
    tokenized: Sequence[Sequence[Sequence[str]]] | None = None,
) -> _Rows:
    if tokenized is None:
        tokenized = [doc_words(ds.texts[i]) for i in idx.tolist()]
    words = [[list(s) for s in d if s] for d in tokenized]
    c = len(bundle.label_names)
    n = len(idx)
    pred = np.full(n, -1, dtype=np.int64)
    probs = np.zeros((n, c), dtype=np.float32)
    n_words = np.asarray([sum(map(len, d)) for d in words], dtype=np.int32)
    n_sents = np.asarray([len(d) for d in words], dtype=np.int32)
    last = np.zeros(n, dtype=np.float32)
    top_words: list[tuple[str, ...]] = [()] * n
    top_weights = np.zeros((n, top_k), dtype=np.float32)
    live = [j for j in range(n) if words[j]]
    if live:
        docs = [[bundle.vocab.encode(s) for s in words[j]] for j in live]
        scores = score_documents(bundle.model, docs, keep_attention=words_too)
        logits = torch.stack([s.logits for s in scores]).double()  # (n, C)
        p = torch.softmax(logits, -1).numpy()
        probs[live] = p
        pred[live] = p.argmax(-1)
        for j, sc in zip(live, scores, strict=True):
            s_att = sc.sentence_attention.double().tolist()
            last[j] = s_att[-1]
            if words_too:
                top_words[j], weights = _summarize(
                    words[j], s_att, sc.word_attention.double().tolist(), top_k
                )
                top_weights[j, : len(weights)] = weights
    return _Rows(idx.astype(np.int64), pred, probs, n_words, n_sents, last, tuple(top_words), top_weights)


def score_corpus(
    bundle: ModelBundle,
    ds: Dataset,
    *,
    batch_size: int = BATCH,
    block: int = BLOCK,
    top_k: int = TOP_K,
    seed: int = 0,
    words: bool = True,
    workers: int = 1,
    key: str | None = None,
) -> Generator[CorpusProgress, None, CorpusResult]:
    """Score every review of ``ds``; yields after each batch, returns the complete result.

    Stopping the generator (``close()``) between batches is safe: the rows yielded so far, fed to a
    :class:`CorpusBuilder`, are a consistent partial result. ``words=False`` skips the word attention
    (no top words; predictions, probabilities and the last sentence's share only): what ``evaluate``
    needs, faster. Such a result is not cached (its key says nothing of it). ``workers`` > 1
    tokenizes in that many processes (the tokenizer is pure Python: on a GPU it is the bottleneck),
    the next block while the current one is scored; the GUI keeps 1 (no fork under Qt's threads).
    ``key``: the result's cache key when the caller has computed it already (None: computed here).
    """
    if batch_size < 1 or block < 1 or top_k < 1:
        raise ValueError("batch_size, block and top_k must be at least 1")
    if key is None:
        key = cache_key(bundle, ds, top_k) if words else ""  # no key: never cached
    builder = CorpusBuilder(bundle.label_names, model_truth(bundle, ds), top_k, key)
    t0 = time.perf_counter()
    blocks = _order(ds, block, seed)
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(ProcessPoolExecutor(workers)) if workers > 1 and len(ds) > 1 else None

        def tokenize_block(b: np.ndarray) -> Any:
            texts = [ds.texts[i] for i in b.tolist()]
            assert pool is not None
            return pool.map(doc_words, texts, chunksize=max(1, min(64, len(texts) // (4 * workers))))

        pending = tokenize_block(blocks[0]) if pool is not None and blocks else None
        for n, order in enumerate(blocks):
            tokenized = pending if pending is not None else None
            if pool is not None and n + 1 < len(blocks):
                pending = tokenize_block(blocks[n + 1])  # the workers go on while this block is scored
            for k in range(0, len(order), batch_size):
                idx = order[k : k + batch_size]
                batch = [next(tokenized) for _ in range(len(idx))] if tokenized is not None else None
                rows = _score_batch(bundle, ds, idx, top_k, words, batch)
                seconds = time.perf_counter() - t0
                builder.add(rows, seconds)
                yield CorpusProgress(builder.done, len(ds), seconds, rows)
    builder.seconds = time.perf_counter() - t0
    return builder.result()


def iter_analyses(
    bundle: ModelBundle, texts: Sequence[str], *, batch_size: int = BATCH
) -> Generator[list[tuple[int, Analysis | None]], None, None]:
    """Every text's full :class:`~engine.analyze.Analysis` (the ``predict --json`` value), in order.

    Yields lists of ``(index, analysis)``, one list per batch of ``batch_size`` texts (scored
    together, sorted by length); ``analysis`` is None for a text with no words. Only one batch's
    weights are alive at a time, so writing every weight of 25,000 reviews stays in bounded memory.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    for k in range(0, len(texts), batch_size):
        idx = list(range(k, min(k + batch_size, len(texts))))
        docs = {i: tokenize(texts[i]) for i in idx}
        live = sorted((i for i in idx if docs[i].sentences), key=lambda i: len(texts[i]))
        ids = {i: encode_document(bundle, docs[i]) for i in live}
        with torch.inference_mode():
            scores = score_documents(bundle.model, [ids[i] for i in live]) if live else []
        out: dict[int, Analysis | None] = dict.fromkeys(idx)
        for i, sc in zip(live, scores, strict=True):
            out[i] = scores_to_analysis(bundle, docs[i], ids[i], sc)
        yield [(i, out[i]) for i in idx]


# --------------------------------------------------------------------------- cache


def model_fingerprint(bundle: ModelBundle) -> str:
    """sha256 of what decides a model's answers: weights, vocabulary, classes."""
    h = hashlib.sha256()
    for name, t in sorted(bundle.model.state_dict().items()):
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(t.detach().to("cpu").contiguous().view(torch.uint8).numpy().tobytes())
    h.update("\n".join(bundle.vocab.itos).encode())
    h.update(json.dumps(bundle.label_names).encode())
    return h.hexdigest()


def dataset_fingerprint(ds: Dataset) -> str:
    """sha256 of the rows themselves (texts, labels by name), so a subset or sample has its own."""
    h = hashlib.sha256()
    for text, label in zip(ds.texts, ds.labels, strict=True):
        b = text.encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
        h.update(ds.label_names[label].encode())
        h.update(b"\0")
    return h.hexdigest()


def cache_key(bundle: ModelBundle, ds: Dataset, top_k: int = TOP_K) -> str:
    parts = [model_fingerprint(bundle), dataset_fingerprint(ds), str(SUMMARY_VERSION), str(top_k)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _cache_file(cache_dir: str | Path, key: str) -> Path:
    return Path(cache_dir) / f"corpus-{key[:32]}.npz"


def save_cached(cache_dir: str | Path, result: CorpusResult) -> Path | None:
    """Write a complete result (atomically) under ``cache_dir``; a partial one is not cached (None)."""
    if not result.complete or not result.key:
        return None
    path = _cache_file(cache_dir, result.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "version": SUMMARY_VERSION,
        "key": result.key,
        "label_names": list(result.label_names),
        "word_list": list(result.word_list),
        "total": result.total,
        "seconds": result.seconds,
    }
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8),
        **{name: getattr(result, name) for name in _COLUMNS},
    )
    write_bytes(path, buf.getvalue())
    return path


_COLUMNS = ("row", "truth", "pred", "probs", "words", "sentences", "last_share", "top_words", "top_weights")


def load_cached(cache_dir: str | Path, key: str) -> CorpusResult | None:
    """The cached result for ``key``, or None (absent, from another model/data, or unreadable)."""
    path = _cache_file(cache_dir, key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            meta: dict[str, Any] = json.loads(z["meta"].tobytes().decode())
            cols = {name: z[name] for name in _COLUMNS}
    except (OSError, ValueError, KeyError, UnicodeDecodeError):
        return None  # a damaged cache file is only a cache miss
    if (
        meta.get("key") != key
        or meta.get("version") != SUMMARY_VERSION
        or len(cols["row"]) != meta.get("total")
    ):
        return None
    return CorpusResult(
        label_names=tuple(meta["label_names"]),
        word_list=tuple(meta["word_list"]),
        total=int(meta["total"]),
        complete=True,
        key=key,
        seconds=float(meta.get("seconds", 0.0)),
        cached=True,
        **cols,
    )
