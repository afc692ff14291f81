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


@pytest.mark.parametrize(
    ("mode", "colormap"),
    [("product", "Orange–red"), ("word", "Viridis"), ("ig", "Blues"), ("occlusion", "Greys")],
)
def test_cli_and_app_write_the_same_page(
    attention: Any, tmp_path: Path, mode: str, colormap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    review = tmp_path / "r.txt"
    review.write_text(TEXT, encoding="utf-8")
    attention.view.set_mode(mode)
    attention.view.set_colormap(colormap)
    _show(attention, TEXT)
    attention.request_attributions()  # the view's mode_changed does this when the user picks a mode
    attention.wait_idle()
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
    for name in ("attention", "gru", "training", "conv", "dataset", "behaviour"):
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


# -- GRU stepper, Training, Convolution tiles ---------------------------------------------------------
def _svg_words(path: Path) -> str:
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return " ".join("".join(root.itertext()).split())


def test_gru_exports(qtbot: Any, context: Any, tmp_path: Path, shipped_bundle: Any) -> None:
    import numpy as np

    from app.gru_controller import GRUController
    from engine.analyze import analyze

    c = GRUController(context, asynchronous=False)
    qtbot.addWidget(c.widget)
    c.widget.resize(1300, 850)
    sentence = "The acting was wonderful but the plot felt thin."
    c.set_text(sentence)
    d = c.display
    data = json.loads(c.save(tmp_path / "g.json").read_text(encoding="utf-8"))
    assert data["tokens"] == list(d.tokens) and data["provenance"]["model"] == "shipped model"
    words = analyze(shipped_bundle, sentence).sentences[0].words
    assert data["attention"] == pytest.approx([w.weight for w in words], abs=1e-6)
    np.testing.assert_array_equal(np.asarray(data["h"], dtype=np.float32), d.h)  # floats round-trip exactly
    c.view.set_unit(3)
    lines = c.save(tmp_path / "g.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# Model: shipped model") and "han-explorer" in lines[1]
    assert lines[2] == "step,token,z[3],r[3],n[3],h_prev[3],h[3],attention"
    last = lines[-1].split(",")
    assert last[1] == "." and float(last[6]) == pytest.approx(float(d.h[-1, 3]), rel=1e-5)
    png = QImage(str(c.save(tmp_path / "g.png")))
    assert png.width() == c.view.width() and png.height() > c.view.height()  # the view plus a caption
    _svg_words(c.save(tmp_path / "g.svg"))
    desc = ET.parse(tmp_path / "g.svg").getroot().find("{http://www.w3.org/2000/svg}desc")
    assert desc is not None and "shipped model" in (desc.text or "")
    c.shutdown()


def test_training_exports(qtbot: Any, context: Any, tmp_path: Path) -> None:
    from app.training_controller import TrainingController
    from tests.app.test_training_controller import PROBE, TINY
    from tests.toy_data import write_toy

    c = TrainingController(context, asynchronous=False)
    qtbot.addWidget(c.view)
    c.view.resize(1400, 860)
    c.view.show()
    with pytest.raises(ValueError, match="no training run"):
        c.save(tmp_path / "t.json")
    c.set_dataset(write_toy(tmp_path / "small.jsonl", 60, seed=2))
    c.view.form.set_values({**TINY, "epochs": 2})
    c.view.set_out_dir(str(tmp_path / "out"))
    c.set_text(PROBE)
    assert c.start() and c.run is not None and c.run.outcome == "done"
    data = json.loads(c.save(tmp_path / "t.json").read_text(encoding="utf-8"))
    assert data["settings"]["epochs"] == 2 and len(data["evals"]) == 2
    assert [s["loss"] for s in data["steps"]] == pytest.approx([loss for _, loss in c.run.steps])
    assert data["provenance"]["model"] == str((tmp_path / "out" / "model").resolve())
    rows = [r for r in c.save(tmp_path / "t.csv").read_text(encoding="utf-8").splitlines() if r[:1] != "#"]
    assert rows[0] == "kind,epoch,loss,dev_accuracy" and len(rows) == 1 + len(c.run.steps) + 2
    page = c.save(tmp_path / "t.html").read_text(encoding="utf-8")
    p = _Page()
    p.feed(page)
    assert p.words == sum(s.display.n_words for s in c.run.snapshots) > 0
    assert "before training" in " ".join(p.text) and program_version() in page
    png = QImage(str(c.save(tmp_path / "t.png")))
    assert not png.isNull() and png.width() >= c.view.curves.width() - 2
    words = _svg_words(c.save(tmp_path / "t.svg"))
    assert "Training loss" in words and "Dev accuracy" in words
    c.shutdown()


def test_conv_exports(qtbot: Any, qapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from app.context import AppContext
    from app.conv_controller import ConvController

    c = ConvController(AppContext(None, None), asynchronous=False)
    qtbot.addWidget(c.view)
    c.view.resize(1300, 850)
    c.view.show()
    monkeypatch.setattr(c, "gpu", False)
    c.set_params(height=37, width=53, mask_size=5, tile=8, strategy="output_tile")
    c.wait_idle()
    data = json.loads(c.save(tmp_path / "c.json").read_text(encoding="utf-8"))
    assert data["geometry"]["grid"] == [5, 7] and data["params"]["tile"] == 8
    assert data["counters"]["outputs"] == 37 * 53 and data["block"]["strategy"] == "output_tile"
    assert data["provenance"]["version"] == program_version()
    assert c.run is not None
    out = np.load(c.save(tmp_path / "c.npy"), allow_pickle=False)
    np.testing.assert_array_equal(out, c.run.output)
    png = QImage(str(c.save(tmp_path / "c.png")))
    assert png.width() == c.view.canvas.width()
    ET.parse(c.save(tmp_path / "c.svg"))
    with pytest.raises(ValueError, match=r"use \.png, \.svg, \.json, \.npy"):
        c.save(tmp_path / "c.html")
    c.shutdown()


# -- --screenshot ---------------------------------------------------------------------------------------
def test_screenshot_writes_the_format_its_suffix_names(
    qapp: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    review = tmp_path / "r.txt"
    review.write_text(TEXT, encoding="utf-8")
    jpg, svg = tmp_path / "s.jpg", tmp_path / "s.svg"
    assert cli.main(["--screenshot", str(jpg), "--text", str(review)]) == 0
    assert jpg.read_bytes()[:3] == b"\xff\xd8\xff"
    assert (QImage(str(jpg)).width(), QImage(str(jpg)).height()) == (1366, 768)
    assert cli.main(["--screenshot", str(svg), "--text", str(review)]) == 0
    assert "Gorgeous" in _svg_words(svg)
    capsys.readouterr()
    assert cli.main(["--screenshot", str(tmp_path / "s.bmp")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "han-explorer: --screenshot cannot write a .bmp file: use .png, .jpg, .jpeg, .svg"
    assert not (tmp_path / "s.bmp").exists()


def test_screenshot_takes_the_apps_mode_and_colormap(qapp: Any, tmp_path: Path) -> None:
    review = tmp_path / "r.txt"
    review.write_text(TEXT, encoding="utf-8")
    shots = {}
    for mode, cmap in (("product", "greys"), ("word", "greys"), ("word", "viridis")):
        out = tmp_path / f"{mode}-{cmap}.png"
        assert (
            cli.main(["--screenshot", str(out), "--text", str(review), "--mode", mode, "--colormap", cmap])
            == 0
        )
        shots[mode, cmap] = QImage(str(out))
    assert shots["product", "greys"] != shots["word", "greys"] != shots["word", "viridis"]
    # Viridis' dark end is purple-blue: only that shot has pixels with blue well above red
    blue = [
        sum(
            1
            for x in range(0, 900, 3)
            for y in range(60, 220, 3)
            if (c := img.pixelColor(x, y)).blue() > c.red() + 60
        )
        for img in shots.values()
    ]
    assert blue[2] > 20 and blue[0] < blue[2] and blue[1] < blue[2]


def test_side_by_side_pictures_hold_both_panes(attention: Any, tmp_path: Path) -> None:
    _show(attention, TEXT)
    attention.view.set_compare("word")
    attention.wait_idle()
    assert attention.view.mode == "product" and attention.view.compare_mode == "word"
    png = QImage(str(attention.save(tmp_path / "two.png")))
    assert png.width() == 1400
    words = _svg_words(attention.save(tmp_path / "two.svg"))
    assert "word weight × sentence weight" in words and "word weight within its sentence" in words
    assert words.count("Gorgeous") == 2  # the review in each pane
