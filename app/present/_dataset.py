"""The Dataset explorer's presenter: a scored corpus -> table, metrics and filters; the exports.

Qt-free. Filters are numpy masks over the scored rows (25,000 rows filter in milliseconds); the
exports are generators that write atomically (:mod:`engine.atomic`) and yield how far they are.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.display._dataset import DatasetMetrics, ReviewTable, WordRanking
from app.display._training import duration

if TYPE_CHECKING:
    from engine.bundle import ModelBundle
    from engine.corpus import CorpusProgress, CorpusResult

__all__ = [
    "HEAVY_WEIGHT",
    "FilterState",
    "dataset_metrics",
    "export_table",
    "export_weights",
    "filter_mask",
    "progress_text",
    "review_table",
]

HEAVY_WEIGHT = 0.02  # a word "heavily attended" in a review: among its top words with >= 2% of it


def review_table(result: CorpusResult) -> ReviewTable:
    return ReviewTable(
        result.label_names,
        result.row,
        result.truth,
        result.pred,
        result.confidence,
        result.margin,
        result.words,
        result.sentences,
        result.correct,
    )


def dataset_metrics(result: CorpusResult, top: int = 25) -> DatasetMetrics:
    from engine.corpus_metrics import corpus_attention, last_sentence_share, metrics, reliability

    m = metrics(result)
    r = reliability(result)
    share, uniform = last_sentence_share(result)
    return DatasetMetrics(
        n=m.n,
        total=result.total,
        complete=result.complete,
        accuracy=m.accuracy,
        label_names=result.label_names,
        per_class=tuple((c.name, c.precision, c.recall, c.f1, c.support) for c in m.per_class),
        confusion=m.confusion,
        bin_edges=r.edges,
        bin_count=r.count,
        bin_confidence=r.confidence,
        bin_accuracy=r.accuracy,
        ece=r.ece,
        last_share=share,
        uniform_share=uniform,
        words=tuple(
            WordRanking(w.name, w.reviews, w.mass, w.frequency) for w in corpus_attention(result, top)
        ),
    )


@dataclass(frozen=True)
class FilterState:
    """What the table shows: every condition must hold (an empty/None one always holds).

    label: "" or "true:NAME" / "pred:NAME". cell: (true, predicted) of a clicked confusion cell.
    word: reviews where the word is among the most attended (with at least ``HEAVY_WEIGHT``).
    """

    query: str = ""
    misclassified: bool = False
    label: str = ""
    confidence: tuple[float, float] = (0.0, 1.0)
    cell: tuple[int, int] | None = None
    word: str = ""


def filter_mask(
    result: CorpusResult, texts: Sequence[str], state: FilterState, hits: np.ndarray | None = None
) -> np.ndarray:
    """(N,) bool over ``result``'s rows; ``texts`` is the whole dataset (indexed by ``result.row``).

    ``hits``: (len(texts),) int8, whether each text holds ``state.query`` (1/0; -1 not yet known),
    filled in here. Passing the same array for the same query while rows arrive searches each text
    once, not every scored text again at every refresh (the search is the one Python loop here).
    """
    from engine.corpus_metrics import rows_attending

    keep = np.ones(len(result), dtype=bool)
    if state.misclassified:
        keep &= ~result.correct
    if state.label:
        which, _, name = state.label.partition(":")
        k = result.label_names.index(name) if name in result.label_names else -2
        keep &= (result.truth if which == "true" else result.pred) == k
    lo, hi = state.confidence
    if lo > 0.0 or hi < 1.0:
        conf = result.confidence
        keep &= (conf >= lo) & (conf <= hi)
    if state.cell is not None:
        keep &= (result.truth == state.cell[0]) & (result.pred == state.cell[1])
    if state.word:
        keep &= rows_attending(result, state.word, HEAVY_WEIGHT)
    if state.query.strip():
        q = state.query.strip().casefold()
        idx = np.flatnonzero(keep)
        rows = result.row[idx]
        if hits is None:
            hits = np.full(len(texts), -1, dtype=np.int8)
        todo = rows[hits[rows] < 0]
        hits[todo] = np.fromiter((q in texts[r].casefold() for r in todo.tolist()), bool, len(todo))
        keep[idx[hits[rows] != 1]] = False
    return keep


def progress_text(p: CorpusProgress) -> str:
    """``"1,280 of 25,000 reviews · 96 reviews/s · 4 min 06 s left"``."""
    left = "" if np.isnan(p.seconds_left) else f" · {duration(p.seconds_left)} left"
    return f"{p.done:,} of {p.total:,} reviews · {p.rate:.0f} reviews/s{left}"


def _table_records(
    result: CorpusResult, texts: Sequence[str], rows: np.ndarray
) -> Generator[dict[str, object]]:
    names = result.label_names
    conf, margin = result.confidence, result.margin
    for i in rows.tolist():
        pred = int(result.pred[i])
        yield {
            "id": int(result.row[i]),
            "true_label": names[int(result.truth[i])],
            "predicted": names[pred] if pred >= 0 else None,
            "probabilities": {n: round(float(p), 6) for n, p in zip(names, result.probs[i], strict=True)},
            "confidence": round(float(conf[i]), 6),
            "margin": round(float(margin[i]), 6),
            "words": int(result.words[i]),
            "sentences": int(result.sentences[i]),
            "correct": bool(result.correct[i]),
            "top_words": [[w, round(x, 6)] for w, x in result.review_top_words(i)],
            "text": texts[int(result.row[i])],
        }


def export_table(
    path: str | Path, result: CorpusResult, texts: Sequence[str], rows: np.ndarray
) -> Generator[int, None, Path]:
    """Write table rows ``rows`` (indices into ``result``, in that order) as CSV or JSONL (by
    suffix), atomically; yields the rows written so far."""
    from engine.atomic import open_atomic

    p = Path(path)
    kind = p.suffix.lower()
    if kind not in (".csv", ".jsonl"):
        raise ValueError(
            f"cannot export the table as {kind or 'a file without a suffix'}: use .csv or .jsonl"
        )
    with open_atomic(p, "w", encoding="utf-8") as f:
        writer = None
        for n, rec in enumerate(_table_records(result, texts, rows), 1):
            if kind == ".jsonl":
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            else:
                flat = {k: v for k, v in rec.items() if k not in ("probabilities", "top_words")}
                flat.update({f"p_{k}": v for k, v in rec["probabilities"].items()})  # type: ignore[attr-defined]
                flat["top_words"] = " ".join(w for w, _ in rec["top_words"])  # type: ignore[attr-defined]
                if writer is None:
                    writer = csv.DictWriter(f, fieldnames=list(flat), lineterminator="\n")
                    writer.writeheader()
                writer.writerow(flat)
            if n % 1000 == 0:
                yield n
    return p


def export_weights(
    path: str | Path, bundle: ModelBundle, result: CorpusResult, texts: Sequence[str], rows: np.ndarray
) -> Generator[int, None, Path]:
    """Every weight of reviews ``rows`` (the ``predict --json`` schema plus id and true label), one
    JSON line each, written atomically; the reviews are scored again (the cache keeps only a
    summary). Yields the reviews written so far."""
    from engine.atomic import open_atomic
    from engine.corpus import iter_analyses

    ids = result.row[rows].tolist()
    truth = result.truth[rows].tolist()
    p = Path(path)
    done = 0
    with open_atomic(p, "w", encoding="utf-8") as f:
        for batch in iter_analyses(bundle, [texts[r] for r in ids]):
            buf = io.StringIO()
            for i, analysis in batch:
                line: dict[str, object] = {"id": ids[i], "true_label": result.label_names[truth[i]]}
                line.update(analysis.to_dict() if analysis is not None else {"error": "no words to read"})
                buf.write(json.dumps(line, ensure_ascii=False) + "\n")
            f.write(buf.getvalue())
            done += len(batch)
            yield done
    return p
