"""The Dataset explorer: item model, filters, confusion clicks, cancel, cache, exports, row <-> Attention."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from app.context import AppContext
from app.dataset_controller import DatasetController
from app.display._dataset import ReviewTable
from app.widgets._dataset_table import ReviewTableModel
from engine.analyze import analyze
from engine.corpus_metrics import rows_attending
from tests.toy_data import toy_rows

EXTRA = [
    ("An absolute masterpiece. Brilliant acting and a moving, beautiful story.", "pos"),
    ("Terrible. The worst movie I have ever seen: boring, stupid and ugly.", "neg"),
    ("Great cast, great music, great fun. Highly recommended.", "neg"),  # mislabelled on purpose
    ("I hated the plot. The ending was great though, a great surprise.", "pos"),
]


def _write(path: Path, n: int = 60, seed: int = 0) -> Path:
    rows = [(r["text"], r["label"]) for r in toy_rows(n, seed)] + EXTRA
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows), encoding="utf-8")
    return path


@pytest.fixture
def controller(qtbot: Any, shipped_bundle: Any, tmp_path: Path) -> Any:
    c = DatasetController(AppContext(shipped_bundle, None), asynchronous=False, cache_dir=tmp_path / "cache")
    qtbot.addWidget(c.view)
    yield c
    c.shutdown()


def _shown(c: DatasetController) -> list[int]:
    m = c.view.model
    return [m.dataset_row(r) for r in range(m.rowCount())]


def test_item_model_passes_the_model_tester(qtmodeltester: Any) -> None:
    rng = np.random.default_rng(0)
    n = 200
    conf = rng.uniform(0.5, 1, n).astype(np.float32)
    table = ReviewTable(
        ("neg", "pos"),
        np.arange(n),
        rng.integers(0, 2, n),
        rng.integers(-1, 2, n),
        conf,
        2 * conf - 1,
        rng.integers(1, 500, n),
        rng.integers(1, 30, n),
        rng.integers(0, 2, n).astype(bool),
    )
    model = ReviewTableModel()
    model.set_table(table)
    qtmodeltester.check(model, force_py=True)
    model.sort(3, Qt.SortOrder.DescendingOrder)
    model.set_mask(rng.integers(0, 2, n).astype(bool))
    qtmodeltester.check(model, force_py=True)
    shown = [float(table.confidence[model.visible[r]]) for r in range(model.rowCount())]
    assert shown == sorted(shown, reverse=True)
    assert model.data(model.index(0, 3)) == f"{shown[0]:.3f}"
    assert model.data(model.index(0, 0), ReviewTableModel.ROW_ROLE) == int(model.visible[0])


def test_filters_select_exactly_the_right_rows(controller: DatasetController, tmp_path: Path) -> None:
    c = controller
    c.open_dataset(_write(tmp_path / "d.jsonl"))
    r = c.result
    assert r is not None and r.complete and len(r) == 64 == c.view.model.rowCount()
    texts = c.dataset.texts  # type: ignore[union-attr]
    v = c.view

    v.misclassified.setChecked(True)
    assert _shown(c) == r.row[~r.correct].tolist() and len(_shown(c)) >= 1
    v.misclassified.setChecked(False)

    v.label_box.setCurrentText("predicted: pos")
    assert _shown(c) == r.row[r.pred == 1].tolist()
    v.label_box.setCurrentText("true: neg")
    assert _shown(c) == r.row[r.truth == 0].tolist()
    v.label_box.setCurrentIndex(0)

    v.conf_lo.setValue(0.6)
    v.conf_hi.setValue(0.9)
    conf = r.confidence
    assert _shown(c) == r.row[(conf >= 0.6) & (conf <= 0.9)].tolist()
    v.conf_lo.setValue(0.0)
    v.conf_hi.setValue(1.0)

    v.search.setText("GREAT CAST")  # case-insensitive substring
    assert _shown(c) == [i for i, t in enumerate(texts) if "great cast" in t.lower()] == [62]
    v.search.clear()

    for cell in ((0, 0), (1, 0), (0, 1)):
        c.view.confusion.cell_clicked.emit(*cell)
        expected = r.row[(r.truth == cell[0]) & (r.pred == cell[1])].tolist()
        assert _shown(c) == expected, cell
        assert len(expected) == c.view.confusion.counts[cell]  # the cell's number is its rows
        c.view.confusion.cell_clicked.emit(*cell)  # again: the filter is off
        assert len(_shown(c)) == 64

    word = "great"
    c.view.word_clicked.emit(word)
    expected = r.row[rows_attending(r, word, 0.02)].tolist()
    assert _shown(c) == expected and 62 in expected
    v.misclassified.setChecked(True)  # filters combine
    assert _shown(c) == [x for x in expected if not r.correct[x]]
    v.clear_filters_requested.emit()
    assert len(_shown(c)) == 64 and c.word == "" and not v.misclassified.isChecked()


def test_confusion_click_on_the_painted_cell(
    controller: DatasetController, tmp_path: Path, qtbot: Any
) -> None:
    c = controller
    c.open_dataset(_write(tmp_path / "d.jsonl"))
    c.view.resize(1400, 800)
    c.view.show()
    c.view.panes.show_pane(c.view.confusion.parentWidget())
    cm = c.view.confusion
    qtbot.waitUntil(lambda: cm.isVisible() and cm.width() > 100)
    center = cm.cell_rect(1, 0).center().toPoint()
    qtbot.mouseClick(cm, Qt.MouseButton.LeftButton, pos=center)
    r = c.result
    assert r is not None and c.cell == (1, 0)
    assert _shown(c) == r.row[(r.truth == 1) & (r.pred == 0)].tolist()


def test_sorting_is_numeric(controller: DatasetController, tmp_path: Path) -> None:
    c = controller
    c.open_dataset(_write(tmp_path / "d.jsonl"))
    c.view.table.sortByColumn(5, Qt.SortOrder.DescendingOrder)  # words
    r = c.result
    assert r is not None
    words = [int(r.words[np.flatnonzero(r.row == x)[0]]) for x in _shown(c)]
    assert words == sorted(words, reverse=True)


def test_cancel_leaves_a_consistent_partial_table(qtbot: Any, shipped_bundle: Any, tmp_path: Path) -> None:
    c = DatasetController(AppContext(shipped_bundle, None), asynchronous=True, cache_dir=tmp_path / "cache")
    qtbot.addWidget(c.view)
    try:
        c.open_dataset(_write(tmp_path / "big.jsonl", n=900))
        qtbot.waitUntil(lambda: c.last_progress is not None and c.last_progress.done >= 128, timeout=60_000)
        c.cancel()
        r = c.result
        assert r is not None and not r.complete and 128 <= len(r) < r.total == 904
        assert c.view.model.rowCount() == len(r) and c.view.confusion.counts.sum() == (r.pred >= 0).sum()
        assert "Cancelled" in c.view.status.text()
        assert len(np.unique(r.row)) == len(r)
        ref = analyze(shipped_bundle, c.dataset.texts[int(r.row[0])])  # type: ignore[union-attr]
        assert r.probs[0].tolist() == pytest.approx([ref.probabilities[n] for n in r.label_names], abs=1e-5)
        qtbot.wait(300)  # batches still in flight are dropped
        assert c.result is r and not c.busy
        assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())
    finally:
        c.shutdown()


def test_cache_hit_and_invalidation(
    controller: DatasetController, tmp_path: Path, shipped_bundle: Any
) -> None:
    c = controller
    data = _write(tmp_path / "d.jsonl", n=20)
    c.open_dataset(data)
    assert c.result is not None and not c.result.cached
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    c.open_dataset(data)
    assert c.result is not None and c.result.cached and "from the cache" in c.view.status.text()

    data.write_text(data.read_text(encoding="utf-8").replace("film", "movie", 1), encoding="utf-8")
    c.open_dataset(data)
    assert c.result is not None and not c.result.cached  # the data changed

    import copy

    other = copy.deepcopy(shipped_bundle)
    with torch.no_grad():
        other.model.classifier.bias.add_(0.5)
    c.context.set_bundle(other)  # a new model re-opens the dataset: no stale answers
    assert c.result is not None and not c.result.cached
    c.open_dataset(data)
    assert c.result is not None and c.result.cached


def test_export_round_trips(controller: DatasetController, tmp_path: Path, shipped_bundle: Any) -> None:
    c = controller
    c.open_dataset(_write(tmp_path / "d.jsonl", n=20))
    c.view.misclassified.setChecked(False)
    c.view.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)
    r = c.result
    assert r is not None
    shown = _shown(c)
    c.export_table(tmp_path / "t.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "t.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [x["id"] for x in lines] == shown
    for line in lines:
        i = int(np.flatnonzero(r.row == line["id"])[0])
        assert line["true_label"] == r.label_names[r.truth[i]]
        assert line["confidence"] == pytest.approx(float(r.confidence[i]), abs=1e-6)
        assert line["probabilities"]["pos"] == pytest.approx(float(r.probs[i, 1]), abs=1e-6)
        assert line["correct"] == bool(r.correct[i]) and line["text"] == c.dataset.texts[line["id"]]  # type: ignore[union-attr]
    c.export_table(tmp_path / "t.csv")
    with (tmp_path / "t.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(x["id"]) for x in rows] == shown
    assert [x["text"] for x in rows] == [x["text"] for x in lines]  # commas, quotes, newlines survive
    assert [float(x["confidence"]) for x in rows] == [x["confidence"] for x in lines]

    c.view.label_box.setCurrentText("true: pos")
    c.export_weights(tmp_path / "w.jsonl")
    weights = [json.loads(x) for x in (tmp_path / "w.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [x["id"] for x in weights] == _shown(c)
    for line in weights[:5]:
        ref = analyze(shipped_bundle, c.dataset.texts[line["id"]]).to_dict()  # type: ignore[union-attr]
        assert line["true_label"] == "pos" and line["label"] == ref["label"]
        assert [s["weight"] for s in line["sentences"]] == pytest.approx(
            [s["weight"] for s in ref["sentences"]], abs=1e-5
        )
    with pytest.raises(ValueError, match=r"\.csv or \.jsonl"):
        from app.present._dataset import export_table

        list(export_table(tmp_path / "t.xlsx", r, c.dataset.texts, np.arange(3)))  # type: ignore[union-attr]


def test_row_to_attention_and_back(window: Any, qtbot: Any, tmp_path: Path) -> None:
    w = window
    c = w.controllers["dataset"]
    c.cache_dir = tmp_path / "cache"
    w.open_dataset(_write(tmp_path / "d.jsonl", n=200))
    assert w.current_view == "dataset"
    assert c.wait_idle(120_000) and c.result is not None and c.result.complete
    v = c.view
    v.label_box.setCurrentText("true: pos")
    v.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)
    shown = _shown(c)
    qtbot.waitUntil(lambda: v.table.verticalScrollBar().maximum() > 0)
    v.table.verticalScrollBar().setValue(v.table.verticalScrollBar().maximum() // 2)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    v.table.setFocus()
    pick = v.table.rowAt(v.table.viewport().height() // 2)  # a row in the middle of the view
    v.table.setCurrentIndex(v.model.index(pick, 0))
    scroll = v.table.verticalScrollBar().value()
    assert scroll > 0
    assert not w.back_button.isVisible()
    qtbot.keyClick(v.table, Qt.Key.Key_Return)  # Enter opens the review
    row = shown[pick]
    assert w.current_view == "attention"
    assert w.attention.view.text() == c.dataset.texts[row]
    assert w.back.isEnabled() and "Dataset" in w.back.text()
    qtbot.waitUntil(lambda: w.back_button.isVisible())
    assert w.attention.wait_idle(30_000) and w.attention.analysis is not None

    assert w.focusWidget() is w.attention.view.editor
    qtbot.keyClick(w.focusWidget(), Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert w.current_view == "dataset"
    assert _shown(c) == shown and v.label_box.currentText() == "true: pos"
    assert v.table.horizontalHeader().sortIndicatorSection() == 3
    assert v.table.verticalScrollBar().value() == scroll
    assert v.table.currentIndex().row() == pick and w.focusWidget() is v.table
    assert not w.back.isEnabled()
    w.show_view("gru")  # the stepper keeps its own Alt+Left
    assert not w.back_button.isVisible()


def test_dropped_paths_open_where_they_belong(window: Any, tmp_path: Path, qtbot: Any) -> None:
    w = window
    c = w.controllers["dataset"]
    c.cache_dir = tmp_path / "cache"
    w.open_path(str(_write(tmp_path / "d.jsonl", n=10)))  # a dataset file: the Dataset tab scores it
    assert w.current_view == "dataset"
    qtbot.waitUntil(lambda: c.result is not None and c.result.complete and not c.busy, timeout=60_000)
    assert len(c.result) == 14
    imdb = tmp_path / "aclImdb"
    for label, text in (("pos", "A wonderful film."), ("neg", "A dull film.")):
        (imdb / label).mkdir(parents=True)
        (imdb / label / "0_1.txt").write_text(text, encoding="utf-8")
    w.show_view("attention")
    w.open_path(str(imdb))  # an aclImdb folder is a dataset, not a model
    assert w.current_view == "dataset"
    qtbot.waitUntil(lambda: c.result is not None and len(c.result) == 2 and not c.busy, timeout=60_000)
    review = tmp_path / "review.txt"
    review.write_text("What a great film.", encoding="utf-8")
    w.open_path(str(review))  # any other file is a review
    assert w.current_view == "attention" and w.attention.view.text() == "What a great film."


def test_progress_text_says_rate_and_time_left() -> None:
    from app.present._dataset import progress_text
    from engine.corpus import CorpusProgress

    p = CorpusProgress(done=1280, total=25000, seconds=12.8, rows=None)  # type: ignore[arg-type]
    assert progress_text(p) == "1,280 of 25,000 reviews · 100 reviews/s · 3 min 57 s left"


def test_the_last_dataset_reopens_from_the_cache(qtbot: Any, shipped_bundle: Any, tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    data = _write(tmp_path / "d.jsonl", n=10)
    first = DatasetController(
        AppContext(shipped_bundle, QSettings()), asynchronous=False, cache_dir=tmp_path / "c"
    )
    qtbot.addWidget(first.view)
    first.open_dataset(data)
    first.shutdown()
    again = DatasetController(
        AppContext(shipped_bundle, QSettings()), asynchronous=False, cache_dir=tmp_path / "c"
    )
    qtbot.addWidget(again.view)
    assert again.result is None
    again.view.show()  # the tab is shown: the last dataset is back, from the cache
    qtbot.waitUntil(lambda: again.result is not None)
    assert again.result.cached and len(again.result) == 14 and again.view.path.text() == str(data)
    again.shutdown()


# -- rows arriving while scoring ---------------------------------------------------------------------


def _random_table(n: int, seed: int = 0) -> ReviewTable:
    rng = np.random.default_rng(seed)
    conf = np.round(rng.uniform(0.5, 1, n), 2).astype(np.float32)  # rounded: many ties to keep in order
    return ReviewTable(
        ("neg", "pos"),
        np.arange(n),
        rng.integers(0, 2, n),
        rng.integers(-1, 2, n),
        conf,
        2 * conf - 1,
        rng.integers(1, 500, n),
        rng.integers(1, 30, n),
        rng.integers(0, 2, n).astype(bool),
    )


def _rows_of(table: ReviewTable, ids: np.ndarray) -> ReviewTable:
    """The reviews ``ids`` of ``table``, in dataset order (what CorpusBuilder.result gives)."""
    i = np.sort(ids)
    cols = (table.row, table.true, table.pred, table.confidence, table.margin, table.words)
    return ReviewTable(table.label_names, *(col[i] for col in (*cols, table.sentences, table.correct)))


def test_arriving_rows_are_inserted_in_sort_and_filter_order(qtmodeltester: Any, qtbot: Any) -> None:
    """Rows arriving in random order go to their sorted places under the filter; the model is never
    reset, the selected review stays selected, and Qt's model tester sees consistent signals."""
    from app.widgets._dataset_table import ReviewTableView

    full = _random_table(700)
    arrival = np.random.default_rng(1).permutation(700)
    keep = np.asarray(full.pred != full.true)  # "misclassified only", over the full table
    model = ReviewTableModel()
    view = ReviewTableView(model)
    qtbot.addWidget(view)
    model.sort(3, Qt.SortOrder.DescendingOrder)  # by confidence, as a user sorted before rows came
    seen = arrival[:50]
    model.set_table(_rows_of(full, seen), keep[np.sort(seen)])
    qtmodeltester.check(model, force_py=True)  # watches every signal from here on
    view.selectRow(3)
    chosen = model.dataset_row(3)
    resets, inserted = [], []
    model.modelAboutToBeReset.connect(lambda: resets.append(1))
    model.rowsInserted.connect(lambda _p, a, b: inserted.append(b - a + 1))
    done = 50
    for size in (1, 7, 64, 128, 200, 250):
        done = min(700, done + size)
        ids = np.sort(arrival[:done])
        model.add_rows(_rows_of(full, ids), keep[ids])
        reference = ReviewTableModel()
        reference.sort(3, Qt.SortOrder.DescendingOrder)
        reference.set_table(_rows_of(full, ids), keep[ids])  # the same rows, from scratch
        shown = [model.dataset_row(r) for r in range(model.rowCount())]
        assert shown == [reference.dataset_row(r) for r in range(reference.rowCount())]
        assert view.currentIndex().isValid() and model.dataset_row(view.currentIndex().row()) == chosen
        assert [model.dataset_row(i.row()) for i in view.selectionModel().selectedRows()] == [chosen]
    assert done == 700 and model.rowCount() == int(keep.sum())
    assert not resets and sum(inserted) == int(keep.sum()) - int(keep[arrival[:50]].sum())


def test_sort_keys_order_as_a_stable_sort_of_the_column() -> None:
    """One uint64 per review sorts as the column does (floats as float32, -0.0 as 0.0, NaN last),
    descending too, ties always in dataset order."""
    from app.display._dataset import sort_keys, sort_order

    rng = np.random.default_rng(3)
    n = 400
    conf = rng.choice(np.array([0.5, 0.75, 0.75, 1.0, -0.0, 0.0, np.nan], np.float32), n)
    table = ReviewTable(
        ("neg", "pos"),
        rng.permutation(n) * 3,  # dataset rows, not in order
        rng.integers(0, 2, n),
        rng.integers(-1, 2, n),
        conf,
        rng.normal(size=n).astype(np.float32),
        rng.integers(0, 5, n),
        rng.integers(1, 3, n),
        rng.integers(0, 2, n).astype(bool),
    )
    rows = rng.permutation(n)[:300]
    for column in range(-1, 8):
        for descending in (False, True):
            got = sort_order(table, rows, column, descending)
            if column < 0:
                ref = sorted(rows.tolist(), key=lambda r: int(table.row[r]))
            else:
                col = table.column(column)

                def key(r: int, col: np.ndarray = col, desc: bool = descending) -> tuple[float, int]:
                    x = float(col[r]) + 0.0
                    x = np.inf if np.isnan(x) else x  # NaN last ascending (first descending)
                    return (-x if desc else x, int(table.row[r]))

                ref = sorted(rows.tolist(), key=key)
            assert got.tolist() == ref, (column, descending)
            keys = sort_keys(table, got, column, descending)
            assert (np.diff(keys.astype(np.float64)) >= 0).all() and len(np.unique(keys)) == len(keys)


@pytest.mark.parametrize("column", [-1, 0, 3, 5, 7])
@pytest.mark.parametrize("descending", [False, True])
def test_appended_rows_cost_their_own_work_and_land_as_a_full_sort(
    qtmodeltester: Any, qtbot: Any, column: int, descending: bool
) -> None:
    """``append_rows`` gets only the new reviews (and their filter): the table then shows what a
    model built from scratch shows, with no reset, the selection kept, Qt's model tester watching;
    the finished (dataset-ordered) table then re-indexes it without moving a row."""
    from app.widgets._dataset_table import ReviewTableView

    full = _random_table(600, seed=column + 2)
    arrival = np.random.default_rng(4).permutation(600)
    keep = np.asarray(full.confidence > 0.6)
    model = ReviewTableModel()
    view = ReviewTableView(model)
    qtbot.addWidget(view)
    order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
    if column >= 0:
        model.sort(column, order)
    model.set_table(_rows_of(full, arrival[:40]), keep[np.sort(arrival[:40])])
    qtmodeltester.check(model, force_py=True)
    view.selectRow(2)
    chosen = model.dataset_row(2)
    resets, inserted = [], []
    model.modelAboutToBeReset.connect(lambda: resets.append(1))
    model.rowsInserted.connect(lambda _p, a, b: inserted.append(b - a + 1))
    done = 40
    for size in (1, 9, 60, 130, 360):
        ids = np.sort(arrival[done : done + size])
        done += size
        model.append_rows(_rows_of(full, ids), keep[ids])
        seen = np.sort(arrival[:done])
        reference = ReviewTableModel()
        if column >= 0:
            reference.sort(column, order)
        reference.set_table(_rows_of(full, seen), keep[seen])
        shown = [model.dataset_row(r) for r in range(model.rowCount())]
        assert shown == [reference.dataset_row(r) for r in range(reference.rowCount())]
        assert [model.data(model.index(r, 3)) for r in range(model.rowCount())] == [
            reference.data(reference.index(r, 3)) for r in range(reference.rowCount())
        ]
        assert model.dataset_row(view.currentIndex().row()) == chosen
        assert [model.dataset_row(i.row()) for i in view.selectionModel().selectedRows()] == [chosen]
    assert done == 600 and not resets and sum(inserted) == int(keep.sum()) - int(keep[arrival[:40]].sum())
    before = [model.dataset_row(r) for r in range(model.rowCount())]
    model.add_rows(_rows_of(full, np.arange(600)), keep)  # the finished result: the same rows
    assert not resets and [model.dataset_row(r) for r in range(model.rowCount())] == before
    assert model.table.row.tolist() == list(range(600))  # now in dataset order


def test_a_table_that_is_not_a_superset_is_replaced(qtbot: Any) -> None:
    full = _random_table(100)
    model = ReviewTableModel()
    model.set_table(_rows_of(full, np.arange(0, 60)))
    resets: list[int] = []
    model.modelAboutToBeReset.connect(lambda: resets.append(1))
    model.add_rows(_rows_of(full, np.arange(30, 100)))  # rows 0-29 are gone: a new table
    assert resets == [1] and [model.dataset_row(r) for r in range(model.rowCount())] == list(range(30, 100))


def test_a_search_reads_each_text_once_while_rows_arrive(shipped_bundle: Any, tmp_path: Path) -> None:
    from app.present._dataset import FilterState, filter_mask
    from engine.corpus import CorpusBuilder, model_truth, score_corpus
    from engine.data import load_dataset

    ds = load_dataset(_write(tmp_path / "d.jsonl", n=60), label_names=shipped_bundle.label_names)
    reads: list[int] = []

    class Texts(list):  # type: ignore[type-arg]
        def __getitem__(self, i: Any) -> Any:
            reads.append(i)
            return super().__getitem__(i)

    texts = Texts(ds.texts)
    state = FilterState(query="Great")
    builder = CorpusBuilder(shipped_bundle.label_names, model_truth(shipped_bundle, ds))
    hits = np.full(len(ds), -1, dtype=np.int8)
    for p in score_corpus(shipped_bundle, ds, batch_size=8):
        builder.add(p.rows)
        partial = builder.result()
        mask = filter_mask(partial, texts, state, hits)
        expected = [("great" in ds.texts[r].casefold()) for r in partial.row.tolist()]
        assert mask.tolist() == expected
        assert mask.tolist() == filter_mask(partial, ds.texts, state).tolist()  # without the cache
    assert sorted(reads) == list(range(len(ds)))  # every text searched exactly once


def _async(qtbot: Any, bundle: Any, tmp_path: Path) -> DatasetController:
    c = DatasetController(AppContext(bundle, None), asynchronous=True, cache_dir=tmp_path / "cache")
    qtbot.addWidget(c.view)
    return c


def test_scoring_in_the_child_fills_the_sorted_filtered_table_as_in_process(
    qtbot: Any, shipped_bundle: Any, tmp_path: Path
) -> None:
    data = _write(tmp_path / "d.jsonl", n=300)
    c = _async(qtbot, shipped_bundle, tmp_path)
    try:
        c.view.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)
        c.view.search.setText("the")  # a filter set before any row arrived
        resets: list[int] = []
        c.view.model.modelAboutToBeReset.connect(lambda: resets.append(1))
        c.open_dataset(data)
        qtbot.waitUntil(lambda: c.last_progress is not None, timeout=60_000)
        n_resets = len(resets)  # the empty table of the new run; from here on rows are inserted
        qtbot.waitUntil(lambda: c.result is not None and c.result.complete and not c.busy, timeout=120_000)
        assert len(resets) == n_resets
        assert c._child is None  # the finished child was let go
    finally:
        c.shutdown()
    ref = DatasetController(AppContext(shipped_bundle, None), asynchronous=False, cache_dir=tmp_path / "c2")
    qtbot.addWidget(ref.view)
    ref.view.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)
    ref.view.search.setText("the")
    ref.open_dataset(data)
    assert c.result is not None and ref.result is not None
    np.testing.assert_array_equal(c.result.pred, ref.result.pred)
    np.testing.assert_allclose(c.result.probs, ref.result.probs, atol=1e-6)
    assert _shown(c) == _shown(ref) and 0 < len(_shown(c)) < 304
    assert c.view.accuracy.text() == ref.view.accuracy.text()
    assert (c.view.confusion.counts == ref.view.confusion.counts).all()
    ref.shutdown()


def test_cancel_kills_the_scoring_process(qtbot: Any, shipped_bundle: Any, tmp_path: Path) -> None:
    c = _async(qtbot, shipped_bundle, tmp_path)
    try:
        c.open_dataset(_write(tmp_path / "big.jsonl", n=900))
        qtbot.waitUntil(lambda: c.last_progress is not None, timeout=60_000)
        child = c._child
        assert child is not None and child.process.is_alive()
        c.cancel()
        child.process.join(10)
        assert not child.process.is_alive()
        qtbot.waitUntil(lambda: not c.busy, timeout=10_000)
        assert "Cancelled" in c.view.status.text() and c.result is not None and not c.result.complete
    finally:
        c.shutdown()


def test_a_crash_of_the_scoring_process_is_a_clear_message(
    qtbot: Any, shipped_bundle: Any, tmp_path: Path
) -> None:
    import os
    import signal

    c = _async(qtbot, shipped_bundle, tmp_path)
    try:
        c.open_dataset(_write(tmp_path / "big.jsonl", n=900))
        qtbot.waitUntil(lambda: c.last_progress is not None, timeout=60_000)
        assert c._child is not None
        os.kill(c._child.process.pid, signal.SIGKILL)  # as the OOM killer would
        qtbot.waitUntil(lambda: not c.busy, timeout=20_000)
        status = c.view.status.text()
        assert status == "the scoring process ended unexpectedly (exit code -9)"
        assert "#b00020" in c.view.status.styleSheet()  # shown as an error
        assert not c.view.cancel_button.isEnabled() and c.result is not None and not c.result.complete
    finally:
        c.shutdown()


def test_filters_and_exports_while_rows_arrive(
    qtbot: Any, shipped_bundle: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While scoring, the table holds the reviews in the order they arrived (each refresh appends
    only those): a filter set then, and an export then, still pick exactly the right reviews, in the
    table's order; the finished table equals one scored in-process."""
    import threading
    import time

    import engine.corpus_process
    from engine.corpus import CorpusProgress, _Rows

    data = _write(tmp_path / "d.jsonl", n=140)
    ref = DatasetController(AppContext(shipped_bundle, None), asynchronous=False, cache_dir=tmp_path / "r")
    qtbot.addWidget(ref.view)
    ref.open_dataset(data)
    full = ref.result
    assert full is not None and full.complete
    gate = threading.Event()

    class Replay:  # the scoring process's records, from the result above, pausing half-way
        def __init__(self, *_: Any, **__: Any) -> None:
            pass

        def results(self) -> Any:
            order = np.random.default_rng(5).permutation(len(full))
            for k in range(0, len(full), 16):
                if k == 80:
                    gate.wait(30)
                elif k < 80:
                    time.sleep(0.25)  # the first rows over several refreshes
                idx = order[k : k + 16]
                words = tuple(tuple(full.word_list[w] for w in full.top_words[i] if w >= 0) for i in idx)
                cols = (full.row, full.pred, full.probs, full.words, full.sentences, full.last_share)
                rows = _Rows(*(col[idx] for col in cols), words, full.top_weights[idx])
                yield CorpusProgress(min(k + 16, len(full)), len(full), 1.0 + k, rows)
            return full

        def kill(self) -> None:
            gate.set()

    monkeypatch.setattr(engine.corpus_process, "CorpusProcess", Replay)
    c = _async(qtbot, shipped_bundle, tmp_path)
    try:
        c.view.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)
        c.open_dataset(data)
        qtbot.waitUntil(lambda: len(c.view.model.table) == 80, timeout=30_000)
        assert c.view.model.table.row.tolist() != sorted(c.view.model.table.row.tolist())  # arrival order
        c.view.misclassified.setChecked(True)
        arrived = np.sort(c.view.model.table.row)
        at = np.searchsorted(full.row, arrived)
        wrong = at[~full.correct[at]]
        expected = sorted(wrong.tolist(), key=lambda i: (-float(full.confidence[i]), int(full.row[i])))
        assert _shown(c) == [int(full.row[i]) for i in expected] and len(expected) > 0
        c.export_table(tmp_path / "t.jsonl")
        qtbot.waitUntil(lambda: (tmp_path / "t.jsonl").exists(), timeout=30_000)
        lines = [json.loads(x) for x in (tmp_path / "t.jsonl").read_text(encoding="utf-8").splitlines()]
        assert [x["id"] for x in lines] == _shown(c)
        assert all(not x["correct"] and x["text"] == c.dataset.texts[x["id"]] for x in lines)  # type: ignore[union-attr]
        gate.set()
        qtbot.waitUntil(lambda: c.result is not None and c.result.complete and not c.busy, timeout=30_000)
        ref.view.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)
        ref.view.misclassified.setChecked(True)
        assert _shown(c) == _shown(ref)
        assert c.view.count.text() == ref.view.count.text()
    finally:
        c.shutdown()
        ref.shutdown()
