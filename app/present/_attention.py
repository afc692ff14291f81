"""The Attention explorer's presenter: an engine ``Analysis`` as the arrays the view paints."""

from __future__ import annotations

from collections.abc import Collection, Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from app.display import AttentionDisplay, AttributionValues

if TYPE_CHECKING:
    from engine.analyze import Analysis
    from engine.explain import Agreement, Attribution

__all__ = [
    "Edit",
    "Explained",
    "attention_display",
    "attention_json",
    "attribution_values",
    "explain_job",
    "pin_text",
    "preview_job",
    "score_job",
]


@dataclass(frozen=True)
class Edit:
    """A counterfactual edit: sentences and words (sentence, word-in-sentence) the model skips."""

    sentences: frozenset[int] = frozenset()
    words: frozenset[tuple[int, int]] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.sentences or self.words)

    def to_dict(self) -> dict[str, Any]:
        return {
            "removed_sentences": sorted(self.sentences),
            "removed_words": [list(w) for w in sorted(self.words)],
        }


@dataclass(frozen=True)
class Explained:
    """One method's attribution of one analysis, with attention's agreement for every class."""

    attribution: Attribution
    agreement: Mapping[str, Agreement]
    seconds: float


def score_job(bundle: Any, text: str, edit: Edit) -> Generator[str, None, tuple[Analysis, float]]:
    """Score ``text`` (without the edit's words and sentences); returns (analysis, seconds)."""
    import time

    from engine.analyze import analyze_steps

    t0 = time.perf_counter()
    if edit:
        from engine.explain import analyze_edited

        yield "scoring the edited review"
        analysis = analyze_edited(bundle, text, edit.sentences, edit.words)
    else:
        analysis = yield from analyze_steps(bundle, text)
    return analysis, time.perf_counter() - t0


def preview_job(preview: Any, text: str) -> Generator[str, None, tuple[Analysis, float]]:
    """Score ``text`` with the numpy preview of the model (:mod:`engine.preview`), while torch loads;
    returns (analysis, seconds) as :func:`score_job` does."""
    import time

    t0 = time.perf_counter()
    yield "scoring (numpy preview)"
    return preview.analyze(text), time.perf_counter() - t0


def explain_job(
    bundle: Any, analysis: Analysis, methods: Collection[str], edit: Edit, steps: int = 50
) -> Generator[tuple[str, float], None, dict[str, Explained]]:
    """Attributions of ``analysis`` by every method in ``methods``; yields (method, fraction done)
    so the caller shows progress and may stop between chunks."""
    import time

    from engine.explain import agreement, explain_steps

    out: dict[str, Explained] = {}
    for method in methods:
        t0 = time.perf_counter()
        yield method, 0.0
        gen = explain_steps(
            bundle,
            analysis.text,
            method,
            steps=steps,
            removed_sentences=edit.sentences,
            removed_words=edit.words,
        )
        try:
            while True:
                yield method, float(next(gen))
        except StopIteration as stop:
            attribution = stop.value
        labels = attribution.labels
        out[method] = Explained(
            attribution,
            {label: agreement(analysis, attribution, label) for label in labels},
            time.perf_counter() - t0,
        )
    return out


def attribution_values(analysis: Analysis, explained: Explained, target: str) -> AttributionValues:
    """One method's signed scores for ``target`` in the display's word order (text order)."""
    from engine.explain import AGREEMENT_MEANINGS

    a = explained.attribution
    k = a.labels.index(target)
    words = np.array([v for sent in a.words[k] for v in sent], dtype=np.float64)
    sentences = np.array(a.sentences[k], dtype=np.float64)
    if words.size != analysis.n_words or sentences.size != len(analysis.sentences):
        raise ValueError("the attribution does not belong to this analysis (its words differ)")
    g = explained.agreement[target]
    agreement = (
        ("words ρ", g.spearman_words, AGREEMENT_MEANINGS["spearman_words"]),
        ("sentences ρ", g.spearman_sentences, AGREEMENT_MEANINGS["spearman_sentences"]),
        (f"top-{g.k} overlap", g.topk_words, AGREEMENT_MEANINGS["topk_words"]),
    )
    gap = a.completeness_gap[k] if a.completeness_gap is not None else None
    return AttributionValues(a.method, target, words, sentences, gap, a.steps, agreement)


def pin_text(pinned: tuple[str, Mapping[str, float], str], probabilities: Mapping[str, float]) -> str:
    """The pinned result beside the current one: each class's probability then and now, and Δ."""
    label, before, what = pinned
    lines = [f"Pinned ({what}, {label}) → now:"]
    for name, now in probabilities.items():
        then = before.get(name)
        if then is None:
            lines.append(f"{name}: {now:.1%} now (not in the pinned result)")
        else:
            lines.append(f"{name}: {then:.1%} → {now:.1%} ({(now - then) * 100:+.1f} points)")
    return "\n".join(lines)


def attention_display(
    analysis: Analysis,
    seconds: float = 0.0,
    edit: Edit | None = None,
    attributions: Mapping[str, AttributionValues] | None = None,
) -> AttentionDisplay:
    """Flatten an engine ``Analysis`` into the arrays the view draws (words in text order)."""
    words = [(w, i) for i, s in enumerate(analysis.sentences) for w in s.words]
    ss = analysis.sentences
    removed_word = removed_sentence = None
    if edit:
        removed_sentence = np.array([i in edit.sentences for i in range(len(ss))], dtype=bool)
        removed_word = np.array(
            [
                i in edit.sentences or (i, j) in edit.words
                for i, s in enumerate(ss)
                for j in range(len(s.words))
            ],
            dtype=bool,
        )
    return AttentionDisplay(
        text=analysis.text,
        label=analysis.label,
        probabilities=tuple(analysis.probabilities.items()),
        word_start=np.array([w.start for w, _ in words], dtype=np.int64),
        word_end=np.array([w.end for w, _ in words], dtype=np.int64),
        word_weight=np.array([w.weight for w, _ in words], dtype=np.float64),
        word_sentence=np.array([i for _, i in words], dtype=np.int64),
        word_known=np.array([w.known for w, _ in words], dtype=bool),
        sentence_start=np.array([s.start for s in ss], dtype=np.int64),
        sentence_end=np.array([s.end for s in ss], dtype=np.int64),
        sentence_weight=np.array([s.weight for s in ss], dtype=np.float64),
        seconds=seconds,
        attributions=dict(attributions or {}),
        removed_word=removed_word,
        removed_sentence=removed_sentence,
    )


def attention_json(
    analysis: Analysis,
    model: str | None,
    mode: str,
    colormap: str,
    explained: Mapping[str, Explained] | None = None,
    target: str | None = None,
    edit: Edit | None = None,
) -> dict[str, Any]:
    """What File → Export writes as JSON: the model, the view's settings and every weight, with the
    attributions computed so far (for ``target``, the same spans) and the counterfactual edit."""
    out = {
        "model": model,
        "text": analysis.text,
        "view": {"mode": mode, "colormap": colormap},
        **analysis.to_dict(),
    }
    if explained:
        label = target or analysis.label
        out["attributions"] = {m: e.attribution.to_dict(analysis, label) for m, e in explained.items()}
    if edit:
        out["edit"] = edit.to_dict()
    return out
