"""The Convolution tiles explorer: what it draws is what engine.tiling computes; runs equal scipy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPointF, Qt
from scipy.signal import correlate2d

from app.context import AppContext
from app.conv_controller import ConvController
from app.display import ConvParams
from app.present import _conv as present_conv
from app.present import block_display, counters_display, shared_parts
from engine import conv_cuda, occupancy, tiling
from engine.conv_emulator import emulate
from engine.images import make_mask, make_pattern
from engine.tiling import geometry

TIMEOUT = 20_000
BENCH = Path(__file__).resolve().parents[2] / "bench" / "results" / "2026-11-28-conv-h200.json"
# 70 x 53 with tile 16 and mask 5: a 5 x 4 grid whose last row holds 6 rows and last column 5 columns.
SIZE = {"height": 70, "width": 53, "mask_size": 5, "tile": 16}
# 70 x 300: wide enough that every strategy, register2d's 16 x 128 tiles too, has a block whose input and
# shared tiles lie inside the image (around INTERIOR) and one that runs past its corner (BORDER).
WIDE = {"height": 70, "width": 300, "mask_size": 5, "tile": 16}
INTERIOR, BORDER = (37, 150), (69, 299)


def _strategies(**params: Any) -> list[str]:
    """The engine's strategies (read now: more get added) that accept ``params``."""
    ok = []
    for s in tiling.ALL_STRATEGIES:
        try:
            geometry(params["height"], params["width"], params["mask_size"], s, params["tile"])
        except ValueError:
            continue
        ok.append(s)
    return ok


@pytest.fixture
def conv(qtbot: Any, qapp: Any) -> Any:
    c = ConvController(AppContext(None, None), asynchronous=False)  # the explorer needs no model
    qtbot.addWidget(c.view)
    c.view.resize(1300, 850)
    c.view.show()
    qtbot.waitExposed(c.view)
    yield c
    c.shutdown()


@pytest.fixture
def live(qtbot: Any, qapp: Any) -> Any:
    """Asynchronous, like the app."""
    c = ConvController(AppContext(None, None))
    qtbot.addWidget(c.view)
    assert c.wait_idle(TIMEOUT)
    yield c
    c.shutdown()
    c.wait_idle(TIMEOUT)


def _view_point(c: ConvController, y: float, x: float) -> Any:
    """Widget coordinates (in the plot's viewport) of image point ``(y, x)``."""
    scene = c.view.canvas.view_box.mapViewToScene(QPointF(x, y))
    return c.view.canvas.plot.mapFromScene(scene)


def _cells(rects: list[Any]) -> set[tuple[int, int]]:
    out = set()
    for r in rects:
        for y in range(round(r.top()), round(r.bottom())):
            for x in range(round(r.left()), round(r.right())):
                out.add((y, x))
    return out


def _rect(r: Any) -> tuple[int, int, int, int]:
    return round(r.top()), round(r.left()), round(r.bottom()), round(r.right())


def test_it_is_registered() -> None:
    from app.explorers import EXPLORERS

    spec = next(e for e in EXPLORERS if e.name == "conv")
    assert spec.title == "Convolution tiles" and spec.load() is ConvController


def test_strategies_come_from_the_engine(conv: ConvController) -> None:
    box = conv.view.params.strategy_box
    assert [box.itemText(i) for i in range(box.count())] == list(tiling.ALL_STRATEGIES)


def _block_of(geom: tiling.TileGeometry, pixel: tuple[int, int]) -> tuple[int, int]:
    """The block whose output the engine says holds ``pixel``."""
    return next(
        b
        for b in geom.blocks()
        if all(s.start <= v < s.stop for s, v in zip(geom.block_output(*b), pixel, strict=True))
    )


@pytest.mark.parametrize("strategy", tiling.ALL_STRATEGIES)
@pytest.mark.parametrize("pixel", [INTERIOR, BORDER], ids=["interior", "border"])
def test_clicking_a_block_draws_the_engine_geometry(
    conv: ConvController, qtbot: Any, strategy: str, pixel: tuple[int, int]
) -> None:
    if strategy not in _strategies(**WIDE):
        pytest.skip(f"{strategy} does not take tile 16 with mask 5")
    assert conv.set_params(**WIDE, strategy=strategy)
    qtbot.mouseClick(
        conv.view.canvas.plot.viewport(),
        Qt.MouseButton.LeftButton,
        pos=_view_point(conv, pixel[0] + 0.5, pixel[1] + 0.5),
    )
    geom = geometry(70, 300, 5, strategy, 16)
    block, border = _block_of(geom, pixel), pixel == BORDER
    assert conv.block == block and conv.pixel == pixel
    shapes = conv.view.canvas.overlay.shapes
    rows, cols = geom.block_output(*block)
    assert [_rect(r) for r in shapes["output"]] == [(rows.start, cols.start, rows.stop, cols.stop)]
    iy, ix = geom.input_origin(*block)
    sy, sx = geom.input_shape()
    assert [_rect(r) for r in shapes["input"]] == [(iy, ix, iy + sy, ix + sx)]
    # ghost cells: the input tile's outside the image, and every shared slot that gets 0
    plan = geom.load_plan(*block)
    gy, gx = np.nonzero(geom.ghost_mask(*block))
    ghost = set(zip((gy + iy).tolist(), (gx + ix).tolist(), strict=True))
    ghost |= set(zip(plan.in_y[plan.ghost].tolist(), plan.in_x[plan.ghost].tolist(), strict=True))
    assert _cells(shapes["ghost"]) == ghost
    assert bool(ghost) == border and bool(plan.ghost.any()) == (border and geom.shared_bytes > 0)
    assert bool(shapes["tile"]) == border  # the border tile runs past the image
    # the shared tile's padding: loaded slots outside the input tile (register2d's aligned columns)
    real = ~plan.ghost
    outside = real & ((plan.in_y < iy) | (plan.in_y >= iy + sy) | (plan.in_x < ix) | (plan.in_x >= ix + sx))
    assert _cells(shapes["padding"]) == set(
        zip(plan.in_y[outside].tolist(), plan.in_x[outside].tolist(), strict=True)
    )
    assert bool(outside.any()) == (geom.halo_cols > geom.radius)
    if geom.halo_cols > geom.radius:
        oy, ox = geom.shared_origin(*block)
        assert [_rect(r) for r in shapes["shared"]] == [
            (oy, ox, oy + geom.shared_tile[0], ox + geom.shared_tile[1])
        ]
    else:
        assert shapes["shared"] == []
    assert _cells(shapes["footprint"]) == {
        (pixel[0] + dy, pixel[1] + dx) for dy in range(-2, 3) for dx in range(-2, 3)
    }
    # the threads panel shows this block's threads, shared tile and load plan
    threads = conv.view.threads
    assert threads.threads.colors.shape[:2] == geom.block
    shown = threads.block.loads
    for name in ("thread_y", "thread_x", "phase", "smem_y", "smem_x", "in_y", "in_x", "ghost"):
        np.testing.assert_array_equal(getattr(shown, name), getattr(plan, name))
    if geom.shared_bytes:
        assert threads.shared.colors.shape[:2] == geom.shared_tile
    assert threads.stepper.steps[-1].startswith("compute") or not geom.shared_bytes
    assert len(threads.stepper.steps) == (geom.load_phases + 2 if geom.shared_bytes else 1)
    who = threads.block.thread_of_output(*pixel)
    ty, tx, oy, ox = geom.thread_outputs(*block)
    i = int(np.flatnonzero((oy == pixel[0]) & (ox == pixel[1]))[0])
    assert who == (ty[i], tx[i])
    # every output of that thread: a 4 x 4 patch for register2d, 4 x 1 for register, none to outline else
    mine = (ty == ty[i]) & (tx == tx[i])
    patch = [(int(oy[mine].min()), int(ox[mine].min()), int(oy[mine].max()) + 1, int(ox[mine].max()) + 1)]
    assert [_rect(r) for r in shapes["patch"]] == (patch if mine.sum() > 1 else [])


def test_register2d_threads_load_16_byte_groups_and_compute_4x4_patches(conv: ConvController) -> None:
    conv.set_params(**WIDE, strategy="register2d")
    geom = geometry(70, 300, 5, "register2d", 16)
    block = _block_of(geom, INTERIOR)
    conv.select_block(*block, INTERIOR)
    threads, plan = conv.view.threads, geom.load_plan(*block)
    assert threads.stacked  # 4 x 32 threads over a 20 x 136 tile
    assert (
        threads.stepper.steps[0] == f"load phase 1 of {geom.load_phases}: one 16-byte group (4 slots) "
        f"per thread"
    )
    ty, tx = threads.block.thread_of_output(*INTERIOR)
    threads.threads.cell_hovered.emit(ty, tx)
    text = threads.info.text()
    mine = np.flatnonzero((plan.thread_y == ty) & (plan.thread_x == tx))
    assert len(mine) == 4 * len(set(plan.phase[mine].tolist()))  # one group of 4 slots per phase
    for g in mine[::4]:
        assert (
            f"phase {plan.phase[g] + 1}: slots ({plan.smem_y[g]}, {plan.smem_x[g]}.."
            f"{plan.smem_x[g] + 3}) ← in[{plan.in_y[g]}, {plan.in_x[g]}..{plan.in_x[g] + 3}]"
        ) in text
    t_y, t_x, oy, ox = geom.thread_outputs(*block)
    out = (t_y == ty) & (t_x == tx)
    assert out.sum() == 16
    assert (
        f"computes out[{oy[out].min()}..{oy[out].max()}, {ox[out].min()}..{ox[out].max()}] (16 outputs)"
    ) in text
    ys, xs = threads.highlight()  # on the canvas: the thread's 16-byte loads
    assert sorted(zip(ys.tolist(), xs.tolist(), strict=True)) == sorted(
        zip(plan.in_y[mine].tolist(), plan.in_x[mine].tolist(), strict=True)
    )
    threads.threads.cell_hovered.emit(-1, -1)
    threads.shared.cell_hovered.emit(0, 1)  # left of the input tile: padding
    text = threads.info.text()
    assert f"in[{plan.in_y[1]}, {plan.in_x[1]}]" in text and "alignment padding" in text
    assert "in one 16-byte load of slots (0, 0..3)" in text
    assert threads.shared.strong == [(0, 1)]  # the whole group: one thin outline
    assert sorted(threads.shared.marks) == [(0, 0), (0, 1), (0, 2), (0, 3)]
    legend = conv.view.canvas.legend.labels
    assert legend["padding"].isVisible() and legend["patch"].isVisible()
    conv.set_params(strategy="output_tile")  # square tiles, one output a thread
    assert not threads.stacked
    assert not legend["padding"].isVisible() and not legend["patch"].isVisible()


def test_register2d_ghost_groups_are_zero_filled(conv: ConvController, tmp_path: Path) -> None:
    conv.set_params(**WIDE, strategy="register2d")
    geom = geometry(70, 300, 5, "register2d", 16)
    block = _block_of(geom, BORDER)
    conv.select_block(*block, BORDER)
    plan = geom.load_plan(*block)
    g = int(np.flatnonzero(plan.ghost & (plan.smem_y == 0))[0])  # the first ghost group of row 0
    ty, tx = int(plan.thread_y[g]), int(plan.thread_x[g])
    conv.view.threads.threads.cell_hovered.emit(ty, tx)
    assert (
        f"phase {plan.phase[g] + 1}: slots (0, {plan.smem_x[g]}..{plan.smem_x[g] + 3}) ← 4 ghost cells, "
        f"zero-filled"
    ) in conv.view.threads.info.text()
    text = conv.view.counters.table.text()
    assert "Load phases" in text and "r rounded up to 4" in text and "16-byte" in text
    bench = tmp_path / "bench.json"
    bench.write_text(
        json.dumps(
            {
                "rows": [
                    {
                        "impl": "ours",
                        "strategy": "register2d",
                        "tile": 16,
                        "size": 512,
                        "mask": 5,
                        "median_ms": 0.01,
                        "registers": 40,
                    }
                ]
            }
        )
    )
    assert conv.load_benchmark_file(bench)
    assert "40 registers per thread: what nvcc gave register2d" in conv.view.counters.registers_note.text()
    assert "10,880 B + 1,024 B reserved" in conv.view.counters.occupancy.text()  # the 20 x 136 tile


def test_tma_one_thread_fills_the_tile_with_one_bulk_tensor_copy(conv: ConvController) -> None:
    conv.set_params(**WIDE, strategy="tma")
    geom = geometry(70, 300, 5, "tma", 16)
    (sh, sw), slots = geom.shared_tile, geom.shared_tile[0] * geom.shared_tile[1]
    block = _block_of(geom, BORDER)  # past the image's corner: ghost cells
    conv.select_block(*block, BORDER)
    threads, plan = conv.view.threads, geom.load_plan(*block)
    assert geom.load_phases == 1 and (plan.thread_y == 0).all() and (plan.thread_x == 0).all()
    assert plan.ghost.any() and not plan.ghost.all()
    steps = threads.stepper.steps
    assert len(steps) == 3
    assert steps[0] == (
        f"load phase 1 of 1: thread (0, 0) issues one bulk tensor copy (TMA) of the "
        f"whole {sh}×{sw} tile ({4 * slots:,} B); the copy engine zero-fills ghost cells "
        f"without reading them; the other threads load nothing"
    )
    assert steps[1].startswith("mbarrier wait: every thread waits until the copy has landed")
    assert steps[2].startswith("compute: each thread writes its outputs into the 16×128 staging tile")
    assert "one tensor store" in steps[2]
    assert not any("byte group" in step or "__syncthreads" in step for step in steps)
    header = threads.header.text()
    staging, barrier = 16 * 128 * 4, 8
    pad = geom.shared_bytes - 4 * slots - staging - barrier
    extra = (f"+ {pad} B padding " if pad else "") + f"+ {staging:,} B output staging tile + 8 B mbarrier"
    assert (
        f"shared tile {sh}×{sw} = {4 * slots:,} B ({extra} = {geom.shared_bytes:,} B), 1 load phase: one "
        f"bulk tensor copy (TMA) by thread (0, 0)"
    ) in header
    assert "byte group" not in header
    assert threads.shared.group == 1  # no 4-slot group lines over the tile
    threads.set_step(0)  # the load phase: only thread (0, 0) loads
    loading = (threads.threads.colors != threads.threads.colors[1, 1]).any(axis=2)
    assert np.argwhere(loading).tolist() == [[0, 0]]
    # thread (0, 0): the whole tile in one copy, named as a rectangle, outlined as one
    threads.threads.cell_hovered.emit(0, 0)
    iy, ix = plan.in_y[~plan.ghost], plan.in_x[~plan.ghost]
    text = threads.info.text()
    assert (
        f"phase 1: one bulk tensor copy (TMA), {4 * slots:,} B: slots (0..{sh - 1}, 0..{sw - 1}) ← "
        f"in[{iy.min()}..{iy.max()}, {ix.min()}..{ix.max()}] + {int(plan.ghost.sum()):,} ghost cells the "
        f"copy engine zero-fills"
    ) in text
    assert len(threads.shared.strong) == len(plan) and threads.shared._boxes[1] == [(0, 0, sh, sw)]
    ys, xs = threads.highlight()
    assert sorted(zip(ys.tolist(), xs.tolist(), strict=True)) == sorted(
        zip(plan.in_y.tolist(), plan.in_x.tolist(), strict=True)
    )
    # any other thread loads nothing and waits at the barrier
    threads.threads.cell_hovered.emit(1, 10)
    text = threads.info.text()
    assert "loads nothing: thread (0, 0)'s one tensor copy fills the whole shared tile" in text
    assert "waits at the mbarrier" in text and "phase 1" not in text
    assert threads.shared.strong == [] and threads.shared.marks == []
    assert len(threads.highlight()[0]) == 0
    # its outputs past the image are staged, then dropped by the tensor store
    assert (
        "computes out[68..69, 296..299] (8 outputs) into the 16×128 staging tile; one tensor store "
        "writes it out; its other 8 fall outside the image and are not written (the tensor store drops "
        "them)"
    ) in text
    threads.threads.cell_hovered.emit(-1, -1)
    g = int(np.flatnonzero(plan.ghost)[0])
    threads.shared.cell_hovered.emit(int(plan.smem_y[g]), int(plan.smem_x[g]))
    text = threads.info.text()
    assert "the copy engine zero-fills it, reading nothing" in text
    assert (
        f"written by the one bulk tensor copy (TMA) that thread (0, 0) issues in phase 1: all {slots:,} slots"
    ) in text
    assert threads.shared._boxes[0] == [(0, 0, sh, sw)]  # the whole copy, one thin outline


def test_tma_counters_show_the_staging_tile_and_the_bulk_copy(conv: ConvController) -> None:
    conv.set_params(**WIDE, strategy="tma")
    geom = geometry(70, 300, 5, "tma", 16)
    (sh, sw), slots = geom.shared_tile, geom.shared_tile[0] * geom.shared_tile[1]
    shown = counters_display(conv.geometry, conv.counters, occupancy.occupancy(conv.geometry), 32, "")
    rows = {name: (value, how) for name, value, how in shown.rows}
    value, how = rows["Shared memory per block"]
    assert value == f"{geom.shared_bytes:,} B"
    assert how.startswith(f"{4 * slots:,} B input tile ({sh}×{sw}) + ")
    assert (
        "+ 8,192 B output staging tile (16×128 floats; the tensor store reads it) + 8 B mbarrier (the "
        "copy signals it). The input tile"
    ) in how
    r, h = geom.radius, geom.halo_cols
    assert (
        f"the 16×128 tile, r = {r} rows above and below, {h} columns left and right (r rounded up to "
        f"{h}, so each row of the tensor copy starts on a {4 * h}-byte boundary)"
    ) in how  # r = 2: h = 8
    value, how = rows["Load phases"]
    assert value == "1" and "byte group" not in how
    assert how.startswith(
        f"one bulk tensor copy (TMA) issued by thread (0, 0) fills all {slots:,} slots ({4 * slots:,} B)"
    )
    assert "the other 127 threads load nothing and wait on the mbarrier" in how
    assert "leave by one tensor store" in rows["Block"][1]
    assert "cannot run" not in rows["Occupancy"][1]  # the H200 is sm_90
    text = conv.view.counters.table.text()
    assert "8,192 B output staging tile" in text and f"{geom.shared_bytes:,} B" in text
    conv.set_card("NVIDIA A100")
    assert (
        "tma needs compute capability 9.0+ (the Tensor Memory Accelerator): the NVIDIA A100 (sm_80) "
        "cannot run it at all"
    ) in conv.view.counters.table.text()
    conv.set_params(strategy="register2d")  # no staging tile, and the A100 runs it
    text = conv.view.counters.table.text()
    assert "10,880 B" in text and "staging" not in text and "cannot run" not in text and "16-byte" in text


@pytest.mark.parametrize(("mask", "tile"), [(3, 16), (5, 16), (5, 32), (9, 8), (21, 16)])
def test_tma_shared_parts_add_up_to_the_engines_shared_bytes(mask: int, tile: int) -> None:
    geom = geometry(100, 300, mask, "tma", tile)
    parts = dict(shared_parts(geom))
    assert sum(parts.values()) == geom.shared_bytes
    assert parts["input tile"] == geom.shared_tile[0] * geom.shared_tile[1] * 4
    assert parts["output staging tile"] == tile * 128 * 4 and parts["mbarrier"] == 8
    assert (parts["input tile"] + parts.get("padding", 0)) % 128 == 0  # the staging tile: 128-byte aligned
    assert ("padding" in parts) == bool(parts["input tile"] % 128)
    assert shared_parts(geometry(100, 300, mask, "register2d", tile)) == ()


def test_arrow_keys_move_the_block_and_shift_moves_the_pixel(conv: ConvController, qtbot: Any) -> None:
    conv.set_params(**SIZE, strategy="output_tile")
    conv.select_block(2, 1, (37, 20))
    plot = conv.view.canvas.plot
    qtbot.keyClick(plot, Qt.Key.Key_Right)
    assert conv.block == (2, 2) and conv.pixel == (37, 36)  # the same place in the next tile
    qtbot.keyClick(plot, Qt.Key.Key_Down)
    qtbot.keyClick(plot, Qt.Key.Key_Down)
    qtbot.keyClick(plot, Qt.Key.Key_Down)  # clamped at the last block row
    assert conv.block == (4, 2) and conv.pixel == (69, 36)  # clamped into the 6-row tile
    qtbot.keyClick(plot, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert conv.block == (4, 2) and conv.pixel == (69, 35)
    conv.select_pixel(64, 32)
    qtbot.keyClick(plot, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert conv.block == (4, 1) and conv.pixel == (64, 31)  # Shift crosses into the next block


def test_the_overlay_is_painted_where_the_engine_says(conv: ConvController, qtbot: Any) -> None:
    """Rendered pixels: ghost cells (outside the image) are painted, the rest of the outside is not."""
    conv.set_pattern("impulse")
    conv.set_params(**SIZE, strategy="output_tile")
    conv.select_block(4, 3, (69, 52))
    conv.view.threads.set_step(len(conv.view.threads.stepper.steps) - 1)
    conv.view.canvas.zoom_to_block(0.5)
    qtbot.wait(50)
    img = conv.view.canvas.plot.grab().toImage()

    def color(y: float, x: float) -> tuple[int, int, int]:
        p = _view_point(conv, y, x)
        c = img.pixelColor(round(p.x() * img.devicePixelRatio()), round(p.y() * img.devicePixelRatio()))
        return c.red(), c.green(), c.blue()

    # input tile rows 62..81, columns 46..65; the image ends at row 70 and column 53
    r, g, b = color(72.5, 47.5)  # a ghost cell below the image, left of the footprint
    assert r > 120 and r > g + 40 and r > b + 60
    assert max(color(72.5, 70.5)) < 40  # outside the image and outside the input tile: background
    r, g, b = color(60.5, 35.5)  # in the image, outside this block's input tile: no overlay
    assert abs(r - g) < 10 and abs(g - b) < 10


@pytest.mark.parametrize(
    ("changes", "args"),
    [
        ({"height": 0}, (0, 53, 5, "output_tile", 16)),
        ({"mask_size": 4}, (70, 53, 4, "output_tile", 16)),
        ({"mask_size": 65}, (70, 53, 65, "output_tile", 16)),
        ({"tile": 0}, (70, 53, 5, "output_tile", 0)),
        ({"tile": 18, "strategy": "register"}, (70, 53, 5, "register", 18)),
        ({"tile": 32, "strategy": "input_tile"}, (70, 53, 5, "input_tile", 32)),
    ],
    ids=["empty", "even", "too-large", "tile-0", "register-tile", "too-many-threads"],
)
def test_invalid_parameters_show_the_engines_message(
    conv: ConvController, changes: dict[str, Any], args: tuple[Any, ...]
) -> None:
    conv.set_params(**SIZE, strategy="output_tile")
    with pytest.raises(ValueError) as engine_says:
        geometry(*args)
    assert not conv.set_params(**changes)
    error = conv.view.params.error
    assert error.text() == str(engine_says.value) and error.isVisible()
    assert not conv.view.run_panel.run_button.isEnabled()
    assert conv.set_params(**SIZE, strategy="output_tile")
    assert error.isHidden() and conv.view.run_panel.run_button.isEnabled()


def test_invalid_values_typed_in_the_panel_show_the_message(conv: ConvController) -> None:
    conv.view.params.mask_box.setValue(6)  # as the user would; synchronous: applied now
    assert "mask size must be odd" in conv.view.params.error.text()
    assert conv.params.mask_size == 6 and conv.geometry is None


@pytest.mark.parametrize("strategy", tiling.ALL_STRATEGIES)
def test_the_run_on_the_emulator_equals_scipy(conv: ConvController, monkeypatch: Any, strategy: str) -> None:
    monkeypatch.setattr(conv, "gpu", False)
    if strategy not in _strategies(height=37, width=53, mask_size=5, tile=8):
        pytest.skip(f"{strategy} does not take tile 8")
    conv.set_pattern("random noise")
    conv.set_mask_kind("Sobel x")
    conv.set_params(height=37, width=53, mask_size=5, tile=8, strategy=strategy)  # runs by itself: small
    run = conv.run
    assert run is not None and run.backend == "emulator" and run.strategy == strategy
    image, mask = make_pattern("random noise", 37, 53), make_mask("Sobel x", 5)
    np.testing.assert_array_equal(run.input, image)
    want = correlate2d(image.astype(np.float64), mask.astype(np.float64), mode="same")
    np.testing.assert_allclose(run.output, want, rtol=1e-5, atol=1e-5)
    assert "CPU emulator" in conv.view.run_panel.result.text()
    assert "no GPU here" in conv.view.run_panel.backend.text()


def test_counters_are_the_emulators(conv: ConvController) -> None:
    conv.set_params(**SIZE, strategy="output_tile")
    want = emulate(np.zeros((70, 53), np.float32), np.zeros((5, 5), np.float32), "output_tile", 16)[2]
    assert conv.counters == want
    text = conv.view.counters.table.text()
    assert f"{want.loads_per_output:.3f}" in text and f"{want.reuse:.2f}" in text and "1,600 B" in text
    assert "NVIDIA H200" in conv.view.counters.occupancy.text()
    conv.set_card("NVIDIA T4")
    assert "NVIDIA T4" in conv.view.counters.occupancy.text()
    conv.view.counters.registers_box.setValue(255)  # the user's register count wins
    assert "255 per thread" in conv.view.counters.occupancy.text()


def test_the_benchmark_json_loads_into_the_bar_chart(conv: ConvController) -> None:
    assert conv.load_benchmark_file(BENCH)
    conv.show_benchmark(8192, 7)
    rows = json.loads(BENCH.read_text())["rows"]
    ours = sorted(
        (r for r in rows if r["impl"] == "ours" and r["size"] == 8192 and r["mask"] == 7),
        key=lambda r: r["median_ms"],
    )
    bars = conv.view.compare.bars
    assert bars is not None
    widths = list(bars.opts["width"])
    assert widths[: len(ours)] == [r["median_ms"] for r in ours]
    labels = [lab for _, lab in conv.view.compare.plot.getPlotItem().getAxis("left")._tickLevels[0]]
    assert labels[0] == f"{ours[0]['strategy']} T{ours[0]['tile']}"
    assert "cuDNN" in labels and "copy floor (read + write)" in labels
    assert conv.view.compare.size_box.currentData() == 8192 and conv.view.compare.mask_box.currentData() == 7


def test_a_benchmark_with_a_new_strategy_and_a_broken_one(conv: ConvController, tmp_path: Path) -> None:
    new = tmp_path / "new.json"
    new.write_text(
        json.dumps(
            {
                "rows": [
                    {
                        "impl": "ours",
                        "strategy": "tma_pipeline",
                        "tile": 32,
                        "size": 512,
                        "mask": 3,
                        "median_ms": 0.01,
                    },
                    {"impl": "cudnn", "size": 512, "mask": 3, "median_ms": 0.05},
                ]
            }
        )
    )
    assert conv.load_benchmark_file(new)
    assert list(conv.view.compare.bars.opts["width"]) == [0.01, 0.05]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert not conv.load_benchmark_file(bad)
    assert "is not JSON" in conv.view.message.text()
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"rows": [{"x": 1}]}))
    assert not conv.load_benchmark_file(other)
    assert "not a convolution benchmark" in conv.view.compare.source.text()


def test_timing_every_strategy_on_the_emulator(conv: ConvController, monkeypatch: Any) -> None:
    monkeypatch.setattr(conv, "gpu", False)
    conv.set_params(height=40, width=33, mask_size=5, tile=16, strategy="output_tile")
    conv.time_strategies()
    _, times, skipped, gpu, _ = conv.compare_state
    assert not gpu and set(times) == set(_strategies(height=40, width=33, mask_size=5, tile=16))
    assert all(t > 0 for t in times.values())
    assert len(skipped) == len(tiling.ALL_STRATEGIES) - len(times)
    assert len(conv.view.compare.bars.opts["width"]) == len(times)


def test_runs_happen_off_the_gui_thread_and_stale_ones_are_dropped(
    live: ConvController, qtbot: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(live, "gpu", False)
    live.set_params(height=64, width=64, mask_size=3, tile=16, strategy="output_tile")
    with qtbot.waitSignal(live.run_finished, timeout=TIMEOUT):
        live.run_convolution()
        live.run_convolution()  # the first one's result is stale now
    assert live.wait_idle(TIMEOUT)
    assert live.run is not None and live.run.output.shape == (64, 64)
    assert live.jobs.generation("run") >= 2


def test_cancel_stops_a_long_emulation(live: ConvController, qtbot: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(live, "gpu", False)
    monkeypatch.setattr(present_conv, "BAND_PIXELS", 64 * 64)  # many small steps to stop between
    live.set_params(height=1024, width=1024, mask_size=3, tile=16, strategy="cached_halo")
    assert live.wait_idle(TIMEOUT)
    assert live.run is None and "Press Run" in live.view.run_panel.result.text()  # too big to start itself
    finished: list[int] = []
    live.run_finished.connect(finished.append)
    live.run_convolution()
    qtbot.waitUntil(lambda: live.view.run_panel.cancel_button.isEnabled(), timeout=TIMEOUT)
    live.view.run_panel.cancel_button.click()
    assert live.wait_idle(TIMEOUT)
    qtbot.wait(100)
    assert not finished and live.run is None
    assert live.view.run_panel.result.text() == "Cancelled."


def test_large_images_are_drawn_off_the_gui_thread(live: ConvController, monkeypatch: Any) -> None:
    monkeypatch.setattr(live, "gpu", False)
    live.view.params.height_box.setValue(2048)  # debounced, then drawn in a worker: 2 M pixels
    live.view.params.width_box.setValue(1024)
    assert live.busy
    assert live.wait_idle(TIMEOUT)
    assert live.image.shape == (2048, 1024) and live.geometry.grid == (128, 64)
    np.testing.assert_array_equal(live.image, make_pattern(live.pattern, 2048, 1024))
    assert "Press Run" in live.view.run_panel.result.text()


def test_the_settings_are_kept(qtbot: Any, qapp: Any) -> None:
    from PySide6.QtCore import QSettings

    a = ConvController(AppContext(None, QSettings()), asynchronous=False)
    qtbot.addWidget(a.view)
    a.set_params(height=40, width=90, mask_size=7, tile=8, strategy="register")
    a.set_pattern("checkerboard")
    b = ConvController(AppContext(None, QSettings()), asynchronous=False)
    qtbot.addWidget(b.view)
    assert b.params == ConvParams(40, 90, 7, 8, "register") and b.pattern == "checkerboard"


@pytest.mark.parametrize(
    "stored",
    [
        {"conv/height": 100000, "conv/width": 100000},  # 37 GB of float32 in a worker (issue 13)
        {"conv/height": "lots", "conv/tile": [1, 2]},  # not numbers
        {"conv/mask_size": 4, "conv/strategy": "output_tile"},  # an even mask the engine refuses
        {"conv/strategy": "no-such-strategy"},
    ],
)
def test_stored_settings_are_checked_before_use(qtbot: Any, qapp: Any, stored: dict[str, Any]) -> None:
    """A stale or hand-edited settings file falls back to the defaults; nothing big is allocated."""
    from PySide6.QtCore import QSettings

    settings = QSettings()
    for key, value in stored.items():
        settings.setValue(key, value)
    c = ConvController(AppContext(None, settings), asynchronous=False)
    qtbot.addWidget(c.view)
    assert c.params == ConvParams() and c.geometry is not None
    assert c.image is not None and c.image.shape == (ConvParams().height, ConvParams().width)


def test_opening_images(conv: ConvController, tmp_path: Path) -> None:
    from PIL import Image

    rgb = np.random.default_rng(0).integers(0, 256, (30, 41, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "photo.png")
    assert conv.open_image(tmp_path / "photo.png")
    assert (conv.params.height, conv.params.width) == (30, 41)
    want = np.asarray(Image.fromarray(rgb).convert("L"), np.float32) / 255
    np.testing.assert_array_equal(conv.image, want)
    assert "photo.png" in conv.view.params.source.text()
    conv.set_params(height=60)  # resized to the new size
    assert conv.image.shape == (60, 41)
    (tmp_path / "notes.png").write_text("not an image")
    assert not conv.open_image(tmp_path / "notes.png")
    assert "not an image" in conv.view.message.text()
    assert conv.image.shape == (60, 41)  # the last image stays


def test_masks_from_presets_and_from_the_table(conv: ConvController, monkeypatch: Any) -> None:
    monkeypatch.setattr(conv, "gpu", False)
    conv.set_params(height=20, width=24, mask_size=3, tile=8, strategy="output_tile")
    conv.set_mask_kind("sharpen")
    np.testing.assert_array_equal(conv.mask, make_mask("sharpen", 3))
    table = conv.view.params.table
    table.item(0, 0).setText("2.5")  # as if typed: a custom mask
    assert conv.mask_kind == "custom" and conv.mask[0, 0] == 2.5
    assert conv.view.params.kind_box.currentText() == "custom"
    want = correlate2d(conv.image.astype(np.float64), conv.mask.astype(np.float64), mode="same")
    np.testing.assert_allclose(conv.run.output, want, rtol=1e-5, atol=1e-5)
    conv.set_params(mask_size=5)  # a custom mask keeps its centre
    assert conv.mask.shape == (5, 5) and conv.mask[1, 1] == 2.5 and conv.mask[0, 0] == 0


class _FakeGPU:
    """Stands in for engine.conv_cuda.run_cuda: emulator output, the plan as the recorded load map."""

    def __init__(self, broken_slot: int | None = None) -> None:
        self.broken_slot = broken_slot
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, geom: Any, repeats: int = 20, record_blocks: Any = ()
    ) -> conv_cuda.CudaResult:
        strategy, tile = geom.strategy, geom.tile[0]
        self.calls.append({"strategy": strategy, "record_blocks": list(record_blocks)})
        records = {}
        for block in record_blocks:
            plan = geom.load_plan(*block)
            rec = {f: np.asarray(getattr(plan, f)).astype(np.int32) for f in conv_cuda.RECORD_FIELDS[:8]}
            rec["ghost"] = plan.ghost.copy()
            rec["writes"] = np.ones(len(plan), np.int32)
            if self.broken_slot is not None:
                rec["writes"][self.broken_slot] = 0
                rec["thread_y"][self.broken_slot] = -1
            records[tuple(block)] = rec
        out = emulate(image, mask, strategy, tile)[0]
        return conv_cuda.CudaResult(out, geom, [0.1, 0.2, 0.3], 0.2, records, f"conv_{strategy}", 30, 0, "")


@pytest.fixture
def gpu(monkeypatch: Any) -> _FakeGPU:
    fake = _FakeGPU()
    monkeypatch.setattr(conv_cuda, "cuda_available", lambda: True)
    monkeypatch.setattr(conv_cuda, "describe_gpu", lambda: "NVIDIA H200, sm_90, 1 GPU(s)")
    monkeypatch.setattr(conv_cuda, "run_cuda_geometry", fake)
    return fake


def test_with_a_gpu_runs_go_there_and_the_hardware_mode_shows_recorded_loads(
    qtbot: Any, qapp: Any, gpu: _FakeGPU
) -> None:
    c = ConvController(AppContext(None, None), asynchronous=False)
    qtbot.addWidget(c.view)
    c.set_params(**SIZE, strategy="output_tile")
    assert c.run.backend == "gpu" and c.run.kernel_ms == 0.2
    assert "NVIDIA H200" in c.view.run_panel.backend.text()
    assert "kernel 0.2000 ms" in c.view.run_panel.result.text()
    assert "from the kernel compiled" in c.view.counters.registers_note.text()
    assert c.view.hardware.check.isEnabled()
    c.select_block(4, 3)
    c.view.hardware.check.setChecked(True)
    assert gpu.calls[-1]["record_blocks"] == [(4, 3)]
    assert c.block_view.source == "hardware"
    assert "All 400 recorded slots match" in c.view.hardware.result.text()
    gpu.broken_slot = 5
    c.select_block(4, 2)
    assert "1 of 400 recorded slots differ" in c.view.hardware.result.text()
    assert not c.block_view.loads.loaded[5]
    c.set_params(strategy="naive")
    assert "loads nothing into shared memory" in c.view.hardware.result.text()
    c.shutdown()


def test_without_a_gpu_the_hardware_mode_is_disabled_with_the_reason(
    qtbot: Any, qapp: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(conv_cuda, "cuda_available", lambda: False)
    c = ConvController(AppContext(None, None), asynchronous=False)
    qtbot.addWidget(c.view)
    assert not c.view.hardware.check.isEnabled() and not c.view.hardware.record.isEnabled()
    assert "Needs an NVIDIA GPU" in c.view.hardware.reason.text()
    c.set_hardware(True)
    assert not c.hardware_on and c.block_view.source == "geometry"


def test_block_display_of_recorded_loads_marks_unwritten_slots() -> None:
    geom = geometry(40, 40, 3, "output_tile", 16)
    plan = geom.load_plan(0, 0)
    rec = {f: np.asarray(getattr(plan, f)).astype(np.int32) for f in conv_cuda.RECORD_FIELDS[:8]}
    rec["ghost"] = plan.ghost.copy()
    rec["writes"] = np.ones(len(plan), np.int32)
    rec["in_x"][7] += 1
    shown = block_display(geom, 0, 0, rec)
    assert shown.source == "hardware" and "1 of 324 recorded slots differ" in shown.note


def test_the_screenshot_command_renders_this_view(tmp_path: Path) -> None:
    from app.gui import screenshot

    out = screenshot(tmp_path / "conv.png", view="conv", size=(1200, 800))
    from PySide6.QtGui import QImage

    img = QImage(str(out))
    assert img.width() >= 1200 and img.height() >= 800
