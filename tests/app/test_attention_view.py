"""The Attention explorer, driven like a user would (pytest-qt, offscreen)."""

from __future__ import annotations

import html.parser
import itertools
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QPoint, QSettings, Qt, QUrl
from PySide6.QtGui import QGuiApplication, QImage

from app.colormaps import COLORMAPS, color
from engine.analyze import analyze
from resources import sample_texts
from tests.app.latency import EventLoopLatency

TIMEOUT = 20_000


def review(n_words: int) -> str:
    """A review of at least ``n_words`` words, made of our sample texts, paragraph by paragraph."""
    parts = [p.read_text(encoding="utf-8").strip() for p in sample_texts().values()]
    out, n, i = [], 0, 0
    while n < n_words:
        out.append(parts[i % len(parts)])
        n += len(parts[i % len(parts)].split())
        i += 1
    return "\n\n".join(out)


def shaded_chars(editor: Any) -> dict[int, tuple[int, int, int]]:
    """Character position -> background colour, read back from the document's layout."""
    out = {}
    for a, b, q in editor.shaded_words():
        for i in range(a, b):
            out[i] = (q.red(), q.green(), q.blue())
    return out


def type_and_wait(qtbot: Any, controller: Any, text: str) -> None:
    with qtbot.waitSignal(controller.display_applied, timeout=TIMEOUT):
        controller.view.set_text(text)


def paste(qtbot: Any, controller: Any, text: str) -> None:
    editor = controller.view.editor
    editor.selectAll()
    QGuiApplication.clipboard().setText(text)
    with qtbot.waitSignal(controller.display_applied, timeout=TIMEOUT):
        editor.paste()


def test_pasting_shades_exactly_the_engines_words(qtbot: Any, window: Any, shipped_bundle: Any) -> None:
    c = window.attention
    text = "A slow start.  Then   a wonderful, moving finale!\n\nI loved the xqzzyv soundtrack."
    paste(qtbot, c, text)
    expected = analyze(shipped_bundle, text)
    # colour = the map at the word's weight relative to the heaviest product in the review (default mode)
    products = np.array([w.weight * s.weight for s in expected.sentences for w in s.words])
    want: dict[int, tuple[int, int, int]] = {}
    for w, p in zip([w for s in expected.sentences for w in s.words], products, strict=True):
        for i in range(w.start, w.end):
            want[i] = color(c.view.colormap, round(p / products.max() * 255) / 255)
    assert shaded_chars(c.view.editor) == want  # every word character, and nothing between words
    assert c.view.text() == text  # the text itself is untouched: spacing, blank lines
    assert c.view.label.text() == expected.label
    probs = dict(c.view.probabilities.probabilities)
    assert probs == pytest.approx(expected.probabilities, abs=1e-12)


def test_word_mode_scales_within_each_sentence(qtbot: Any, window: Any, shipped_bundle: Any) -> None:
    c = window.attention
    text = "Dreadful. The acting was fine but the story was thin."
    type_and_wait(qtbot, c, text)
    c.view.mode_box.setCurrentIndex(c.view.mode_box.findData("word"))
    expected = analyze(shipped_bundle, text)
    want = {}
    for s in expected.sentences:
        top = max(w.weight for w in s.words)
        for w in s.words:
            for i in range(w.start, w.end):
                want[i] = color(c.view.colormap, round(w.weight / top * 255) / 255)
    got = shaded_chars(c.view.editor)
    assert got == want
    assert got[0] == color(c.view.colormap, 1.0)  # "Dreadful" is the top word of its sentence
    assert "100%" in c.view.legend.high_label


def test_hover_gives_the_exact_weights(qtbot: Any, window: Any, shipped_bundle: Any) -> None:
    c = window.attention
    text = "The soundtrack is gorgeous. The plot is a mess."
    type_and_wait(qtbot, c, text)
    expected = analyze(shipped_bundle, text)
    ed = c.view.editor
    for s in expected.sentences:
        for w in s.words:
            r = ed.char_rect(w.start + (w.end - w.start) // 2)
            tip = ed.tooltip_at(QPoint(r.left() + 2, r.center().y()))
            assert f"“{w.text}”" in tip
            assert f"word weight {w.weight:.4f}" in tip
            assert f"sentence weight {s.weight:.4f}" in tip
            assert f"product {w.weight * s.weight:.5f}" in tip
    gap = text.index(" is")  # the space before "is" is no word
    r = ed.char_rect(gap)
    assert ed.tooltip_at(QPoint(r.left() + 1, r.center().y())) == "" or "“is”" not in ed.tooltip_at(
        QPoint(r.left() + 1, r.center().y())
    )


def test_sentence_click_selects_it_here_only(qtbot: Any, window: Any) -> None:
    """A click marks the sentence in this view; no other tab changes and typing goes on where clicked."""
    c = window.attention
    text = "The first sentence is long enough to read.\n\nThe second one is the pick."
    type_and_wait(qtbot, c, text)
    sent: list[str] = []
    window.context.sentence_selected.connect(sent.append)
    gru_text = window.controllers["gru"].view.text()
    strip = c.view.strip
    bars = strip._bars()
    assert [s for s, _ in bars] == [0, 1]
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=bars[1][1].center())
    assert c.view.editor.selected_sentence == 1
    assert "sentence 2 of 2" in c.view.selection_label.text()
    # clicking a word selects its sentence, keeps the focus in the editor and the caret where clicked
    ed = c.view.editor
    ed.setFocus()
    r = ed.char_rect(4)  # inside "first"
    qtbot.mouseClick(ed.viewport(), Qt.MouseButton.LeftButton, pos=r.center())
    assert c.view.editor.selected_sentence == 0
    assert window.current_view == "attention" and sent == []
    assert window.controllers["gru"].view.text() == gru_text
    qtbot.keyClicks(ed, "X")
    assert c.view.text().startswith("The Xfirst") or c.view.text().startswith("The fXirst")
    # the stepper gets the sentence only when asked
    type_and_wait(qtbot, c, text)
    c.select_sentence(1)
    with qtbot.waitSignal(window.context.sentence_selected, timeout=2000) as blocker:
        qtbot.mouseClick(c.view.gru_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["The second one is the pick."]
    assert window.current_view == "gru"


def test_typing_updates_and_stale_results_are_dropped(qtbot: Any, window: Any) -> None:
    c = window.attention
    applied: list[str] = []
    c.display_applied.connect(lambda _g: applied.append(c.display.text))
    long_text = review(5000)
    c.view.set_text(long_text)
    qtbot.waitUntil(lambda: c.jobs.worker("score") is not None, timeout=TIMEOUT)  # being scored
    running = c.jobs.worker("score")
    c.view.editor.moveCursor(c.view.editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(c.view.editor, " Brilliant.")
    final = long_text + " Brilliant."
    try:
        qtbot.waitUntil(
            lambda: c.display is not None and c.display.text == final and not c.busy, timeout=TIMEOUT
        )
    except Exception as e:
        shown = c.display.text[-30:] if c.display else None
        raise AssertionError(f"message: {c.view.message.text()!r}, busy {c.busy}, shown {shown!r}") from e
    assert applied == [final]  # the long review's own result never reached the view
    assert running.abort_requested  # its worker was told to stop at its next stage
    assert c.view.editor.is_fresh


def test_gui_thread_never_blocked_while_a_long_review_is_scored(qtbot: Any, window: Any) -> None:
    """Event-loop latency while 5,000 words are pasted, scored, shaded and scrolled through."""
    c = window.attention
    text = review(5000)
    assert len(text.split()) >= 5000
    latency = EventLoopLatency()
    latency.start()
    qtbot.wait(100)
    c.view.set_text(text)
    qtbot.waitUntil(lambda: c.display is not None and c.display.text == text and not c.busy, timeout=TIMEOUT)
    bar = c.view.editor.verticalScrollBar()
    while bar.value() < bar.maximum():  # a reader scrolling through, page by page
        bar.setValue(bar.value() + bar.pageStep())
        qtbot.wait(15)
    qtbot.wait(100)
    latency.stop()
    assert c.display.n_words >= 5000
    latency.check(min_ticks=30)


def test_empty_and_huge_text_say_so_and_lose_nothing(qtbot: Any, window: Any) -> None:
    from engine.limits import MAX_TEXT_CHARS as MAX_CHARS

    c = window.attention
    type_and_wait(qtbot, c, "   \n ")
    assert c.display is None and c.view.label.text() == "–"
    huge = "word " * (MAX_CHARS // 5 + 10)
    with qtbot.waitSignal(c.request_failed, timeout=TIMEOUT) as blocker:
        c.view.set_text(huge)
    assert "characters" in blocker.args[1] and f"{MAX_CHARS:,}" in c.view.message.text()
    assert c.view.text() == huge  # nothing the user typed is thrown away


def test_unknown_words_are_marked(qtbot: Any, window: Any) -> None:
    c = window.attention
    type_and_wait(qtbot, c, "The zorbflaxian acting was great.")
    i = c.view.editor.word_index_at(5)
    assert not c.display.word_known[i]
    assert "not in the vocabulary" in c.display.describe_word(i)
    assert "1 unknown" in c.view.info.text()


def test_open_and_drop_files(qtbot: Any, window: Any, tmp_path: Path) -> None:
    c = window.attention
    good = tmp_path / "review.txt"
    good.write_text("Dropped in: a fine, funny film.", encoding="utf-8")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(good))])
    with qtbot.waitSignal(c.display_applied, timeout=TIMEOUT):
        c.view.editor.insertFromMimeData(mime)
    assert c.view.text() == "Dropped in: a fine, funny film."
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\x00\x00\x01garbage")
    assert not c.open_file(binary)
    assert "binary" in c.view.message.text()
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    assert not c.open_file(latin)
    assert "UTF-8" in c.view.message.text()
    assert c.view.text() == "Dropped in: a fine, funny film."  # a bad file changes nothing
    window.open_path(str(good))  # dropping on the window works too
    assert c.view.text() == "Dropped in: a fine, funny film."


def test_samples_are_one_click_away(qtbot: Any, window: Any) -> None:
    from PySide6.QtWidgets import QToolButton

    c = window.attention
    buttons = [b for b in c.view.findChildren(QToolButton) if b.text() == "rave"]
    assert buttons
    with qtbot.waitSignal(c.display_applied, timeout=TIMEOUT):
        qtbot.mouseClick(buttons[0], Qt.MouseButton.LeftButton)
    assert c.view.text() == sample_texts()["rave"].read_text(encoding="utf-8")


class _TagCounter(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.words = 0
        self.external = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = dict(attrs)
        if tag == "span" and d.get("class") == "word":
            self.words += 1
        for key in ("src", "href"):
            if d.get(key):
                self.external.append(d[key])


def test_exports_write_valid_files(qtbot: Any, window: Any, tmp_path: Path, shipped_bundle: Any) -> None:
    c = window.attention
    text = "Gorgeous to look at. Empty at heart."
    type_and_wait(qtbot, c, text)
    c.view.colormap_box.setCurrentText("Cividis")
    expected = analyze(shipped_bundle, text)
    page = c.save(tmp_path / "a.html").read_text(encoding="utf-8")
    parser = _TagCounter()
    parser.feed(page)
    assert parser.words == expected.n_words and not parser.external and "<script" not in page
    assert color("Cividis", 1.0) == (0, 32, 77) and "#00204d" in page  # the view's colour map
    data = json.loads((c.save(tmp_path / "a.json")).read_text(encoding="utf-8"))
    assert data["label"] == expected.label
    assert data["view"] == {"mode": "product", "colormap": "Cividis"}
    got = [w["weight"] for s in data["sentences"] for w in s["words"]]
    assert got == pytest.approx([w.weight for s in expected.sentences for w in s.words], abs=1e-12)
    png = c.save(tmp_path / "a.png")
    img = QImage(str(png))
    assert not img.isNull() and img.width() > 200
    with pytest.raises(ValueError, match=r"use \.html"):
        c.save(tmp_path / "a.doc")
    c.copy_html()
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.hasHtml() and 'class="word"' in mime.html() and mime.text() == text
    c.copy_image()
    assert not QGuiApplication.clipboard().image().isNull()


def test_a_failed_export_leaves_the_old_file_whole(
    qtbot: Any, window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exports are written atomically: a full disk mid-write leaves the previous export as it was."""
    import errno
    import os

    c = window.attention
    type_and_wait(qtbot, c, "Gorgeous to look at. Empty at heart.")
    for name in ("a.html", "a.json", "a.png"):
        target = c.save(tmp_path / name)
        before = target.read_bytes()

        def full(*_a: Any, **_k: Any) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "fsync", full)
        type_and_wait(qtbot, c, "A different review now.")
        with pytest.raises(OSError, match="space"):
            c.save(target)
        monkeypatch.undo()
        assert target.read_bytes() == before, name
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left
        type_and_wait(qtbot, c, "Gorgeous to look at. Empty at heart.")


def test_corrupt_model_shows_an_error_and_keeps_the_old_one(qtbot: Any, window: Any, tmp_path: Path) -> None:
    from resources import model_dir

    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(model_dir() / "model.json", bad / "model.json")
    (bad / "model.safetensors").write_bytes(b"\x00" * 100)
    before = window.context.bundle
    c = window.attention
    type_and_wait(qtbot, c, "A fine film.")
    with qtbot.waitSignal(window.context.model_failed, timeout=TIMEOUT):
        window.context.load_model(bad)
    assert "corrupt model.safetensors" in window.last_error
    assert window.context.bundle is before
    type_and_wait(qtbot, c, "Still working: a fine film.")
    assert c.display.label in before.label_names


def test_other_model_is_used_and_remembered(qtbot: Any, window: Any, tmp_path: Path) -> None:
    from engine.bundle import update_metadata
    from resources import model_dir

    other = tmp_path / "other"
    shutil.copytree(model_dir(), other)
    update_metadata(other, test_accuracy=0.5)
    c = window.attention
    type_and_wait(qtbot, c, "A fine film.")
    with qtbot.waitSignal(c.display_applied, timeout=TIMEOUT):
        window.context.load_model(other)
    assert window.context.bundle.path == other
    assert QSettings().value("model/path") == str(other)
    dialog = window.show_model_card()
    rows = dict(dialog.rows)
    assert rows["Vocabulary"] == "30,000 words"
    assert rows["Classes"] == "neg, pos"
    assert rows["Test accuracy"] == "50.00%"
    assert "25,000 rows" in rows["Dataset"]
    dialog.close()


def test_settings_persist(qtbot: Any, shipped_bundle: Any) -> None:
    from app.context import AppContext
    from app.main_window import MainWindow

    w = MainWindow(AppContext(shipped_bundle, QSettings()))
    qtbot.addWidget(w)
    w.resize(700, 500)  # inside the offscreen screen (800 x 600), or restoreGeometry clamps it
    w.show()
    w.attention.view.colormap_box.setCurrentText("Blues")
    w.attention.view.mode_box.setCurrentIndex(w.attention.view.mode_box.findData("word"))
    w.close()
    w2 = MainWindow(AppContext(shipped_bundle, QSettings()))
    qtbot.addWidget(w2)
    assert w2.attention.view.colormap == "Blues"
    assert w2.attention.view.mode == "word"
    assert (w2.width(), w2.height()) == (700, 500)
    w2.close()


def test_colour_maps_are_monotonic_in_lightness() -> None:
    """Read by lightness alone, every map orders weights correctly (what colour-blind readers see)."""
    from app.colormaps import luminance

    for name in COLORMAPS:
        lum = [luminance(color(name, t / 32)) for t in range(33)]
        assert all(a >= b for a, b in itertools.pairwise(lum)), name


def _lab(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """CIELAB (D65) of an sRGB colour."""

    def lin(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb)
    xyz = (
        (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.9505,
        0.2126 * r + 0.7152 * g + 0.0722 * b,
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.089,
    )
    fx, fy, fz = (t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


@pytest.mark.parametrize("name", list(COLORMAPS))
def test_low_weights_read_as_background(name: str) -> None:
    """A word's colour departs from the white page in step with its weight, in every map: a word at
    10% of the top weight must not look highlighted (unfaded cividis was bright yellow there)."""
    white = _lab((255, 255, 255))

    def distance(t: float) -> float:
        return math.dist(white, _lab(color(name, t)))

    full = distance(1.0)
    for t in (0.05, 0.1, 0.2, 0.3, 0.5):
        assert distance(t) <= (t + 0.2) * full, (name, t, distance(t) / full)


def test_shift_spans_follows_edits() -> None:
    from app.widgets._attention_text import shift_spans

    text = "good bad ugly"
    s, e = np.array([0, 5, 9]), np.array([4, 8, 13])
    # insert "very " before "bad"
    s2, e2 = shift_spans(s, e, 5, 0, 5)
    new = "good very bad ugly"
    assert [new[a:b] for a, b in zip(s2, e2, strict=True)] == ["good", "bad", "ugly"]
    # type inside "bad": "baad"
    s3, e3 = shift_spans(s, e, 6, 0, 1)
    assert [("good baad ugly")[a:b] for a, b in zip(s3, e3, strict=True)] == ["good", "baad", "ugly"]
    # delete "bad " entirely
    s4, e4 = shift_spans(s, e, 5, 4, 0)
    new = "good ugly"
    assert [new[a:b] for a, b in zip(s4, e4, strict=True)] == ["good", "", "ugly"]
    # typing right after a word does not grow it
    s5, e5 = shift_spans(s, e, 4, 0, 1)
    assert [("good! bad ugly")[a:b] for a, b in zip(s5, e5, strict=True)] == ["good", "bad", "ugly"]
    assert text  # the original is a plain string; nothing was mutated


def test_a_runtime_error_in_scoring_clears_scoring_and_says_why(
    qtbot: Any, window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (issue 13): superqt swallowed a RuntimeError ending the worker; the view stayed on
    "Scoring…" for ever with the previous review's weights on screen."""
    import engine.analyze

    c = window.attention
    type_and_wait(qtbot, c, "A fine film. The end drags.")
    assert c.display is not None

    def broken(bundle: Any, text: str) -> Any:
        yield "tokenized"
        raise RuntimeError("CUDA error: an illegal memory access was encountered\nmore detail")

    monkeypatch.setattr(engine.analyze, "analyze_steps", broken)
    with qtbot.waitSignal(c.request_failed, timeout=TIMEOUT) as blocker:
        c.view.set_text("Another review entirely.")
    assert blocker.args[1] == "unexpected error: CUDA error: an illegal memory access was encountered"
    qtbot.waitUntil(lambda: not c.busy, timeout=TIMEOUT)
    assert "Scoring" not in c.view.message.text() and "illegal memory access" in c.view.message.text()
    assert c.display is None and c.view.label.text() == "–"  # no weights of the older text


def test_sentence_bars_follow_scrolling_edits_and_resizes(qtbot: Any, window: Any) -> None:
    """The strip keeps its bars between repaints, but never a stale one: each answer equals a fresh
    measure after a scroll, an edit above the sentences, a new analysis and a narrower editor."""
    c = window.attention
    strip, ed = c.view.strip, c.view.editor
    text = "\n\n".join(f"Sentence number {k} says the film is fine and the music is loud." for k in range(40))
    type_and_wait(qtbot, c, text)

    def fresh() -> list[tuple[int, Any]]:
        strip._bars_key = None
        return strip._bars()

    first = strip._bars()
    assert first and first == fresh() and strip._bars() is not strip._bars_cache  # a copy, kept
    ed.verticalScrollBar().setValue(ed.verticalScrollBar().value() + 5)
    scrolled = strip._bars()
    assert scrolled == fresh() and scrolled != first
    ed.verticalScrollBar().setValue(0)
    assert strip._bars() == first
    cursor = ed.textCursor()
    cursor.setPosition(0)
    cursor.insertText("\n\n\n")  # every sentence moves down three lines, before any new analysis
    moved = strip._bars()
    assert moved == fresh() and [r.top() for _, r in moved] != [r.top() for _, r in first]
    type_and_wait(qtbot, c, "Short one. " * 30)
    again = strip._bars()
    assert again == fresh() and len(again) != len(moved)
    window.resize(window.width() - 300, window.height())  # lines wrap anew
    qtbot.wait(50)
    assert strip._bars() == fresh()
