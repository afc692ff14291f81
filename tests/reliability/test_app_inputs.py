"""The desktop app given hostile files: strings shown as written, a broken last model, a FIFO dataset.

Regression tests for issue 13's GUI items: rich-text injection through label names, dataset paths,
commands and file names (#15); a saved model path that can no longer be opened (#3); a FIFO chosen
as a dataset (#14).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel, QMessageBox

HOSTILE = "<h1>Verified</h1><img src='/etc/hostname'>"


def _rich_labels_showing(root: Any, marker: str) -> list[str]:
    """Labels that would interpret ``marker``'s markup: they hold it raw and are not plain text."""
    found = []
    for label in root.findChildren(QLabel):
        if marker in label.text() and label.textFormat() != Qt.TextFormat.PlainText:
            found.append(label.text()[:80])
    return found


@pytest.fixture
def hostile_model(tmp_path: Path) -> Path:
    from resources import model_dir

    folder = tmp_path / "model"
    shutil.copytree(model_dir(), folder)
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    meta["label_names"] = [HOSTILE, "pos"]
    meta["dataset"]["path"] = f"/data/{HOSTILE}.jsonl"
    meta["command"] = f"han-explorer train --data '{HOSTILE}'"
    (folder / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def test_strings_from_a_model_file_are_shown_as_written(qtbot: Any, hostile_model: Path) -> None:
    from app.context import AppContext
    from app.main_window import MainWindow
    from engine.bundle import load_bundle

    w = MainWindow(AppContext(load_bundle(hostile_model), None), asynchronous=False)
    qtbot.addWidget(w)
    w.attention.set_text("An awful, dreary film. Nothing works.")
    assert w.attention.display is not None and w.attention.display.label == HOSTILE
    assert _rich_labels_showing(w, "<h1>") == []
    card = w.show_model_card()
    texts = [label.text() for label in card.findChildren(QLabel)]
    assert any(HOSTILE in t for t in texts)  # shown, as the characters it has
    assert _rich_labels_showing(card, "<h1>") == []
    about = w.show_about()
    assert _rich_labels_showing(about, "<h1>") == []
    for c in w.controllers.values():
        c.shutdown()


def test_file_names_are_shown_as_written(qtbot: Any, tmp_path: Path, shipped_bundle: Any) -> None:
    from app.context import AppContext
    from app.main_window import MainWindow

    w = MainWindow(AppContext(shipped_bundle, None), asynchronous=False)
    qtbot.addWidget(w)
    name = "<b>bold<b><img src='x'>.txt"  # no "/" in a file name: unclosed tags are markup too
    bad = tmp_path / name
    bad.write_bytes(b"\x00\x01binary")
    assert not w.attention.open_file(bad)
    good = tmp_path / "<i>review<i>.txt"
    good.write_text("A fine film.", encoding="utf-8")
    assert w.attention.open_file(good)
    assert "<i>review<i>.txt" in w.attention.view.message.text()
    dataset = tmp_path / "<b>data<b>.jsonl"
    dataset.write_text('{"text": "x", "label": "a"}\n', encoding="utf-8")
    w.controllers["training"].set_dataset(dataset)
    conv = w.controllers["conv"]
    image = tmp_path / "<b>img<b>.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10)  # truncated PNG
    assert not conv.open_image(image)
    for marker in ("<b>bold", "<i>review", "<b>data", "<b>img"):
        assert _rich_labels_showing(w, marker) == []
    w.show_error("Cannot do that", f"cannot read {name}")
    box = next(b for b in w.findChildren(QMessageBox))
    assert box.textFormat() == Qt.TextFormat.PlainText
    for c in w.controllers.values():
        c.shutdown()


def test_a_broken_last_model_does_not_stop_the_app(qapp: Any, tmp_path: Path) -> None:
    """Once the saved model path pointed at a bad folder, the app could not start again."""
    from app.gui import build_window
    from resources import model_dir

    bad = tmp_path / "bad"
    shutil.copytree(model_dir(), bad)
    meta = json.loads((bad / "model.json").read_text(encoding="utf-8"))
    meta["config"]["embed_dim"] = "two hundred"
    (bad / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    settings = QSettings()
    settings.setValue("model/path", str(bad))
    window = build_window(None, settings, asynchronous=False)
    try:
        assert Path(window.context.bundle.path).resolve() == Path(model_dir()).resolve()
        assert "could not be opened" in window.last_error and "embed_dim" in window.last_error
        assert settings.value("model/path") in (None, str(model_dir()))  # not tried again next time
    finally:
        for c in window.controllers.values():
            c.shutdown()
        window.close()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_as_dataset_is_refused_and_nothing_hangs(
    qtbot: Any, tmp_path: Path, shipped_bundle: Any
) -> None:
    from app.context import AppContext
    from app.training_controller import TrainingController

    context = AppContext(shipped_bundle, None)
    fifo = tmp_path / "data.jsonl"
    os.mkfifo(fifo)
    c = TrainingController(context)
    qtbot.addWidget(c.view)
    with qtbot.waitSignal(c.stats_failed, timeout=20_000) as failed:
        c.set_dataset(fifo)
    assert "not a regular file" in failed.args[1] or "FIFO" in failed.args[1] or "pipe" in failed.args[1]
    assert c.wait_idle(5_000)
    c.shutdown()
