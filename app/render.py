"""Render an :class:`~engine.analyze.Analysis` for a terminal or as a self-contained HTML page.

Both views only read the weights the analysis already holds; nothing is recomputed. The text is
always taken from ``analysis.text`` by the sentence and word spans, so whatever lies between tokens
(spacing, punctuation the tokenizer skipped, ``<br />`` tags) is shown as written.

* :func:`render_terminal` prints one block per sentence, led by a bar of its sentence weight.
  With colour, every word gets a 24-bit background from light (low) to dark (high) by its weight
  relative to the heaviest word of its sentence; unknown words are underlined. Without colour there
  are no escape codes at all and the heaviest word of each sentence is put in ``[brackets]``.
* :func:`render_html` writes a complete HTML5 page with inline CSS and no scripts or external
  resources: probabilities, a legend, and the review with a tinted strip per sentence and a shaded
  background per word whose ``title`` gives the exact weights.

Pure standard library: no Qt, torch or numpy is imported here.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from app.colormaps import COLORMAPS, DEFAULT_COLORMAP, color, hex_color, luminance, text_color

if TYPE_CHECKING:
    from app.provenance import Provenance
    from engine.analyze import Analysis, SentenceWeight, WordWeight

__all__ = ["json_for_terminal", "render_html", "render_terminal", "terminal_safe"]


# --------------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------------

_LEVELS = 256  # colours are quantized to this many steps (and cached)


def _level(weight: float, top: float) -> int:
    """``weight / top`` quantized to 0 .. _LEVELS - 1."""
    if not top > 0.0 or not weight > 0.0:
        return 0
    return min(_LEVELS - 1, round(weight / top * (_LEVELS - 1)))


def _max(values: Iterator[float]) -> float:
    top = 0.0
    for v in values:
        if v > top:
            top = v
    return top


def _pieces(text: str, start: int, end: int, words: Sequence[WordWeight]) -> Iterator[tuple[str, int]]:
    """Split ``text[start:end]`` into gaps and words: yield ``(piece, i)`` with ``i`` the word index or -1.

    Spans are clamped so that malformed (overlapping, out-of-range) spans cannot repeat or lose text.
    """
    pos = start
    for i, w in enumerate(words):
        a = min(max(w.start, pos), end)
        b = min(max(w.end, a), end)
        if a > pos:
            yield text[pos:a], -1
        if b > a:
            yield text[a:b], i
        pos = b
    if end > pos:
        yield text[pos:end], -1


def _probabilities(analysis: Analysis) -> list[tuple[str, float]]:
    """Classes by descending probability (ties keep the model's order)."""
    return sorted(analysis.probabilities.items(), key=lambda kv: -kv[1])


# --------------------------------------------------------------------------------------------------
# Terminal
# --------------------------------------------------------------------------------------------------

_BAR_CELLS = 10
_EIGHTHS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")
_FULL = "█"
_RESET = "\x1b[0m"
_UNDERLINE = "\x1b[4m"
_BAR_STYLE = "\x1b[38;2;70;130;180m"  # steel blue
_DIM = "\x1b[2m"
# Bar, space, weight (5 characters: "0.412"), " │ ": the text column starts after this.
_GUTTER = _BAR_CELLS + 1 + 5 + 3
_CONTINUATION = " " * (_GUTTER - 2) + "│ "
_MIN_TEXT_WIDTH = 20

# Controls must never reach the terminal: whitespace controls become spaces, the others U+FFFD.
# Bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) would reorder what follows
# them on the line, so a review could make its own words, or the prediction, read differently.
_BIDI_CONTROLS = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
_SANITIZE = {
    c: (" " if chr(c) in "\t\n\v\f\r\x1c\x1d\x1e\x1f\x85" else "\ufffd")
    for c in [*range(0x20), *range(0x7F, 0xA0), *_BIDI_CONTROLS]
}
# JSON escapes C0 controls itself; these it would print raw (with ensure_ascii=False)
_JSON_ESCAPES = {c: f"\\u{c:04x}" for c in [*range(0x7F, 0xA0), *_BIDI_CONTROLS]}
_SPACE_RUN = re.compile(r"\s+")
_NEWLINE_RUN = re.compile(r"\s*[\r\n]\s*")
_ZERO_WIDTH_CATEGORIES = frozenset({"Mn", "Me", "Cf"})


def _make_styles() -> list[str]:
    """Escape prefixes per level: 24-bit background, and black or white text, whichever contrasts more."""
    styles = []
    for k in range(_LEVELS):
        rgb = color(DEFAULT_COLORMAP, k / (_LEVELS - 1))  # ColorBrewer OrRd
        fg = "0;0;0" if luminance(rgb) > 0.179 else "255;255;255"
        styles.append(f"\x1b[48;2;{rgb[0]};{rgb[1]};{rgb[2]}m\x1b[38;2;{fg}m")
    return styles


_STYLES = _make_styles()


def _width(s: str) -> int:
    """Terminal columns of ``s``: wide (East Asian, emoji) characters take 2, combining marks 0."""
    if s.isascii():
        return len(s)
    n = 0
    for ch in s:
        if ch.isascii():
            n += 1
        elif unicodedata.category(ch) in _ZERO_WIDTH_CATEGORIES:
            continue
        else:
            n += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return n


def _bar(weight: float, top: float) -> str:
    """``_BAR_CELLS`` characters: a bar in eighth blocks, full at ``top``; never empty for a weight > 0."""
    eighths = round(weight / top * _BAR_CELLS * 8) if top > 0.0 and weight > 0.0 else 0
    eighths = min(max(eighths, 1 if weight > 0.0 else 0), _BAR_CELLS * 8)
    bar = _FULL * (eighths // 8) + _EIGHTHS[eighths % 8]
    return bar + " " * (_BAR_CELLS - len(bar))


def _units(text: str, s: SentenceWeight, color: bool) -> list[tuple[str, list[tuple[str, str]], int]]:
    """Group a sentence into units that are never broken at a space: ``(leading space, pieces, width)``.

    A piece is ``(text, style)``; the style is an escape prefix or ``""`` for plain text. A unit is a
    maximal run of non-space characters, so ``movie.`` stays together although it is two tokens.
    """
    words = s.words
    top = _max(w.weight for w in words)
    marked: frozenset[int] = frozenset()
    if not color and top > 0.0:
        tol = top * 1e-9
        marked = frozenset(i for i, w in enumerate(words) if w.weight >= top - tol)
    units: list[tuple[str, list[tuple[str, str]], int]] = []
    lead = ""
    pieces: list[tuple[str, str]] = []
    width = 0
    for raw, i in _pieces(text, s.start, s.end, words):
        if "\n" in raw or "\r" in raw:  # a line break inside a sentence (and its indentation): one space
            raw = _NEWLINE_RUN.sub(" ", raw)
        piece = raw if raw.isprintable() else raw.translate(_SANITIZE)
        style = ""
        if i >= 0:
            w = words[i]
            if color:
                style = _STYLES[_level(w.weight, top)] + ("" if w.known else _UNDERLINE)
            elif i in marked:
                piece = f"[{piece}]"
        # Fast paths: a plain word (printable and without " " means no whitespace at all), one space.
        if " " not in piece and piece.isprintable():
            pieces.append((piece, style))
            width += len(piece) if piece.isascii() else _width(piece)
            continue
        if piece == " ":
            if pieces:
                units.append((lead, pieces, width))
                pieces, width = [], 0
            lead = piece
            continue
        # Gaps (and, rarely, tokens) may hold spaces: those are the only break opportunities.
        pos = 0
        for m in _SPACE_RUN.finditer(piece):
            if m.start() > pos:
                part = piece[pos : m.start()]
                pieces.append((part, style))
                width += _width(part)
            if pieces:
                units.append((lead, pieces, width))
                pieces, width = [], 0
            lead = m.group()
            pos = m.end()
        if pos < len(piece):
            part = piece[pos:]
            pieces.append((part, style))
            width += _width(part)
    if pieces:
        units.append((lead, pieces, width))
    return units


def _split(part: str, room: int) -> tuple[str, str]:
    """Split ``part`` so that the head fits ``room`` columns (at least one character)."""
    used = 0
    for k, ch in enumerate(part):
        used += _width(ch)
        if used > room:
            return (part[:k], part[k:]) if k else (part[:1], part[1:])
    return part, ""


def _wrap(units: list[tuple[str, list[tuple[str, str]], int]], room: int) -> list[list[str]]:
    """Greedy line filling; a unit wider than a whole line is broken between characters."""
    lines: list[list[str]] = []
    line: list[str] = []
    used = 0
    for lead, pieces, width in units:
        lead_width = _width(lead)
        if used and used + lead_width + width > room:
            lines.append(line)
            line, used = [], 0
        if used:
            line.append(lead)
            used += lead_width
        if used + width <= room:
            for part, style in pieces:
                line.append(f"{style}{part}{_RESET}" if style else part)
            used += width
            continue
        for part, style in pieces:  # only a unit longer than a whole line gets here
            rest = part
            while rest:
                if used >= room:
                    lines.append(line)
                    line, used = [], 0
                head, rest = _split(rest, room - used)
                line.append(f"{style}{head}{_RESET}" if style else head)
                used += _width(head)
    if line or not lines:
        lines.append(line)
    return lines


_HARD_BREAK = re.compile(r"<br\s*/?\s*>|[\r\n]", re.IGNORECASE)


def terminal_safe(text: str) -> str:
    """``text`` with control characters (C0, C1, ESC, BEL) and bidirectional overrides replaced:
    whitespace controls by a space, the others by U+FFFD. For any file-borne string on a terminal."""
    return text if text.isprintable() else text.translate(_SANITIZE)


def json_for_terminal(value: object) -> str:
    """``json.dumps(value, ensure_ascii=False)`` with C1 controls and bidi overrides escaped as
    ``\\uXXXX``: the same JSON value, but nothing in it can steer the terminal that shows it."""
    return json.dumps(value, ensure_ascii=False).translate(_JSON_ESCAPES)


def render_terminal(analysis: Analysis, color: bool = True, width: int = 100) -> str:
    """Render ``analysis`` as text for a terminal.

    Parameters
    ----------
    analysis
        The prediction and attention weights to show.
    color
        True: words get 24-bit ANSI background colours by their weight within the sentence and
        unknown words are underlined. False: no escape codes at all; the heaviest word of each
        sentence is put in ``[brackets]`` instead.
    width
        Columns to wrap at (the text column is at least 20 columns wide whatever ``width`` says).

    Returns
    -------
    str
        A header line with the prediction and every class probability, one block per sentence led by
        a bar of its sentence weight (full for the heaviest sentence), and a legend line. No trailing
        newline.
    """
    text = analysis.text
    probs = ", ".join(f"{name} {p:.3f}" for name, p in _probabilities(analysis))
    out: list[str] = [f"prediction: {analysis.label}  ({probs})".translate(_SANITIZE), ""]
    room = max(width - _GUTTER, _MIN_TEXT_WIDTH)
    sentences = analysis.sentences
    top = _max(s.weight for s in sentences)
    previous_end = None
    for s in sentences:
        # Keep paragraph structure: an empty line where the text has a line break between sentences.
        if previous_end is not None and _HARD_BREAK.search(text, previous_end, max(s.start, previous_end)):
            out.append("")
        previous_end = s.end
        bar = _bar(s.weight, top)
        if color:
            bar = f"{_BAR_STYLE}{bar}{_RESET}"
        lead = f"{bar} {min(max(s.weight, 0.0), 9.999):.3f} │ "
        for k, line in enumerate(_wrap(_units(text, s, color), room)):
            out.append((lead if k == 0 else _CONTINUATION) + "".join(line))
    out.append("")
    out.append(_legend_terminal(analysis, color))
    return "\n".join(out)


def _legend_terminal(analysis: Analysis, color: bool) -> str:
    unknown = analysis.unknown_words
    if not color:
        return f"bar: sentence weight · [word]: heaviest word of its sentence · unknown words: {unknown}"
    swatch = "".join(f"{_STYLES[round(k * (_LEVELS - 1) / 7)]} {_RESET}" for k in range(8))
    return (
        f"{_DIM}bar: sentence weight · colour: word weight in its sentence, 0{_RESET} {swatch} "
        f"{_DIM}max · {_RESET}{_UNDERLINE}underlined{_RESET}{_DIM}: unknown ({unknown}){_RESET}"
    )


# --------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------

_WORD_RGB = (234, 88, 12)  # orange; shown with alpha = relative weight × _WORD_ALPHA over white
_WORD_ALPHA = 0.85
_SENTENCE_RGB = (37, 99, 235)  # blue strip on the left of each sentence
_BR = re.compile(r"<br\s*/?\s*>", re.IGNORECASE)
# Characters that are not allowed in HTML text (controls other than tab, newline, carriage return).
_HTML_SANITIZE = dict.fromkeys([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)], "\ufffd")
_HTML_SPECIAL = re.compile("[&<>\"']")
_BEST = ' class="best"'
_WORD_BACKGROUNDS = [
    f"rgba({_WORD_RGB[0]}, {_WORD_RGB[1]}, {_WORD_RGB[2]}, {k / (_LEVELS - 1) * _WORD_ALPHA:.3f})"
    for k in range(_LEVELS)
]

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: #1f2328;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
main { max-width: 62rem; margin: 0 auto; padding: 1.25rem 1.5rem 2.5rem; }
h1 { font-size: 1.15rem; margin: 0 0 .75rem; color: #57606a; font-weight: 600; }
h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; color: #57606a; margin: 0 0 .5rem; }
.card { background: #fff; border: 1px solid #d8dee4; border-radius: 8px; padding: .9rem 1.1rem;
  margin-bottom: 1rem; }
.top { display: flex; flex-wrap: wrap; gap: 1rem 2.5rem; align-items: flex-start; }
.prediction .label { font-size: 1.6rem; font-weight: 700; margin: 0; line-height: 1.2; }
.prediction .conf { color: #57606a; margin: .15rem 0 0; }
table.probs { border-collapse: collapse; }
table.probs th { text-align: left; font-weight: 500; padding: .1rem .75rem .1rem 0; white-space: nowrap; }
table.probs td { padding: .1rem 0; }
table.probs td.num { padding-left: .75rem; font-variant-numeric: tabular-nums; text-align: right; }
table.probs tr.best th { font-weight: 700; }
.meter { width: 14rem; height: .7rem; background: #eaeef2; border-radius: 4px; overflow: hidden; }
.meter span { display: block; height: 100%; background: #8c959f; }
tr.best .meter span { background: #2563eb; }
.stats { color: #57606a; font-size: .85rem; margin: 0; flex-basis: 100%; }
.legend { display: flex; flex-wrap: wrap; gap: .5rem 2rem; align-items: center; font-size: .85rem; }
.legend .item { display: flex; align-items: center; gap: .45rem; }
.scale { display: inline-block; width: 11rem; height: .9rem; border: 1px solid #d0d7de; border-radius: 3px;
  background: linear-gradient(to right, rgba(234, 88, 12, 0), rgba(234, 88, 12, 0.85)); }
.strip { display: inline-block; width: 4px; height: 1.1rem; border-radius: 1px; }
.legend .note { color: #57606a; flex-basis: 100%; margin: .2rem 0 0; }
.review { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 1.05rem; line-height: 1.9; }
.sentence { border-left: 4px solid transparent; padding-left: 3px; margin-left: 1px; }
.word { border-radius: 3px; padding: .1em 0; }
.word[data-unknown], .unk-sample { text-decoration: underline dotted #57606a; text-underline-offset: 3px; }
details summary { cursor: pointer; color: #57606a; font-size: .85rem; }
table.sentences { border-collapse: collapse; margin-top: .5rem; font-size: .85rem; width: 100%; }
table.sentences td { padding: .15rem .5rem .15rem 0; vertical-align: top; }
table.sentences td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
table.sentences .meter { width: 6rem; margin-top: .3rem; }
table.sentences .meter span { background: #2563eb; }
"""


def _word_style(
    w: float, sw: float, top_word: float, top_product: float, mode: str, colormap: str | None
) -> str:
    """The inline style of one word: its background by weight (and text colour on a dark map)."""
    if mode == "product":
        t = w * sw / top_product if top_product > 0.0 and w > 0.0 and sw > 0.0 else 0.0
    else:
        t = w / top_word if top_word > 0.0 and w > 0.0 else 0.0
    if colormap is None:
        level = _level(w, top_word) if mode == "word" else round(min(t, 1.0) * (_LEVELS - 1))
        return f"background: {_WORD_BACKGROUNDS[level]}"
    rgb = color(colormap, t)
    return f"background: {hex_color(rgb)}; color: {hex_color(text_color(rgb))}"


def _legend_scale(mode: str, colormap: str | None, top_product: float) -> str:
    high = "max in sentence" if mode == "word" else f"{top_product:.4f} (max)"
    label = "word weight" if mode == "word" else "word × sentence weight"
    style = ""
    if colormap is not None:
        stops = ", ".join(hex_color(color(colormap, k / 8)) for k in range(9))
        style = f' style="background: linear-gradient(to right, {stops})"'
    return (
        f'<span class="item"><span>{label}: 0</span><span class="scale"{style}></span>'
        f"<span>{high}</span></span>"
    )


def _legend_note(mode: str) -> str:
    if mode == "product":
        return (
            '<p class="note">A word\'s shading is its attention weight within its sentence times its '
            "sentence's weight, scaled so that the heaviest such product in the review is darkest; a "
            "sentence's left strip is its attention weight in the document, scaled to the heaviest "
            "sentence. Hover a word for its exact weights.</p>"
        )
    return (
        '<p class="note">A word\'s shading is its attention weight <em>within its sentence</em>, '
        "scaled so that the sentence's heaviest word is darkest; a sentence's left strip is its "
        "attention weight in "
        "the document, scaled to the heaviest sentence. Hover a word for its exact weights.</p>"
    )


def _esc(s: str) -> str:
    if not s.isprintable():
        s = s.translate(_HTML_SANITIZE)
    return html.escape(s, quote=True) if _HTML_SPECIAL.search(s) else s


def _gap(s: str) -> str:
    """Text between tokens: ``<br />`` tags become line breaks, then everything is escaped."""
    return _esc(_BR.sub("\n", s)) if "<" in s else _esc(s)


def render_html(
    analysis: Analysis,
    title: str = "HAN Explorer",
    mode: str = "word",
    colormap: str | None = None,
    provenance: Provenance | None = None,
) -> str:
    """Render ``analysis`` as one self-contained HTML5 page (inline CSS, no scripts, no external URLs).

    Every sentence is a ``<span class="sentence" data-weight="...">`` with a blue strip whose opacity
    is its weight relative to the heaviest sentence; every word is a ``<span class="word">`` whose
    orange background opacity is its weight relative to the heaviest word of its sentence and whose
    ``title`` gives the word, sentence and product weights to four decimals. Unknown words carry
    ``data-unknown`` and a dotted underline. Text between tokens is kept, with ``<br />`` tags shown
    as line breaks; all text is HTML-escaped.

    ``mode="product"`` shades each word by word weight × sentence weight, scaled to the heaviest
    product in the review (the paper's drawing) instead. ``colormap`` names a map of
    :mod:`app.colormaps` (the attention view's); by default the orange ramp above is used.
    ``provenance`` (:mod:`app.provenance`) ends the page with the model and program that made it.
    """
    if mode not in ("word", "product"):
        raise ValueError(f"unknown shading mode {mode!r}; use word or product")
    if colormap is not None and colormap not in COLORMAPS:
        raise ValueError(f"unknown colour map {colormap!r}; choose one of {', '.join(COLORMAPS)}")
    text = analysis.text
    sentences = analysis.sentences
    top_sentence = _max(s.weight for s in sentences)
    top_product = _max(w.weight * s.weight for s in sentences for w in s.words)
    body: list[str] = []
    rows: list[str] = []
    pos = 0
    for n, s in enumerate(sentences, 1):
        a = min(max(s.start, pos), len(text))
        b = min(max(s.end, a), len(text))
        if a > pos:
            body.append(_gap(text[pos:a]))
        rel = s.weight / top_sentence if top_sentence > 0.0 and s.weight > 0.0 else 0.0
        border = f"rgba({_SENTENCE_RGB[0]}, {_SENTENCE_RGB[1]}, {_SENTENCE_RGB[2]}, {0.12 + 0.88 * rel:.3f})"
        body.append(
            f'<span class="sentence" data-weight="{s.weight:.4f}" style="border-left-color: {border}">'
        )
        words = s.words
        top_word = _max(w.weight for w in words)
        sentence_weight = f"{s.weight:.4f}"
        for piece, i in _pieces(text, a, b, words):
            if i < 0:
                body.append(_gap(piece))
                continue
            w = words[i]
            tip = f"word {w.weight:.4f} · sentence {sentence_weight} · product {w.weight * s.weight:.4f}"
            unknown_attr = "" if w.known else " data-unknown"
            if not w.known:
                tip += " · unknown word"
            style = _word_style(w.weight, s.weight, top_word, top_product, mode, colormap)
            body.append(
                f'<span class="word"{unknown_attr} style="{style}" title="{tip}">{_esc(piece)}</span>'
            )
        body.append("</span>")
        pos = b
        snippet = " ".join(text[a:b].split())
        if len(snippet) > 90:
            snippet = snippet[:89] + "…"
        rows.append(
            f'<tr><td class="num">{n}</td><td class="num">{s.weight:.4f}</td>'
            f'<td><div class="meter"><span style="width: {rel * 100:.1f}%"></span></div></td>'
            f"<td>{_esc(snippet)}</td></tr>"
        )
    if pos < len(text):
        body.append(_gap(text[pos:]))

    probs = _probabilities(analysis)
    prob_rows = "\n".join(
        f'<tr{_BEST if name == analysis.label else ""}><th scope="row">{_esc(name)}</th>'
        f'<td><div class="meter"><span style="width: {min(max(p, 0.0), 1.0) * 100:.1f}%"></span></div></td>'
        f'<td class="num">{p:.4f}</td></tr>'
        for name, p in probs
    )
    confidence = analysis.probabilities.get(analysis.label)
    conf = f"probability {confidence:.4f}" if confidence is not None else ""
    n_words, unknown = analysis.n_words, analysis.unknown_words
    stats = (
        f"{len(sentences)} sentence{'s' * (len(sentences) != 1)} · {n_words} word{'s' * (n_words != 1)}"
        f" · {unknown} unknown to the vocabulary"
    )
    t = _esc(title)
    open_ = " open" if len(sentences) <= 20 else ""  # the sentence table starts unfolded for short reviews
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{t}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{t}</h1>",
        '<section class="card top">',
        '<div class="prediction"><h2>Prediction</h2>',
        f'<p class="label">{_esc(analysis.label)}</p><p class="conf">{conf}</p></div>',
        f'<div><h2>Class probabilities</h2><table class="probs">\n{prob_rows}\n</table></div>',
        f'<p class="stats">{stats}</p>',
        "</section>",
        '<section class="card legend">',
        _legend_scale(mode, colormap, top_product),
        '<span class="item"><span class="strip" style="background: rgba(37, 99, 235, 0.12)"></span>'
        '<span>sentence weight: low</span><span class="strip" style="background: rgba(37, 99, 235, 1)">'
        "</span><span>heaviest</span></span>",
        '<span class="item"><span class="unk-sample">dotted</span><span>= unknown word</span></span>',
        _legend_note(mode),
        "</section>",
        f'<section class="card"><h2>Review</h2><div class="review">{"".join(body)}</div></section>',
        f'<section class="card"><details{open_}><summary>Sentence weights ({len(sentences)})</summary>'
        f'<table class="sentences">\n{"".join(rows)}\n</table></details></section>',
        provenance.html() if provenance is not None else "",
        "</main>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(p for p in parts if p)
