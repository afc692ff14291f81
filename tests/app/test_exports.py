"""Every tab exports what it shows: valid files (parsed back), the whole content, the model and version."""

from __future__ import annotations

import html.parser
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage

from app import cli
from app.attention_controller import AttentionController
from app.provenance import EXPORTED_PREFIX, program_version

LONG = " ".join(
    f"Sentence {k} of a long review says the film was {'wonderful' if k % 2 else 'dull'}." for k in range(120)
)
TEXT = "Gorgeous to look at. Empty at heart."


def _without_time(page: str) -> str:
    return re.sub(rf"{EXPORTED_PREFIX}\S+", EXPORTED_PREFIX, page)


@pytest.fixture
def attention(qapp: Any, context: Any) -> Any:
    c = AttentionController(context, asynchronous=False)
    c.view.resize(900, 500)
    yield c
    c.shutdown()
    c.view.deleteLater()


def _show(c: Any, text: str) -> None:
    c.set_text(text)
    c.wait_idle()


class _Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.words = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.words += tag == "span" and dict(attrs).get("class") == "word"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize(("mode", "colormap"), [("product", "Orange–red"), ("word", "Viridis")])
def test_cli_and_app_write_the_same_page(
    attention: Any, tmp_path: Path, mode: str, colormap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    review = tmp_path / "r.txt"
    review.write_text(TEXT, encoding="utf-8")
    attention.view.set_mode(mode)
    attention.view.set_colormap(colormap)
    _show(attention, TEXT)
    app_page = attention.save(tmp_path / "app.html").read_text(encoding="utf-8")
    flag = colormap.lower().replace("–", "-")
    out = tmp_path / "cli.html"
    rc = cli.main(["predict", str(review), "--html", str(out), "--mode", mode, "--colormap", flag])
    assert rc == 0
    cli_page = out.read_text(encoding="utf-8")
    assert _without_time(cli_page) == _without_time(app_page)
    assert cli_page.count(EXPORTED_PREFIX) == 1  # only the time may differ


def test_html_names_the_model_and_the_program(attention: Any, tmp_path: Path, shipped_bundle: Any) -> None:
    _show(attention, TEXT)
    page = attention.save(tmp_path / "a.html").read_text(encoding="utf-8")
    p = _Page()
    p.feed(page)
    shown = " ".join(p.text)
    assert "shipped model" in shown and f"han-explorer {program_version()}" in shown
    assert "test accuracy 91.67%" in shown and "train.jsonl.gz" in shown
    assert shipped_bundle.metadata["created"] in shown
    data = json.loads(attention.save(tmp_path / "a.json").read_text(encoding="utf-8"))
    assert data["provenance"]["model"] == "shipped model"
    assert data["provenance"]["version"] == program_version()


def test_pictures_hold_the_whole_review_not_the_viewport(attention: Any, tmp_path: Path) -> None:
    _show(attention, LONG)
    viewport = attention.view.editor.viewport().height()
    png = QImage(str(attention.save(tmp_path / "a.png")))
    assert not png.isNull() and png.height() > 2 * viewport  # 120 sentences do not fit a viewport
    jpg = attention.save(tmp_path / "a.jpg")
    assert jpg.read_bytes()[:3] == b"\xff\xd8\xff"  # JPEG data under a .jpg name
    assert QImage(str(jpg)).height() == png.height()
    root = ET.parse(attention.save(tmp_path / "a.svg")).getroot()
    assert root.tag.endswith("svg")
    words = " ".join("".join(root.itertext()).split())  # text stays text, to the last sentence
    assert "Sentence 119 of a long review" in words and "shipped model" in words
    # the picture is shaded: the darkest word colour of the view appears in the PNG
    colours = {
        png.pixelColor(x, y).name() for y in range(0, png.height(), 3) for x in range(0, png.width(), 7)
    }
    shaded = {c.name() for _, _, c in attention.view.editor.shaded_words()}
    assert colours & shaded


def test_unknown_suffix_is_refused_in_one_line(attention: Any, tmp_path: Path) -> None:
    _show(attention, TEXT)
    with pytest.raises(ValueError, match=r"cannot export this view as \.bmp: use \.html, \.png"):
        attention.save(tmp_path / "a.bmp")
    assert not (tmp_path / "a.bmp").exists()


def test_export_dialog_exports_the_current_tab(
    qtbot: Any, window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QFileDialog

    from app.explorers import Exportable

    asked: list[str] = []

    def fake(_parent: Any, title: str, name: str, filters: str) -> tuple[str, str]:
        asked.append(filters)
        return str(tmp_path / Path(name).stem), filters.split(";;")[0]

    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake)
    for name in ("attention", "gru", "training", "conv", "dataset"):
        window.show_view(name)
        controller = window.controllers[name]
        assert isinstance(controller, Exportable), name
        controller.wait_idle()
        called: list[str] = []
        monkeypatch.setattr(controller, "save", lambda p, c=called: c.append(str(p)))
        window.export_dialog()
        first = controller.export_formats()[0][0]
        assert called == [str(tmp_path / name) + first], name
        assert asked[-1].startswith(controller.export_formats()[0][1])
