"""The Convolution tiles view on plain data: bindings both ways, items, hover and phases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPointF, QRectF

from app.display import (
    BlockDisplay,
    CompareDisplay,
    ConvParams,
    CountersDisplay,
    GridDisplay,
    LoadTable,
    phase_steps,
)
from app.widgets import ConvView
from app.widgets._conv_items import CHUNK_LINES, TileGridItem, cell_runs
from app.widgets._conv_threads import _boxes, _runs


def _table(rows: list[tuple[int, ...]]) -> LoadTable:
    """rows of (thread_y, thread_x, phase, smem_y, smem_x, in_y, in_x, ghost)."""
    a = np.array(rows, np.int32).reshape(-1, 8)
    return LoadTable(*(a[:, i] for i in range(7)), a[:, 7].astype(bool), np.ones(len(a), bool))


def _block() -> BlockDisplay:
    """A hand-made 2 x 2-thread block with a 3 x 3 shared tile filled in 3 phases (top-left corner)."""
    rows = []
    for s in range(9):
        phase, t = divmod(s, 4)
        sy, sx = divmod(s, 3)
        rows.append((t // 2, t % 2, phase, sy, sx, sy - 1, sx - 1, int(sy == 0 or sx == 0)))
    ghost = np.zeros((3, 3), bool)
    ghost[0, :] = ghost[:, 0] = True
    return BlockDisplay(
        block=(0, 0),
        strategy="made_up",
        mask_size=3,
        radius=1,
        output=(0, 0, 1, 1),
        tile_rect=(0, 0, 2, 2),
        input=(-1, -1, 2, 2),
        ghost=ghost,
        threads=(2, 2),
        shared_tile=(3, 3),
        shared_origin=(-1, -1),
        load_phases=3,
        loads=_table(rows),
        out_thread_y=np.array([0], np.int32),
        out_thread_x=np.array([0], np.int32),
        out_y=np.array([0], np.int32),
        out_x=np.array([0], np.int32),
    )


def _vector_block() -> BlockDisplay:
    """A hand-made register2d-like block: 1 x 2 threads, each computing 1 x 2 outputs of a 1 x 4 tile and
    filling a 3 x 8 shared tile in groups of 4 slots (3 phases). The image is 3 x 6, mask 3; the shared
    tile reaches one column further left and right than the input tile (-1..2, -1..5)."""
    rows = []
    for s in range(24):
        phase, t = divmod(s // 4, 2)
        sy, sx = divmod(s, 8)
        y, x = sy - 1, sx - 2
        rows.append((0, t, phase, sy, sx, y, x, int(not (0 <= y < 3 and 0 <= x < 6))))
    ghost = np.zeros((3, 6), bool)
    ghost[0, :] = ghost[:, 0] = True
    return BlockDisplay(
        block=(0, 0),
        strategy="made_up",
        mask_size=3,
        radius=1,
        output=(0, 0, 1, 4),
        tile_rect=(0, 0, 1, 4),
        input=(-1, -1, 2, 5),
        ghost=ghost,
        threads=(1, 2),
        shared_tile=(3, 8),
        shared_origin=(-1, -2),
        load_phases=3,
        loads=_table(rows),
        out_thread_y=np.zeros(4, np.int32),
        out_thread_x=np.array([0, 0, 1, 1], np.int32),
        out_y=np.zeros(4, np.int32),
        out_x=np.arange(4, dtype=np.int32),
        shared=(-1, -2, 2, 6),
        load_width=4,
        outputs_per_thread=(1, 2),
    )


def _bulk_block() -> BlockDisplay:
    """A hand-made tma-like block: _vector_block's 3 x 8 shared tile and 1 x 2 threads, but thread (0, 0)
    fills every slot in one bulk copy (phase 0), and the 1 x 4 outputs leave through a staging tile."""
    v = _vector_block()
    t = v.loads
    loads = LoadTable(
        np.zeros(24, np.int32),
        np.zeros(24, np.int32),
        np.zeros(24, np.int32),
        t.smem_y,
        t.smem_x,
        t.in_y,
        t.in_x,
        t.ghost,
        t.loaded,
    )
    parts = (("input tile", 96), ("padding", 32), ("output staging tile", 16), ("mbarrier", 8))
    return BlockDisplay(
        block=v.block,
        strategy="made_up",
        mask_size=3,
        radius=1,
        output=v.output,
        tile_rect=v.tile_rect,
        input=v.input,
        ghost=v.ghost,
        threads=v.threads,
        shared_tile=v.shared_tile,
        shared_origin=v.shared_origin,
        load_phases=1,
        loads=loads,
        out_thread_y=v.out_thread_y,
        out_thread_x=v.out_thread_x,
        out_y=v.out_y,
        out_x=v.out_x,
        shared=v.shared,
        load_width=24,
        outputs_per_thread=(1, 2),
        bulk=True,
        staging=(1, 4),
        shared_parts=parts,
    )


@pytest.fixture
def view(qtbot: Any) -> ConvView:
    v = ConvView()
    qtbot.addWidget(v)
    v.set_choices(["naive", "made_up"], ["circles"], ["box"], ["NVIDIA H200"])
    v.resize(1300, 850)
    v.show()
    qtbot.waitExposed(v)
    return v


def test_cell_runs_cover_exactly_the_cells() -> None:
    ys = np.array([0, 0, 0, 2, 2, 0])
    xs = np.array([1, 2, 4, 0, 1, 2])  # (0, 2) twice
    rects = cell_runs(ys, xs)
    got = [(r.x(), r.y(), r.width(), r.height()) for r in rects]
    assert got == [(1, 0, 2, 1), (4, 0, 1, 1), (0, 2, 2, 1)]
    assert cell_runs(np.zeros(0), np.zeros(0)) == []


def test_setters_do_not_emit(view: ConvView, qtbot: Any) -> None:
    signals = [
        view.params_changed,
        view.pattern_selected,
        view.mask_kind_selected,
        view.mask_edited,
        view.card_changed,
        view.registers_changed,
        view.hardware_toggled,
        view.phase_changed,
    ]
    with (
        qtbot.assertNotEmitted(signals[0]),
        qtbot.assertNotEmitted(signals[3]),
        qtbot.assertNotEmitted(signals[5]),
        qtbot.assertNotEmitted(signals[6]),
        qtbot.assertNotEmitted(signals[7]),
    ):
        view.set_params(ConvParams(33, 44, 3, 8, "made_up"))
        view.set_mask("box", np.full((3, 3), 1 / 9, np.float32))
        view.set_counters(CountersDisplay((("Grid", "1", "how"),), ("line",), "NVIDIA H200", 40, "note"))
        view.set_hardware(True, "why", checked=True)
        view.set_block(_block(), (0, 0))
    assert view.params.params() == ConvParams(33, 44, 3, 8, "made_up")
    assert view.counters.registers_box.value() == 40
    assert view.hardware.check.isChecked()


def test_user_edits_emit_the_parameters(view: ConvView, qtbot: Any) -> None:
    view.set_params(ConvParams(33, 44, 3, 8, "naive"))
    with qtbot.waitSignal(view.params_changed) as got:
        view.params.tile_box.setValue(16)
    assert got.args == [ConvParams(33, 44, 3, 16, "naive")]
    with qtbot.waitSignal(view.params_changed) as got:
        view.params.strategy_box.setCurrentText("made_up")
    assert got.args[0].strategy == "made_up"


def test_the_mask_table_reports_typed_values(view: ConvView, qtbot: Any) -> None:
    view.set_mask("box", np.full((3, 3), 1 / 9, np.float32))
    with qtbot.waitSignal(view.mask_edited) as got:
        view.params.table.item(1, 2).setText("-4")
    values = got.args[0]
    assert values.dtype == np.float32 and values[1, 2] == -4 and values[0, 0] == pytest.approx(1 / 9, 1e-3)
    with qtbot.waitSignal(view.mask_edited) as got:
        view.params.table.item(0, 0).setText("abc")
    assert got.args[0][0, 0] == 0 and view.params.table.item(0, 0).text() == "0"
    view.set_mask("box", np.zeros((17, 17), np.float32))  # too big for a table: kind only
    assert not view.params.table.isEnabled()


def test_the_error_is_shown_inline_and_blocks_runs(view: ConvView) -> None:
    view.set_error("mask size must be odd (it has a centre), got 4")
    assert view.params.error.isVisible() and not view.run_panel.run_button.isEnabled()
    view.set_error("")
    assert view.params.error.isHidden() and view.run_panel.run_button.isEnabled()


def test_hovering_a_thread_names_its_loads(view: ConvView, qtbot: Any) -> None:
    view.set_block(_block(), (0, 0))
    threads = view.threads
    assert threads.stepper.steps == phase_steps(3)
    with qtbot.waitSignal(view.thread_hovered):
        threads.threads.cell_hovered.emit(0, 1)  # thread (0, 1) fills slots 1 and 5
    text = threads.info.text()
    assert "phase 1: slot (0, 1) ← a ghost cell" in text and "phase 2: slot (1, 2) ← in[0, 1]" in text
    ys, xs = threads.highlight()
    assert sorted(zip(ys.tolist(), xs.tolist(), strict=True)) == [(-1, 0), (0, 1)]
    assert sorted(threads.shared.marks + threads.shared.strong) == [(0, 1), (1, 2)]
    assert _cells(view.canvas.overlay.shapes["loads"]) == {(-1, 0), (0, 1)}
    threads.threads.cell_hovered.emit(-1, -1)
    threads.shared.cell_hovered.emit(2, 2)  # slot 8: thread (0, 0) in phase 3
    assert "in[1, 1]" in threads.info.text() and "thread (0, 0) in phase 3" in threads.info.text()


def test_group_loads_are_described_and_drawn_as_groups(view: ConvView) -> None:
    view.set_grid(GridDisplay(3, 6, (1, 4), (3, 2)))
    view.set_block(_vector_block(), (0, 3))
    threads = view.threads
    assert threads.stepper.steps == phase_steps(3, 4)
    assert threads.stepper.steps[0] == "load phase 1 of 3: one 16-byte group (4 slots) per thread"
    assert threads.stacked and threads.shared.group == 4  # the 3 x 8 tile is over twice as wide
    threads.threads.cell_hovered.emit(0, 0)
    text = threads.info.text()
    assert "phase 1: slots (0, 0..3) ← 4 ghost cells, zero-filled · 1 padding" in text
    assert "phase 2: slots (1, 0..3) ← in[0, 0..1] + 2 ghost cells (0) · 1 padding" in text
    assert "computes out[0, 0..1] (2 outputs)" in text
    threads.threads.cell_hovered.emit(0, 1)
    assert "phase 3: slots (2, 4..7) ← in[1, 2..5] · 1 padding" in threads.info.text()
    threads.threads.cell_hovered.emit(-1, -1)
    threads.shared.cell_hovered.emit(1, 7)  # in[0, 5]: right of the input tile
    text = threads.info.text()
    assert "in one 16-byte load of slots (1, 4..7)" in text and "alignment padding" in text
    assert threads.shared.strong == [(1, 7)]  # the whole group: one thin outline
    assert sorted(threads.shared.marks) == [(1, 4), (1, 5), (1, 6), (1, 7)]
    shapes = view.canvas.overlay.shapes
    assert _cells(shapes["padding"]) == {(0, 5), (1, 5)}  # loaded, read by no output
    assert [(r.top(), r.left(), r.bottom(), r.right()) for r in shapes["shared"]] == [(-1, -2, 2, 6)]
    assert _cells(shapes["ghost"]) == {(-1, x) for x in range(-2, 6)} | {(y, -2) for y in (0, 1)} | {
        (y, -1) for y in (0, 1)
    }
    assert [(r.top(), r.left(), r.bottom(), r.right()) for r in shapes["patch"]] == [(0, 2, 1, 4)]
    assert view.canvas.legend.labels["padding"].isVisibleTo(view)
    view.set_block(_block(), (0, 0))  # one slot a load: side by side
    assert not threads.stacked and not view.canvas.legend.labels["padding"].isVisibleTo(view)


def test_marks_on_neighbouring_cells_are_one_outline() -> None:
    assert _runs([(0, 2), (1, 0), (0, 1), (0, 4), (0, 2)]) == [(0, 1, 2), (0, 4, 1), (1, 0, 1)]
    whole = [(y, x) for y in range(36) for x in range(136)]  # a bulk copy's 36 x 136 tile
    assert _boxes(whole) == [(0, 0, 36, 136)]
    assert _boxes([(0, 1), (0, 2), (1, 1), (1, 2), (2, 1), (3, 1), (3, 2)]) == [
        (0, 1, 2, 2),
        (2, 1, 1, 1),
        (3, 1, 1, 2),
    ]


def test_a_bulk_copy_is_one_load_by_one_thread(view: ConvView) -> None:
    view.set_grid(GridDisplay(3, 6, (1, 4), (3, 2)))
    block = _bulk_block()
    assert block.shared_bytes == 152 and block.bulk_thread == (0, 0) and _block().shared_bytes == 36
    view.set_block(block, (0, 3))
    threads = view.threads
    steps = threads.stepper.steps
    assert steps == phase_steps(1, 24, bulk=(3, 8), staging=(1, 4))
    assert steps[0] == (
        "load phase 1 of 1: thread (0, 0) issues one bulk tensor copy (TMA) of the whole 3×8 "
        "tile (96 B); the copy engine zero-fills ghost cells without reading them; the other "
        "threads load nothing"
    )
    assert steps[1] == "mbarrier wait: every thread waits until the copy has landed and signalled the barrier"
    assert steps[2] == (
        "compute: each thread writes its outputs into the 1×4 staging tile in shared "
        "memory; after a barrier, thread (0, 0) issues one tensor store of the tile "
        "(the copy engine drops what lies past the image)"
    )
    assert (
        "shared tile 3×8 = 96 B (+ 32 B padding + 16 B output staging tile + 8 B mbarrier = 152 B), "
        "1 load phase: one bulk tensor copy (TMA) by thread (0, 0)"
    ) in threads.header.text()
    assert threads.stacked and threads.shared.group == 1  # no group lines across a bulk copy
    threads.set_step(0)
    loading = (threads.threads.colors != threads.threads.colors[0, 1]).any(axis=2)
    assert loading.tolist() == [[True, False]]  # only thread (0, 0) loads
    threads.threads.cell_hovered.emit(0, 0)
    text = threads.info.text()
    assert (
        "phase 1: one bulk tensor copy (TMA), 96 B: slots (0..2, 0..7) ← in[0..1, 0..5] + 12 ghost cells "
        "the copy engine zero-fills · 6 padding"
    ) in text
    assert threads.shared._boxes == ([], [(0, 0, 3, 8)])  # the whole tile: one strong outline
    assert len(threads.highlight()[0]) == 24 and len(_cells(view.canvas.overlay.shapes["loads"])) == 24
    threads.set_step(2)  # computing: the copy is done, thin
    assert threads.shared._boxes == ([(0, 0, 3, 8)], [])
    threads.threads.cell_hovered.emit(0, 1)
    text = threads.info.text()
    assert (
        "loads nothing: thread (0, 0)'s one tensor copy fills the whole shared tile; this thread waits "
        "at the mbarrier until the copy has landed"
    ) in text
    assert (
        "computes out[0, 2..3] (2 outputs) into the 1×4 staging tile; one tensor store writes it out"
    ) in text
    assert threads.shared._boxes == ([], []) and len(threads.highlight()[0]) == 0
    threads.threads.cell_hovered.emit(-1, -1)
    threads.shared.cell_hovered.emit(0, 3)  # in[-1, 1]: above the image
    text = threads.info.text()
    assert (
        "<b>slot (0, 3)</b> ← 0 (a ghost cell outside the image: the copy engine zero-fills it, "
        "reading nothing)<br>written by the one bulk tensor copy (TMA) that thread (0, 0) issues in "
        "phase 1: all 24 slots, 96 B"
    ) in text
    assert threads.shared.strong == [(0, 3)] and threads.shared._boxes[0] == [(0, 0, 3, 8)]


def test_the_phase_stepper_walks_loads_barrier_compute(view: ConvView, qtbot: Any) -> None:
    view.set_block(_block(), (0, 0))
    threads = view.threads
    assert threads.step_name == "compute"  # a new block starts at the compute step
    with qtbot.waitSignal(view.phase_changed):
        threads.stepper.slider.setValue(1)  # load phase 2: slots 4..7
    ys, xs = threads.highlight()
    loads = _block().loads
    rows = np.flatnonzero((loads.phase == 1) & ~loads.ghost)
    assert sorted(zip(ys.tolist(), xs.tolist(), strict=True)) == sorted(
        zip(loads.in_y[rows].tolist(), loads.in_x[rows].tolist(), strict=True)
    )
    colors = threads.shared.colors
    assert (colors[2, 2] == [246, 246, 246, 255]).all()  # slot 8 is loaded in phase 3: still empty
    threads.stepper.forward.click()
    threads.stepper.forward.click()
    assert threads.step_name.startswith("__syncthreads()")
    assert len(threads.highlight()[0]) == int((~loads.ghost).sum())  # every real load is in place
    threads.stepper.forward.click()
    assert threads.step_name == "compute" and not threads.stepper.forward.isEnabled()
    assert len(threads.highlight()[0]) == 0


def test_the_grid_item_thins_lines_and_caches_pictures(view: ConvView, qtbot: Any) -> None:
    canvas = view.canvas
    canvas.set_grid(GridDisplay(4096, 4096, (16, 16), (256, 256)))
    qtbot.wait(20)
    item: TileGridItem = canvas.grid_item
    canvas.plot.grab()
    steps = item.steps()
    assert steps[0] >= 4 and steps[1] >= 4  # 16-pixel tiles are under 4 screen pixels here
    assert 130 <= item.last_lines <= 300  # not 65,536 rectangles: every 4th line or fewer
    pictures = dict(item._pictures)
    canvas.plot.grab()
    assert item._pictures == pictures  # replayed, not redrawn
    box = item.boundingRect()
    assert box.contains(QRectF(0, 0, 4096, 4096))
    canvas.view_box.setRange(xRange=(100, 140), yRange=(100, 140), padding=0)
    qtbot.wait(20)
    canvas.plot.grab()
    assert item.steps() == (1, 1)
    assert item.last_lines <= 2 * (CHUNK_LINES + 1)  # one chunk is exposed


def test_the_overlay_bounds_cover_the_ghost_cells(view: ConvView) -> None:
    view.set_grid(GridDisplay(1, 1, (2, 2), (1, 1)))
    view.set_block(_block(), (0, 0))
    overlay = view.canvas.overlay
    box = overlay.boundingRect()
    for layer in overlay.shapes.values():
        for r in layer:
            assert box.contains(r)
    assert box.contains(QPointF(-1, -1))  # the ghost corner above-left of the image


def test_the_compare_chart(view: ConvView) -> None:
    c = CompareDisplay(
        "t",
        ("a T16", "b T16", "cuDNN"),
        (0.1, 0.3, 0.2),
        ("current", "ours", "reference"),
        "src",
        sizes=(4096, 8192),
        masks=(3, 5),
        size=8192,
        mask=5,
    )
    view.set_compare(c)
    assert list(view.compare.bars.opts["width"]) == [0.1, 0.3, 0.2]
    assert view.compare.size_box.currentData() == 8192 and view.compare.source.text() == "src"
    view.set_compare(None, "nothing")
    assert view.compare.bars is None and view.compare.source.text() == "nothing"


def _cells(rects: list[Any]) -> set[tuple[int, int]]:
    return {
        (y, x)
        for r in rects
        for y in range(round(r.top()), round(r.bottom()))
        for x in range(round(r.left()), round(r.right()))
    }
