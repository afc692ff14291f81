"""Render signed attributions (:mod:`engine.explain`) for a terminal or as a self-contained HTML page.

Like :mod:`app.render` this only reads values already computed: an :class:`~engine.analyze.Analysis`
(spans, attention) and one :class:`~engine.explain.Attribution` per method, for one target class.

Colours: the app's diverging map (:data:`app.colormaps.DIVERGING`, ColorBrewer PuOr, marked
colour-blind safe), **purple = pushes towards the target class, orange = pushes away**, white = no
effect: the same colours as the Attention view's attribution modes. Each method is scaled to
its own largest |score| in the review, so the darkest word is the strongest push of that method.

Pure standard library: no Qt, torch or numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from app.colormaps import DIVERGING_STOPS, diverging_color, hex_color, text_color
from app.render import _CSS, _esc, _gap, _pieces, _probabilities, terminal_safe

if TYPE_CHECKING:
    from app.provenance import Provenance
    from engine.analyze import Analysis
    from engine.explain import Agreement, Attribution

__all__ = ["render_explain_html", "render_explain_terminal"]


_TITLES = {"ig": "Integrated gradients", "occlusion": "Leave-one-out (Δp)"}  # engine.explain.METHOD_TITLES


def _top(values: list[float]) -> float:
    return max((abs(v) for v in values if math.isfinite(v)), default=0.0)


def _fmt(x: float | None) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:+.3f}"


# --------------------------------------------------------------------------------------------------
# Terminal
# --------------------------------------------------------------------------------------------------


def render_explain_terminal(
    analysis: Analysis,
    attributions: Mapping[str, Attribution],
    agreements: Mapping[str, Agreement],
    target: str,
    n: int = 8,
) -> str:
    """Per method: the ``n`` words pushing most towards ``target`` and most away, the sentences'
    scores, and the agreement with attention. Plain text, no escape codes."""
    probs = ", ".join(f"{name} {p:.3f}" for name, p in _probabilities(analysis))
    out = [
        terminal_safe(f"prediction: {analysis.label}  ({probs})"),
        terminal_safe(f"target: {target}  (positive = pushes towards {target}, negative = away from it)"),
    ]
    for method, r in attributions.items():
        words, sentences = r.for_label(target)
        title = _TITLES.get(method, method)
        if r.completeness_gap is not None:
            gap = r.completeness_gap[r.labels.index(target)]
            title += f", {r.steps} steps, completeness gap {gap:.1e}"
        out += ["", f"== {title} =="]
        flat = [
            (words[i][j], i, w.text) for i, s in enumerate(analysis.sentences) for j, w in enumerate(s.words)
        ]
        towards = sorted((x for x in flat if x[0] > 0), key=lambda x: -x[0])[:n]
        away = sorted((x for x in flat if x[0] < 0), key=lambda x: x[0])[:n]
        out.append(f"{'towards ' + target:<36}  {'away from ' + target}")
        for k in range(max(len(towards), len(away), 1)):
            cells = []
            for side in (towards, away):
                if k < len(side):
                    score, i, text = side[k]
                    word = " ".join(terminal_safe(text).split())[:18]
                    cells.append(f"{score:+.4f} {word:<18} s{i + 1:<4}")
                else:
                    cells.append(" " * 36)
            out.append("  ".join(cells).rstrip() or "  (none)")
        out.append("sentences:")
        for i, (s, score) in enumerate(zip(analysis.sentences, sentences, strict=True), 1):
            snippet = " ".join(terminal_safe(s.text).split())
            snippet = snippet if len(snippet) <= 70 else snippet[:69] + "…"
            out.append(f"  s{i:<4} {score:+.4f}  attention {s.weight:.3f}  {snippet}")
        ag = agreements.get(method)
        if ag is not None:
            out.append(
                f"agreement with attention: Spearman words {_fmt(ag.spearman_words)}, sentences "
                f"{_fmt(ag.spearman_sentences)}, top-{ag.k} overlap {ag.topk_words:.2f}"
            )
    return "\n".join(out)


# --------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------

_EXTRA_CSS = """
.diverging { display: inline-flex; border: 1px solid #d0d7de; border-radius: 3px; overflow: hidden; }
.swatch { display: inline-block; width: 1.5rem; height: .9rem; }
.method h2 { margin-bottom: .3rem; }
.method .meta { color: #57606a; font-size: .85rem; margin: 0 0 .6rem; }
table.agree { border-collapse: collapse; font-size: .85rem; margin-top: .6rem; }
table.agree td { padding: .1rem .75rem .1rem 0; vertical-align: top; }
table.agree td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.sentence { border-left-width: 6px; }
"""


def _legend(target: str, top: float) -> str:
    # swatches, not a CSS gradient: they show in every renderer (Qt's rich text too)
    swatches = "".join(
        f'<span class="swatch" style="background: {hex_color(c)}">&nbsp;&nbsp;&nbsp;</span>'
        for c in DIVERGING_STOPS
    )
    t = _esc(target)
    return (
        '<div class="legend">'
        f'<span class="item"><span>pushes away from <b>{t}</b> (−{top:.4f})</span>'
        f'<span class="diverging">{swatches}</span>'
        f"<span>pushes towards <b>{t}</b> (+{top:.4f})</span></span>"
        f'<p class="note">Purple: the word raises the probability of {t}; orange: it lowers it; white: no '
        "effect. Shading is scaled to this method's strongest word in the review; a sentence's left "
        "bar is its own score on the same colours, scaled to the strongest sentence. Hover a word for "
        "its score.</p></div>"
    )


def _review(analysis: Analysis, words: tuple[tuple[float, ...], ...], sentences: tuple[float, ...]) -> str:
    text = analysis.text
    top_word = _top([x for s in words for x in s])
    top_sentence = _top(list(sentences))
    body: list[str] = []
    pos = 0
    for i, s in enumerate(analysis.sentences):
        a = min(max(s.start, pos), len(text))
        b = min(max(s.end, a), len(text))
        if a > pos:
            body.append(_gap(text[pos:a]))
        bar = diverging_color(sentences[i] / top_sentence if top_sentence > 0 else 0.0)
        body.append(
            f'<span class="sentence" data-score="{sentences[i]:.6f}" '
            f'style="border-left-color: {hex_color(bar)}" title="sentence {i + 1}: {sentences[i]:+.4f}">'
        )
        for piece, j in _pieces(text, a, b, s.words):
            if j < 0:
                body.append(_gap(piece))
                continue
            score = words[i][j]
            rgb = diverging_color(score / top_word if top_word > 0 else 0.0)
            style = f"background: {hex_color(rgb)}; color: {hex_color(text_color(rgb))}"
            body.append(
                f'<span class="word" data-score="{score:.6f}" style="{style}" '
                f'title="{score:+.5f}">{_esc(piece)}</span>'
            )
        body.append("</span>")
        pos = b
    if pos < len(text):
        body.append(_gap(text[pos:]))
    return "".join(body)


def _agreement_rows(ag: Agreement, meanings: Mapping[str, str]) -> str:
    rows = [
        ("Spearman, words", _fmt(ag.spearman_words), meanings.get("spearman_words", "")),
        ("Spearman, sentences", _fmt(ag.spearman_sentences), meanings.get("spearman_sentences", "")),
        (f"top-{ag.k} overlap, words", f"{ag.topk_words:.2f}", meanings.get("topk_words", "")),
    ]
    cells = "".join(
        f'<tr><td>{_esc(name)}</td><td class="num">{value}</td><td>{_esc(meaning)}</td></tr>'
        for name, value, meaning in rows
    )
    return f'<table class="agree"><caption>Agreement with attention</caption>{cells}</table>'


def render_explain_html(
    analysis: Analysis,
    attributions: Mapping[str, Attribution],
    agreements: Mapping[str, Agreement],
    target: str,
    meanings: Mapping[str, str] | None = None,
    title: str = "HAN Explorer: explanation",
    provenance: Provenance | None = None,
) -> str:
    """One self-contained HTML5 page (inline CSS, no scripts): prediction, then per method the review
    shaded by its signed scores for ``target`` with a legend, and its agreement with attention."""
    probs = "".join(
        f'<tr><th scope="row">{_esc(name)}</th><td class="num">{p:.4f}</td></tr>'
        for name, p in _probabilities(analysis)
    )
    sections = []
    for method, r in attributions.items():
        words, sentences = r.for_label(target)
        meta = f"signed score: change in p({_esc(target)})"
        if r.completeness_gap is not None:
            gap = r.completeness_gap[r.labels.index(target)]
            meta += f" · {r.steps} steps · completeness gap {gap:.1e}"
        ag = agreements.get(method)
        sections.append(
            f'<section class="card method"><h2>{_esc(_TITLES.get(method, method))}</h2>'
            f'<p class="meta">{meta}</p>{_legend(target, _top([x for s in words for x in s]))}'
            f'<div class="review">{_review(analysis, words, sentences)}</div>'
            f"{_agreement_rows(ag, meanings or {}) if ag is not None else ''}</section>"
        )
    t = _esc(title)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{t}</title>",
        f"<style>{_CSS}{_EXTRA_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{t}</h1>",
        '<section class="card top">',
        f'<div class="prediction"><h2>Prediction</h2><p class="label">{_esc(analysis.label)}</p></div>',
        f'<div><h2>Class probabilities</h2><table class="probs">{probs}</table></div>',
        f'<p class="stats">explained for the class <b>{_esc(target)}</b></p>',
        "</section>",
        *sections,
        *([provenance.html()] if provenance is not None else []),
        "</main>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def explain_json(
    analysis: Analysis,
    attributions: Mapping[str, Attribution],
    agreements: Mapping[str, Agreement],
    target: str,
    meanings: Mapping[str, str],
) -> dict[str, Any]:
    """The ``predict --json`` schema plus ``target``, ``attributions`` (per method, same spans, with
    its ``agreement``) and ``agreement_meanings``."""
    d = analysis.to_dict()
    d["target"] = target
    d["attributions"] = {
        method: r.to_dict(analysis, target) | {"agreement": agreements[method].to_dict()}
        for method, r in attributions.items()
    }
    d["agreement_meanings"] = dict(meanings)
    return d
