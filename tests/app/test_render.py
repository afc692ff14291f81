"""Terminal and HTML views of an Analysis built by hand (no model needed)."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

import pytest

from app.render import render_html, render_terminal
from engine.analyze import Analysis, SentenceWeight, WordWeight

# --------------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------------

REVIEW = (
    'A <script>alert("x")</script> & "great" film, honestly one of the most moving stories I have '
    "seen in years!<br /><br />I loved it 😀 so much. Zorblax\n   was odd, but the ending — wow."
)
# (sentence weight, [(token, raw word weight, known)]); word weights are normalized per sentence.
SPEC = [
    (
        0.5,
        [
            ("A", 1, True),
            ("<script>alert", 1, False),
            ("(", 1, True),
            ('"x"', 1, True),
            (")", 1, True),
            ("</script>", 1, True),
            ("&", 1, True),
            ("great", 9, True),
            ("film", 3, True),
            (",", 1, True),
            ("honestly", 2, True),
            ("one", 1, True),
            ("of", 1, True),
            ("the", 1, True),
            ("most", 2, True),
            ("moving", 7, True),
            ("stories", 2, True),
            ("I", 1, True),
            ("have", 1, True),
            ("seen", 1, True),
            ("in", 1, True),
            ("years", 1, True),
            ("!", 0.5, True),
        ],
    ),
    (
        0.35,
        [
            ("I", 1, True),
            ("loved", 8, True),
            ("it", 1, True),
            ("😀", 4, True),
            ("so", 1, True),
            ("much", 2, True),
            (".", 0.5, True),
        ],
    ),
    (
        0.15,
        [
            ("Zorblax", 3, False),
            ("was", 1, True),
            ("odd", 4, True),
            (",", 1, True),
            ("but", 2, True),
            ("the", 1, True),
            ("ending", 3, True),
            ("—", 1, True),
            ("wow", 6, True),
            (".", 0.5, True),
        ],
    ),
]


def build(text: str, spec, probabilities: dict[str, float], label: str) -> Analysis:
    """An Analysis whose spans are found by searching the tokens in order."""
    pos = 0
    sentences = []
    for sentence_weight, tokens in spec:
        total = sum(weight for _, weight, _ in tokens)
        words = []
        for token, weight, known in tokens:
            start = text.index(token, pos)
            pos = start + len(token)
            words.append(WordWeight(token, start, pos, weight / total, known))
        start, end = words[0].start, words[-1].end
        sentences.append(SentenceWeight(text[start:end], start, end, sentence_weight, tuple(words)))
    return Analysis(text, label, probabilities, tuple(sentences))


@pytest.fixture
def analysis() -> Analysis:
    return build(REVIEW, SPEC, {"neg": 0.069, "pos": 0.931}, "pos")


def synthetic(n_words: int, per_sentence: int = 20) -> Analysis:
    """``n_words`` words in sentences of ``per_sentence``, with ``<br />`` gaps and some unknown words."""
    parts: list[str] = []
    sentences = []
    pos = 0
    n_sentences = n_words // per_sentence
    norm = per_sentence * (per_sentence + 1) / 2
    for i in range(n_sentences):
        words = []
        for j in range(per_sentence):
            if j:
                parts.append(" ")
                pos += 1
            token = f"w{(i * per_sentence + j) % 997}"
            words.append(WordWeight(token, pos, pos + len(token), (j + 1) / norm, j % 7 != 0))
            parts.append(token)
            pos += len(token)
        start, end = words[0].start, words[-1].end
        sentences.append(SentenceWeight("", start, end, 1 / n_sentences, tuple(words)))
        gap = ". <br /><br />" if i % 5 == 4 else ". "
        parts.append(gap)
        pos += len(gap)
    return Analysis("".join(parts), "pos", {"pos": 0.6, "neg": 0.4}, tuple(sentences))


def all_words(a: Analysis) -> list[WordWeight]:
    return [w for s in a.sentences for w in s.words]


ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def display_width(line: str) -> int:
    line = ESCAPE.sub("", line)
    return sum(
        0
        if unicodedata.category(c) in ("Mn", "Me", "Cf")
        else 2
        if unicodedata.east_asian_width(c) in ("W", "F")
        else 1
        for c in line
    )


def luminance(rgb: tuple[int, int, int]) -> float:
    def lin(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2])


BAR = re.compile(r"^([█▏▎▍▌▋▊▉ ]{10}) (\d\.\d{3}) │ ")
EIGHTHS = {"▏": 1, "▎": 2, "▍": 3, "▌": 4, "▋": 5, "▊": 6, "▉": 7, "█": 8, " ": 0}


# --------------------------------------------------------------------------------------------------
# Terminal
# --------------------------------------------------------------------------------------------------


def test_terminal_plain_has_no_escapes_and_shows_every_word(analysis: Analysis) -> None:
    out = render_terminal(analysis, color=False)
    assert "\x1b" not in out
    assert out.splitlines()[0] == "prediction: pos  (pos 0.931, neg 0.069)"
    for w in all_words(analysis):
        assert w.text in out
    assert "unknown words: 2" in out.splitlines()[-1]
    assert not out.endswith("\n")


def test_terminal_plain_brackets_the_heaviest_word_of_each_sentence(analysis: Analysis) -> None:
    out = render_terminal(analysis, color=False)
    assert '"[great]" film' in out  # original spacing and untokenized quotes kept
    assert "I [loved] it 😀 so much." in out
    assert "ending — [wow]." in out
    body = out.splitlines()[2:-2]
    assert sum(line.count("[") for line in body) == 3


def test_terminal_sentences_are_blocks_and_newlines_collapse(analysis: Analysis) -> None:
    lines = render_terminal(analysis, color=False).splitlines()
    firsts = [i for i, line in enumerate(lines) if BAR.match(line)]
    assert len(firsts) == 3
    assert lines[firsts[0]] == (
        '██████████ 0.500 │ A <script>alert("x")</script> & "[great]" film, honestly one of the most moving'
    )  # 100 columns
    assert lines[firsts[0] + 1] == " " * 17 + "│ stories I have seen in years!"  # under the text column
    assert lines[firsts[1] - 1] == ""  # <br /><br /> between sentences 1 and 2
    assert firsts[2] == firsts[1] + 1  # no break between sentences 2 and 3
    assert lines[firsts[2]].endswith("│ Zorblax was odd, but the ending — [wow].")
    assert "<br" not in "\n".join(lines)


def test_terminal_bars_grow_with_sentence_weight(analysis: Analysis) -> None:
    bars = []
    for line in render_terminal(analysis, color=False).splitlines():
        m = BAR.match(line)
        if m:
            bars.append((float(m.group(2)), sum(EIGHTHS[c] for c in m.group(1))))
    assert [w for w, _ in bars] == [0.5, 0.35, 0.15]
    assert bars[0][1] == 80  # the heaviest sentence fills the bar
    assert bars[0][1] > bars[1][1] > bars[2][1] > 0
    assert bars[1][1] == round(0.35 / 0.5 * 80)


def test_terminal_color_wraps_every_word_in_a_background(analysis: Analysis) -> None:
    out = render_terminal(analysis, color=True)
    pos = 0
    colours: list[list[tuple[int, int, int]]] = []
    for s in analysis.sentences:
        row = []
        for w in s.words:
            pattern = re.compile(
                r"\x1b\[48;2;(\d+);(\d+);(\d+)m((?:\x1b\[[0-9;]*m)*)" + re.escape(w.text) + r"\x1b\[0m"
            )
            m = pattern.search(out, pos)
            assert m is not None, w.text
            pos = m.end()
            assert ("\x1b[4m" in m.group(4)) == (not w.known)  # unknown words are underlined
            row.append((int(m.group(1)), int(m.group(2)), int(m.group(3))))
        colours.append(row)
    for s, row in zip(analysis.sentences, colours, strict=True):
        weights = [w.weight for w in s.words]
        darkest = row[weights.index(max(weights))]
        lightest = row[weights.index(min(weights))]
        assert luminance(darkest) < luminance(lightest)
    # Text between words is not coloured: the quotes around "great" follow a reset directly.
    assert '\x1b[0m "\x1b[48;2;' in out


def test_terminal_wraps_to_width(analysis: Analysis) -> None:
    long = build(
        "word " * 150 + "x" * 130 + " end.",
        [(1.0, [("word", 1, True)] * 150 + [("x" * 130, 2, True), ("end", 1, True), (".", 1, True)])],
        {"a": 1.0},
        "a",
    )
    for a in (analysis, long):
        for color in (True, False):
            lines = render_terminal(a, color=color, width=60).splitlines()
            body = [line for line in lines[2:-2] if line]
            assert all(display_width(line) <= 60 for line in body), color
            assert all(BAR.match(ESCAPE.sub("", line)) or line.startswith(" " * 17 + "│ ") for line in body)
            joined = "".join(ESCAPE.sub("", line)[19:] for line in body)
            assert ("x" * 130 in joined) == (a is long)


def test_terminal_never_passes_control_characters() -> None:
    text = "evil\x1b[31m word\x07 here."
    a = build(
        text,
        [(1.0, [("evil\x1b[31m", 1, True), ("word\x07", 1, True), ("here", 1, True), (".", 1, True)])],
        {"a": 1.0},
        "a",
    )
    out = render_terminal(a, color=False)
    assert "\x1b" not in out and "\x07" not in out
    assert "evil\ufffd[31m" in out


def test_terminal_empty_analysis() -> None:
    out = render_terminal(Analysis("", "a", {"a": 1.0}, ()), color=True)
    assert out.startswith("prediction: a  (a 1.000)")


# --------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    """Collects word spans, sentence spans, URLs and the review text; asserts tags are balanced."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.words: list[str] = []
        self.titles: list[str | None] = []
        self.unknown: list[bool] = []
        self.sentence_weights: list[str | None] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self.review: list[str] = []
        self._word: list[str] | None = None
        self._review_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.add(tag)
        if tag not in VOID:
            self.stack.append(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "action", "srcset", "data")]
        classes = (a.get("class") or "").split()
        if tag == "span" and "word" in classes:
            assert self._word is None, "nested word span"
            self._word = []
            self.titles.append(a.get("title"))
            self.unknown.append("data-unknown" in a)
        if tag == "span" and "sentence" in classes:
            self.sentence_weights.append(a.get("data-weight"))
        if tag == "div" and "review" in classes:
            self._review_depth = len(self.stack)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        if self._review_depth == len(self.stack):
            self._review_depth = 0
        self.stack.pop()
        if tag == "span" and self._word is not None:
            self.words.append("".join(self._word))
            self._word = None

    def handle_data(self, data: str) -> None:
        if self._word is not None:
            self._word.append(data)
        if self._review_depth:
            self.review.append(data)


def parse(page: str) -> Page:
    p = Page()
    p.feed(page)
    p.close()
    assert p.stack == [], p.stack
    return p


def test_html_is_a_complete_page(analysis: Analysis) -> None:
    page = render_html(analysis)
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    assert "white-space: pre-wrap" in page
    p = parse(page)
    assert {"html", "head", "body", "style", "title"} <= p.tags
    assert "script" not in p.tags and "link" not in p.tags and "img" not in p.tags
    assert p.urls == []
    assert "http" not in page and "://" not in page and "url(" not in page


def test_html_has_one_span_per_word_with_weights(analysis: Analysis) -> None:
    page = render_html(analysis)
    p = parse(page)
    words = all_words(analysis)
    assert page.count('class="word"') == len(words)
    assert p.words == [w.text for w in words]
    expected = [
        f"word {w.weight:.4f} · sentence {s.weight:.4f} · product {w.weight * s.weight:.4f}"
        for s in analysis.sentences
        for w in s.words
    ]
    assert [t.split(" · unknown")[0] for t in p.titles] == expected
    assert p.unknown == [not w.known for w in words]
    assert p.sentence_weights == ["0.5000", "0.3500", "0.1500"]
    assert re.search(r'<span class="word" style="background: rgba\(\d+, \d+, \d+, 0\.\d{3}\)" title=', page)


def test_html_escapes_review_text_and_keeps_spacing(analysis: Analysis) -> None:
    page = render_html(analysis)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert" in page and "&amp;" in page
    assert "&lt;br" not in page and "<br" not in page  # <br /> became a line break
    review = "".join(parse(page).review)
    expected = REVIEW.replace("<br /><br />", "\n\n")
    assert review == expected  # every character between tokens kept
    assert "😀" in review and "Zorblax\n   was" in review


def test_html_shows_prediction_probabilities_and_legend(analysis: Analysis) -> None:
    page = render_html(analysis, title='Review <1> & "co"')
    assert "<title>Review &lt;1&gt; &amp; &quot;co&quot;</title>" in page
    assert "0.9310" in page and "0.0690" in page
    assert page.index(">pos</th>") < page.index(">neg</th>")  # most probable first
    assert 'legend">' in page and "within its sentence" in page
    assert "max in sentence" in page


def test_html_empty_analysis() -> None:
    p = parse(render_html(Analysis("", "a", {"a": 1.0}, ())))
    assert p.words == []


# --------------------------------------------------------------------------------------------------
# Long reviews (their render times are in bench/bench_predict.py, not here)
# --------------------------------------------------------------------------------------------------


def test_a_2000_word_review_renders_every_word() -> None:
    a = synthetic(2000)
    assert a.n_words == 2000
    for out in (render_terminal(a, color=True), render_terminal(a, color=False), render_html(a)):
        assert set(re.findall(r"\bw\d+\b", ESCAPE.sub("", out))) == {f"w{k}" for k in range(997)}


@pytest.mark.slow
def test_a_200000_word_document_renders() -> None:
    a = synthetic(200_000)
    assert a.n_words == 200_000
    for render in (
        lambda: render_terminal(a, color=True),
        lambda: render_terminal(a, color=False),
        lambda: render_html(a),
    ):
        out = render()
        assert "w996" in out
