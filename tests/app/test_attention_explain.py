"""The Attention explorer's explanations: signed attributions beside attention, side by side, and
counterfactual edits with a pinned result (pytest-qt, offscreen, the shipped model)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, Qt

from app.colormaps import diverging_color
from engine.analyze import analyze
from engine.explain import analyze_edited, explain
from resources import sample_texts
from tests.app.test_attention_view import TIMEOUT, shaded_chars, type_and_wait

TRICKY = sample_texts()["negations"].read_text(encoding="utf-8")
SHORT = "It was not bad at all. The ending isn't great, but I loved it."


def wait_explained(qtbot: Any, c: Any, method: str) -> None:
    qtbot.waitUntil(lambda: method in c.explained and not c.busy, timeout=60_000)


def choose_mode(c: Any, mode: str) -> None:
    box = c.view.mode_box
    box.setCurrentIndex(box.findData(mode))  # as a user's pick does: emits mode_changed


def expected_colours(analysis: Any, scores: np.ndarray) -> dict[int, tuple[int, int, int]]:
    top = float(np.abs(scores).max())
    words = [w for s in analysis.sentences for w in s.words]
    out = {}
    for w, v in zip(words, scores, strict=True):
        level = round((v / top + 1) * 127)
        for i in range(w.start, w.end):
            out[i] = diverging_color(level / 127 - 1)
    return out


@pytest.mark.parametrize("method", ["occlusion", "ig"])
def test_attribution_mode_shades_every_word_by_its_signed_score(
    qtbot: Any, window: Any, shipped_bundle: Any, method: str
) -> None:
    c = window.attention
    type_and_wait(qtbot, c, SHORT)
    choose_mode(c, method)
    wait_explained(qtbot, c, method)
    analysis = analyze(shipped_bundle, SHORT)
    attribution = explain(shipped_bundle, SHORT, method)
    k = attribution.labels.index(analysis.label)  # the predicted class, by default
    scores = np.array([v for sent in attribution.words[k] for v in sent])
    qtbot.waitUntil(lambda: not c.view.editor.shading_pending, timeout=TIMEOUT)
    got = shaded_chars(c.view.editor)
    assert got == expected_colours(analysis, scores)
    # the sign is the hue: purple (blue > red) pushes towards the class, orange away
    words = [w for s in analysis.sentences for w in s.words]
    for w, v in zip(words, scores, strict=True):
        r, _, b = got[w.start]
        if abs(v) > 0.2 * np.abs(scores).max():
            assert (b > r) == (v > 0), (w.text, v, got[w.start])
    assert c.view.legend.diverging
    assert "towards" in c.view.legend.high_label and "away" in c.view.legend.low_label
    assert analysis.label in c.view.legend.title
    assert c.view.text() == SHORT


def test_switching_the_class_flips_leave_one_out(qtbot: Any, window: Any) -> None:
    """Two classes: p(neg) = 1 − p(pos), so a word's Δp for one class is minus the other's."""
    c = window.attention
    type_and_wait(qtbot, c, SHORT)
    choose_mode(c, "occlusion")
    wait_explained(qtbot, c, "occlusion")
    first = c.display.attributions["occlusion"]
    other = next(label for label in c.context.bundle.label_names if label != first.target)
    c.view.target_box.setCurrentIndex(c.view.target_box.findData(other))
    second = c.display.attributions["occlusion"]
    assert second.target == other
    np.testing.assert_allclose(second.word, -first.word, atol=1e-9)
    np.testing.assert_allclose(second.sentence, -first.sentence, atol=1e-9)


def test_sentence_strip_shows_delta_p_of_removing_each_sentence(
    qtbot: Any, window: Any, shipped_bundle: Any
) -> None:
    c = window.attention
    type_and_wait(qtbot, c, SHORT)
    choose_mode(c, "occlusion")
    wait_explained(qtbot, c, "occlusion")
    d = c.display
    target = d.attributions["occlusion"].target
    full = analyze(shipped_bundle, SHORT).probabilities[target]
    for s in range(d.n_sentences):
        without = analyze_edited(shipped_bundle, SHORT, frozenset({s}), frozenset()).probabilities[target]
        assert d.sentence_values("occlusion")[s] == pytest.approx(full - without, abs=1e-6)
    assert "Δp if left out" in d.describe_sentence(0)


def test_ctrl_click_leaves_a_word_out_and_the_pin_keeps_the_original(
    qtbot: Any, window: Any, shipped_bundle: Any
) -> None:
    c = window.attention
    type_and_wait(qtbot, c, SHORT)
    original = analyze(shipped_bundle, SHORT)
    ed = c.view.editor
    word = SHORT.index("loved")
    r = ed.char_rect(word + 2)
    with qtbot.waitSignal(c.display_applied, timeout=TIMEOUT):
        qtbot.mouseClick(
            ed.viewport(),
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.ControlModifier,
            QPoint(r.x(), r.center().y()),
        )
    assert c.view.text() == SHORT  # the text itself is untouched
    s, j = next(
        (i, j)
        for i, sent in enumerate(original.sentences)
        for j, w in enumerate(sent.words)
        if w.start == word
    )
    assert c.edit.words == {(s, j)}
    edited = analyze_edited(shipped_bundle, SHORT, frozenset(), frozenset({(s, j)}))
    assert dict(c.view.probabilities.probabilities) == pytest.approx(edited.probabilities, abs=1e-12)
    assert c.view.edit_label.text() == "Edited: 1 word left out" and c.view.label.text() == edited.label
    assert ed.removed_spans() == [(word, word + len("loved"))]
    struck = [x for x in ed.extraSelections() if x.format.fontStrikeOut()]
    assert [(x.cursor.selectionStart(), x.cursor.selectionEnd()) for x in struck] == [(word, word + 5)]
    # the pin keeps the original beside the edit, with each class's change
    pin = c.view.pin_label.text()
    assert c.view.pin_label.isVisible() and f"Pinned (original, {original.label}) → now" in pin
    for label, p in edited.probabilities.items():
        before = original.probabilities[label]
        assert f"{label}: {before:.1%} → {p:.1%} ({(p - before) * 100:+.1f} points)" in pin
    # Ctrl+Shift+click leaves its whole sentence out; "Bring back every word" undoes everything
    with qtbot.waitSignal(c.display_applied, timeout=TIMEOUT):
        c.view.sentence_toggled.emit(0)
    assert c.edit.sentences == {0}
    assert c.view.edit_label.text() == "Edited: 1 sentence and 1 word left out"
    with qtbot.waitSignal(c.display_applied, timeout=TIMEOUT):
        qtbot.mouseClick(c.view.restore_button, Qt.MouseButton.LeftButton)
    assert not c.edit and c.view.text() == SHORT
    assert dict(c.view.probabilities.probabilities) == pytest.approx(original.probabilities, abs=1e-12)
    assert ed.removed_spans() == []


def test_leaving_out_every_word_says_why_and_keeps_the_last_result(qtbot: Any, window: Any) -> None:
    c = window.attention
    text = "Great. Awful."
    type_and_wait(qtbot, c, text)
    with qtbot.waitSignal(c.display_applied, timeout=TIMEOUT):
        c.toggle_sentence(0)
    c.toggle_sentence(1)  # nothing left to read
    qtbot.waitUntil(lambda: "Cannot score that edit" in c.view.message.text(), timeout=TIMEOUT)
    assert c.edit.sentences == {0} and c.display is not None and c.view.text() == text


def test_typing_brings_every_word_back(qtbot: Any, window: Any) -> None:
    c = window.attention
    type_and_wait(qtbot, c, SHORT)
    with qtbot.waitSignal(c.display_applied, timeout=TIMEOUT):
        c.toggle_word(0)
    assert c.edit
    type_and_wait(qtbot, c, SHORT + " Really.")
    assert not c.edit and c.view.editor.removed_spans() == []


def test_side_by_side_panes_scroll_together(qtbot: Any, window: Any) -> None:
    c = window.attention
    long = "\n\n".join([TRICKY] * 6)
    type_and_wait(qtbot, c, long)
    c.view.compare_check.setChecked(True)
    wait_explained(qtbot, c, "ig")
    assert c.view.mirror.isVisible() and c.view.mirror.toPlainText() == long
    assert c.view.mirror.mode == "ig" and c.view.editor.mode == "product"
    a, b = c.view.editor.verticalScrollBar(), c.view.mirror.verticalScrollBar()
    assert a.maximum() > 0 and b.maximum() > 0
    a.setValue(a.maximum())
    assert b.value() == b.maximum()
    b.setValue(0)
    assert a.value() == 0
    c.view.compare_check.setChecked(False)
    assert not c.view.mirror.isVisible()


def test_exports_carry_the_attribution(qtbot: Any, window: Any, tmp_path: Path, shipped_bundle: Any) -> None:
    c = window.attention
    type_and_wait(qtbot, c, SHORT)
    choose_mode(c, "occlusion")
    wait_explained(qtbot, c, "occlusion")
    data = json.loads(c.save(tmp_path / "a.json").read_text(encoding="utf-8"))
    assert data["view"]["mode"] == "occlusion"
    assert "occlusion" in data["attributions"]
    page = c.save(tmp_path / "a.html").read_text(encoding="utf-8")
    assert "towards" in page and "away" in page  # the diverging legend says which colour is which


def test_a_stale_attribution_is_dropped(qtbot: Any, window: Any) -> None:
    """Typing while an attribution runs: the old one never shades the new text."""
    c = window.attention
    type_and_wait(qtbot, c, TRICKY)
    choose_mode(c, "ig")
    type_and_wait(qtbot, c, SHORT)
    wait_explained(qtbot, c, "ig")
    assert c.display.text == SHORT
    assert c.display.attributions["ig"].word.size == c.display.n_words


@pytest.mark.parametrize("mode", ["ig", "product"])
def test_exported_picture_carries_the_legend(qtbot: Any, window: Any, mode: str) -> None:
    """A PNG of the view can be read on its own: its colour scale is in it, both ends of it (the
    diverging map's orange and purple in an attribution mode, the colour map's ends otherwise)."""
    from PySide6.QtGui import QImage

    c = window.attention
    type_and_wait(qtbot, c, SHORT)
    choose_mode(c, mode)
    if mode == "ig":
        wait_explained(qtbot, c, mode)
    image = c.export_image()
    legend = c.view.legend_image()
    assert image.width() >= legend.width() and legend.height() > 40
    legend_rgb = {
        QImage.pixelColor(legend, x, y).getRgb()[:3]
        for x in range(legend.width())
        for y in range(legend.height())
    }
    ends = [c.view.legend.ramp_color(0.0), c.view.legend.ramp_color(1.0)]
    for end in ends:  # both ends of the ramp are painted in the legend ...
        assert any(sum(abs(a - b) for a, b in zip(end, px, strict=True)) <= 6 for px in legend_rgb), end
    composed = c._composed()
    assert composed.legend is not None
    top = int(composed.head.size().height())  # the legend sits under the header lines
    region = image.copy(composed.LEGEND_MARGIN, top, legend.width(), legend.height())
    pixels = {
        region.pixelColor(x, y).getRgb()[:3] for x in range(region.width()) for y in range(region.height())
    }
    for end in ends:  # ... and in the exported picture, where its legend goes
        assert any(sum(abs(a - b) for a, b in zip(end, px, strict=True)) <= 6 for px in pixels), end
    image.save(str(Path(os.environ.get("HAN_TEST_SHOTS", "/tmp")) / f"export-legend-{mode}.png"))
