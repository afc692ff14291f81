"""The selected block's threads and shared-memory tile, stepped through load phases → barrier → compute."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.display import COLORS, BlockDisplay, phase_steps
from app.widgets._conv_threads import CellGrid, PhaseStepper

__all__ = ["ThreadsPanel"]

HINT = "Hover a thread to see what it loads, or a shared-memory slot to see who fills it."
_EMPTY = (246, 246, 246, 255)
_IDLE = (215, 215, 215, 255)
_NEVER = (40, 40, 40, 255)  # a recorded slot no thread wrote


def _rgba(name: str, strength: float = 1.0) -> tuple[int, int, int, int]:
    """COLORS[name] blended with white: strength 1 is the colour itself."""
    c = QColor(COLORS[name])
    mix = [round(255 + (v - 255) * strength) for v in (c.red(), c.green(), c.blue())]
    return mix[0], mix[1], mix[2], 255


def _swatch(name: str, strength: float = 1.0) -> str:
    r, g, b, _ = _rgba(name, strength)
    return f"<span style='color: rgb({r},{g},{b}); font-size: 14pt;'>■</span>"


class ThreadsPanel(QWidget):
    """Signals
    -------
    thread_hovered(int, int)
        Thread ``(ty, tx)`` under the mouse; ``(-1, -1)`` when none.
    slot_hovered(int, int)
        Shared slot ``(sy, sx)`` under the mouse; ``(-1, -1)`` when none.
    step_changed(int)
        The phase stepper moved (index into :func:`phase_steps`).
    """

    thread_hovered = Signal(int, int)
    slot_hovered = Signal(int, int)
    step_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.block: BlockDisplay | None = None
        self.pixel: tuple[int, int] | None = None
        self.hovered_thread = (-1, -1)
        self.hovered_slot = (-1, -1)
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.stepper = PhaseStepper()
        self.threads = CellGrid()
        self.shared = CellGrid()
        self.threads_title = QLabel("Threads (threadIdx.y × threadIdx.x)")
        self.shared_title = QLabel("Shared-memory tile (slots)")
        for title in (self.threads_title, self.shared_title):
            title.setWordWrap(True)  # two titles side by side in a 300 px column
        self.info = QLabel(HINT)
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.info_scroll = QScrollArea()  # a thread's loads can run to many lines: they scroll,
        self.info_scroll.setWidget(self.info)  # the grids keep their room
        self.info_scroll.setWidgetResizable(True)
        self.info_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.info_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Eight lines (a register2d thread's loads and outputs) when there is room; on a short
        # screen three, and the rest scrolls: the grids keep their room.
        self.info_scroll.setMinimumHeight(3 * self.info.fontMetrics().lineSpacing() + 6)
        self.info_scroll.setMaximumHeight(150)
        self.key = QLabel(
            f"{_swatch('loads')} loads in this phase &nbsp; {_swatch('loads', 0.35)} loaded "
            f"earlier &nbsp; {_swatch('ghost')} ghost (stores 0)<br>{_swatch('output')} "
            f"computes &nbsp; {_swatch('footprint')} the chosen pixel's window &nbsp; "
            f"▢ hovered, or the chosen pixel's thread"
        )
        self.key.setWordWrap(True)
        self.grids = QGridLayout()
        self.stacked = False
        self._arrange(stacked=False)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        for w in (self.header, self.stepper):
            col.addWidget(w)
        col.addLayout(self.grids, 1)
        col.addWidget(self.key)
        col.addWidget(self.info_scroll)
        self.threads.cell_hovered.connect(self._on_thread_hovered)
        self.shared.cell_hovered.connect(self._on_slot_hovered)
        self.stepper.step_changed.connect(self._on_step)

    def _arrange(self, stacked: bool) -> None:
        """Threads and shared tile side by side, or stacked (wide grids: register2d's, tma's 128+ columns)."""
        g = self.grids
        parts: tuple[QWidget, ...] = (self.threads_title, self.shared_title, self.threads, self.shared)
        for part in parts:
            g.removeWidget(part)
        places = ((0, 0), (2, 0), (1, 0), (3, 0)) if stacked else ((0, 0), (0, 1), (1, 0), (1, 1))
        for w, (row, col) in zip(parts, places, strict=True):
            g.addWidget(w, row, col)
        for row in range(4):
            g.setRowStretch(row, 0)
        for col in range(2):
            g.setColumnStretch(col, 0 if stacked and col else 1)
        for grid in (self.threads, self.shared):
            grid.setMinimumHeight(30 if stacked else 120)  # stacked wide grids need little height
        self.stacked = stacked

    def _fit(self, b: BlockDisplay) -> None:
        """Stack the grids when the shared tile is over twice as wide as tall (register2d, tma: 128+ columns),
        and give each stacked grid the height its shape asks for at the full width."""
        stacked = b.load_phases > 0 and b.shared_tile[1] > 2 * b.shared_tile[0]
        if stacked != self.stacked:
            self._arrange(stacked)
        if stacked:
            for row, (rows, cols) in ((1, b.threads), (3, b.shared_tile)):
                self.grids.setRowStretch(row, max(1, round(100 * rows / cols)))
        else:
            self.grids.setRowStretch(1, 1)

    # -- setters (no signals) -----------------------------------------------------------------------
    def set_block(self, block: BlockDisplay | None, pixel: tuple[int, int] | None) -> None:
        old = len(self.stepper.steps)
        self.block, self.pixel = block, pixel
        steps = _steps(block) if block is not None else []
        self.stepper.set_steps(steps, self.stepper.step if len(steps) == old else len(steps) - 1)
        if block is not None:
            self._fit(block)
            self.shared.set_group(1 if block.bulk else block.load_width)  # a bulk copy has no groups to draw
        self._header()
        self._repaint()

    def set_step(self, step: int) -> None:
        self.stepper.set_steps(self.stepper.steps, step)
        self._repaint()

    @property
    def step_name(self) -> str:
        s = self.stepper.steps
        return s[self.stepper.step] if s else ""

    def load_phase(self) -> int | None:
        """The load phase the stepper is on, or None (barrier, compute)."""
        b = self.block
        if b is None or b.load_phases == 0 or self.stepper.step >= b.load_phases:
            return None
        return self.stepper.step

    def highlight(self) -> tuple[np.ndarray, np.ndarray]:
        """Input elements to mark on the canvas: the hovered thread's or slot's, else this phase's loads
        (at the barrier: every load; while computing: none)."""
        b = self.block
        if b is None or len(b.loads) == 0:
            return np.zeros(0, int), np.zeros(0, int)
        t = b.loads
        if self.hovered_thread != (-1, -1):
            rows = t.rows_of_thread(*self.hovered_thread)
        elif self.hovered_slot != (-1, -1):
            row = t.row_of_slot(*self.hovered_slot)
            rows = np.array([] if row is None else [row], int)
        elif (phase := self.load_phase()) is not None:  # ghost slots store 0: no load to show
            rows = np.flatnonzero((t.phase == phase) & t.loaded & ~t.ghost)
        elif b.load_phases and self.stepper.step == b.load_phases:  # the barrier: every load is done
            rows = np.flatnonzero(t.loaded & ~t.ghost)
        else:
            rows = np.zeros(0, int)
        return t.in_y[rows], t.in_x[rows]

    # -- painting -----------------------------------------------------------------------------------
    def _header(self) -> None:
        b = self.block
        if b is None:
            self.header.setText("No block selected.")
            return
        shared = (
            f"shared tile {b.shared_tile[0]}×{b.shared_tile[1]} = "
            f"{b.shared_tile[0] * b.shared_tile[1] * 4:,} B"
            if b.load_phases
            else "no shared memory"
        )
        if b.load_phases and len(b.shared_parts) > 1:  # tma: a staging tile and an mbarrier besides
            shared += " (" + "".join(f"+ {n:,} B {what} " for what, n in b.shared_parts[1:])
            shared += f"= {b.shared_bytes:,} B)"
        if b.load_phases:
            shared += f", {b.load_phases} load phase{'s' if b.load_phases != 1 else ''}"
        if b.load_phases and (who := b.bulk_thread) is not None:
            shared += f": one bulk tensor copy (TMA) by thread {who}"
        elif b.load_phases and b.load_width > 1:
            shared += f" of one {4 * b.load_width}-byte group ({b.load_width} slots) per thread"
        (oh, ow), (y0, x0, y1, x1) = b.outputs_per_thread, b.tile_rect
        each = f", {oh}×{ow} outputs each" if oh * ow > 1 else ""
        src = "  <b>Loads recorded on the GPU.</b>" if b.source == "hardware" else ""
        note = f"<br>{b.note}" if b.note else ""
        self.header.setText(
            f"<b>Block ({b.block[0]}, {b.block[1]})</b> · {b.strategy} · output tile "
            f"{y1 - y0}×{x1 - x0} · {b.threads[0]}×{b.threads[1]} threads{each} · "
            f"{shared}{src}{note}"
        )
        self.shared.setVisible(b.load_phases > 0)
        self.shared_title.setVisible(b.load_phases > 0)

    def _repaint(self) -> None:
        b = self.block
        if b is None:
            self.threads.set_cells(np.zeros((0, 0, 4), np.uint8))
            self.shared.set_cells(np.zeros((0, 0, 4), np.uint8))
            return
        self.threads.set_cells(self._thread_colors(b))
        if b.load_phases:
            self.shared.set_cells(self._slot_colors(b))
        self._marks()

    def _thread_colors(self, b: BlockDisplay) -> np.ndarray:
        colors = np.empty((*b.threads, 4), np.uint8)
        colors[:] = _IDLE
        phase = self.load_phase()
        t = b.loads
        if phase is not None:
            rows = (t.phase == phase) & t.loaded
            colors[t.thread_y[rows], t.thread_x[rows]] = _rgba("loads")
        elif self.stepper.step == len(self.stepper.steps) - 1:  # compute
            colors[b.out_thread_y, b.out_thread_x] = _rgba("output", 0.75)
        return colors

    def _slot_colors(self, b: BlockDisplay) -> np.ndarray:
        colors = np.empty((*b.shared_tile, 4), np.uint8)
        colors[:] = _EMPTY
        t = b.loads
        phase = self.load_phase()
        done = t.loaded if phase is None else t.loaded & (t.phase <= phase)
        colors[t.smem_y[done], t.smem_x[done]] = _rgba("loads", 0.35)
        if phase is not None:
            now = t.loaded & (t.phase == phase)
            colors[t.smem_y[now], t.smem_x[now]] = _rgba("loads")
        ghost = done & t.ghost
        colors[t.smem_y[ghost], t.smem_x[ghost]] = _rgba("ghost")
        if b.source == "hardware":
            colors[t.smem_y[~t.loaded], t.smem_x[~t.loaded]] = _NEVER
        if phase is None and self.stepper.step == len(self.stepper.steps) - 1:
            for sy, sx in self._window(b):
                colors[sy, sx] = _rgba("footprint", 0.8)
        return colors

    def _window(self, b: BlockDisplay) -> list[tuple[int, int]]:
        """Shared slots inside the chosen output pixel's mask footprint."""
        if self.pixel is None or b.shared_origin is None:
            return []
        oy, ox = b.shared_origin
        y, x, r = self.pixel[0] - oy, self.pixel[1] - ox, b.radius
        return [
            (sy, sx)
            for sy in range(max(0, y - r), min(b.shared_tile[0], y + r + 1))
            for sx in range(max(0, x - r), min(b.shared_tile[1], x + r + 1))
        ]

    def _marks(self) -> None:
        b = self.block
        assert b is not None
        t = b.loads
        thread_marks: list[tuple[int, int]] = []
        slot_marks: list[tuple[int, int]] = []
        slot_strong: list[tuple[int, int]] = []
        if self.pixel is not None and (who := b.thread_of_output(*self.pixel)) is not None:
            thread_marks.append(who)
        if self.hovered_thread != (-1, -1):
            rows, phase = t.rows_of_thread(*self.hovered_thread), self.load_phase()
            now = t.phase[rows] == phase if phase is not None else np.zeros(len(rows), bool)
            slot_strong += _cells(t.smem_y[rows[now]], t.smem_x[rows[now]])
            slot_marks += _cells(t.smem_y[rows[~now]], t.smem_x[rows[~now]])
        strong_threads = [self.hovered_thread] if self.hovered_thread != (-1, -1) else []
        if self.hovered_slot != (-1, -1) and (row := t.row_of_slot(*self.hovered_slot)) is not None:
            strong_threads.append((int(t.thread_y[row]), int(t.thread_x[row])))
            slot_strong.append(self.hovered_slot)
            group = b.group_rows(row)  # the whole load (a 4-slot group, a bulk copy): one outline
            if len(group) > 1:
                slot_marks += _cells(t.smem_y[group], t.smem_x[group])
        self.threads.set_marks(thread_marks, strong_threads)
        self.shared.set_marks(slot_marks, slot_strong)

    # -- hover text ---------------------------------------------------------------------------------
    def _on_thread_hovered(self, ty: int, tx: int) -> None:
        self.hovered_thread = (ty, tx)
        if self.block is not None and ty >= 0:
            self.info.setText(self.describe_thread(ty, tx))
        self._hint_if_left()
        self._marks_if_block()
        self.thread_hovered.emit(ty, tx)

    def _on_slot_hovered(self, sy: int, sx: int) -> None:
        self.hovered_slot = (sy, sx)
        if self.block is not None and sy >= 0:
            self.info.setText(self.describe_slot(sy, sx))
        self._hint_if_left()
        self._marks_if_block()
        self.slot_hovered.emit(sy, sx)

    def _hint_if_left(self) -> None:
        if self.hovered_thread == (-1, -1) and self.hovered_slot == (-1, -1):
            self.info.setText(HINT)

    def _marks_if_block(self) -> None:
        if self.block is not None:
            self._marks()

    def _on_step(self, step: int) -> None:
        self._repaint()
        self.step_changed.emit(step)

    def describe_thread(self, ty: int, tx: int) -> str:
        b = self.block
        assert b is not None
        t = b.loads
        parts = [f"<b>thread ({ty}, {tx})</b>"]
        rows = t.rows_of_thread(ty, tx)
        for phase in dict.fromkeys(t.phase[rows].tolist()):  # one load (one slot or group) a phase
            parts.append(f"phase {phase + 1}: {self._load_text(rows[t.phase[rows] == phase])}")
        if len(parts) == 1 and (who := b.bulk_thread) is not None:
            parts.append(
                f"loads nothing: thread {who}'s one tensor copy fills the whole shared tile; this "
                f"thread waits at the mbarrier until the copy has landed"
            )
        elif len(parts) == 1:
            parts.append(
                "loads nothing into shared memory"
                if b.load_phases
                else "reads its taps straight from global memory"
            )
        parts.append(self._compute_text(ty, tx))
        return "<br>".join(parts)

    def _load_text(self, rows: np.ndarray) -> str:
        """One load: ``slot (y, x) ← in[...]``, or a group ``slots (y, x0..x3) ← in[y, x0..x3]``."""
        b = self.block
        assert b is not None
        t = b.loads
        slot = f"slot{'s' if len(rows) > 1 else ''} ({_span(t.smem_y[rows], t.smem_x[rows])})"
        if b.bulk:
            return self._bulk_text(rows, slot)
        real, ghost = rows[~t.ghost[rows]], int(t.ghost[rows].sum())
        if len(rows) == 1:
            r = rows[0]
            what = "a ghost cell: stores 0, no global load" if ghost else f"in[{t.in_y[r]}, {t.in_x[r]}]"
        elif not len(real):
            what = f"{ghost} ghost cells, zero-filled"
        else:
            what = f"in[{_span(t.in_y[real], t.in_x[real])}]"  # the stepper names the 16-byte loads
            if ghost:
                what += f" + {ghost} ghost cell{'s' if ghost > 1 else ''} (0)"
        pad = int((~b.in_input(t.in_y[rows], t.in_x[rows])).sum())
        if pad:
            what += " · padding" if pad == len(rows) else f" · {pad} padding"  # the legend explains it
        return f"{slot} ← {what}"

    def _bulk_text(self, rows: np.ndarray, slot: str) -> str:
        """The bulk tensor copy: ``one tensor copy of slots (...) ← in[...]``, its zero-filled ghost cells."""
        b = self.block
        assert b is not None
        t = b.loads
        real, ghost = rows[~t.ghost[rows]], int(t.ghost[rows].sum())
        what = f"in[{_span(t.in_y[real], t.in_x[real])}]" if len(real) else "nothing from global memory"
        if ghost:
            what += f" + {ghost:,} ghost cell{'s' if ghost > 1 else ''} the copy engine zero-fills"
        pad = int((~b.in_input(t.in_y[rows], t.in_x[rows])).sum())
        if pad:
            what += f" · {pad:,} padding"
        return f"one bulk tensor copy (TMA), {4 * len(rows):,} B: {slot} ← {what}"

    def _compute_text(self, ty: int, tx: int) -> str:
        b = self.block
        assert b is not None
        outs = b.outputs_of_thread(ty, tx)
        per = b.outputs_per_thread[0] * b.outputs_per_thread[1]
        (y0, x0, y1, x1), (th, tw) = b.tile_rect, b.threads
        owns = per > 1 and th * b.outputs_per_thread[0] == y1 - y0 and tw * b.outputs_per_thread[1] == x1 - x0
        if not outs:
            return "computes outputs outside the image only: none is written" if owns else "computes nothing"
        ys, xs = zip(*outs, strict=True)
        box = (max(ys) - min(ys) + 1) * (max(xs) - min(xs) + 1)
        if box == len(outs) and len(outs) > 1:
            text = (
                f"computes out[{_range(min(ys), max(ys))}, {_range(min(xs), max(xs))}] ({len(outs)} outputs)"
            )
        else:
            text = "computes " + ", ".join(f"out[{y}, {x}]" for y, x in outs)
        if b.staging != (0, 0):
            text += f" into the {b.staging[0]}×{b.staging[1]} staging tile; one tensor store writes it out"
        if owns and len(outs) < per:
            text += f"; its other {per - len(outs)} fall outside the image and are not written"
            if b.staging != (0, 0):
                text += " (the tensor store drops them)"
        return text

    def describe_slot(self, sy: int, sx: int) -> str:
        b = self.block
        assert b is not None
        t = b.loads
        row = t.row_of_slot(sy, sx)
        if row is None:
            return f"<b>slot ({sy}, {sx})</b>: no load fills it"
        if not t.loaded[row]:
            return f"<b>slot ({sy}, {sx})</b>: the recorded kernel never wrote it"
        what = (
            "0 (a ghost cell outside the image; no global load)"
            if t.ghost[row]
            else f"in[{t.in_y[row]}, {t.in_x[row]}]"
        )
        if b.bulk and t.ghost[row]:
            what = "0 (a ghost cell outside the image: the copy engine zero-fills it, reading nothing)"
        who, phase = f"thread ({t.thread_y[row]}, {t.thread_x[row]})", f"phase {t.phase[row] + 1}"
        text = f"<b>slot ({sy}, {sx})</b> ← {what}<br>loaded by {who} in {phase}"
        group = b.group_rows(row)
        if b.bulk:
            text = (
                f"<b>slot ({sy}, {sx})</b> ← {what}<br>written by the one bulk tensor copy (TMA) that "
                f"{who} issues in {phase}: all {len(group):,} slots, {4 * len(group):,} B"
            )
        elif len(group) > 1:
            slots = _span(t.smem_y[group], t.smem_x[group])
            text += f", in one {4 * len(group)}-byte load of slots ({slots})"
        if not b.in_input(t.in_y[row : row + 1], t.in_x[row : row + 1])[0]:
            text += "<br>alignment padding: outside the input tile, no output reads it"
        return text


def _range(a: int, b: int) -> str:
    return f"{a}" if a == b else f"{a}..{b}"


_SPAN_CELLS = 8  # scattered cells listed one by one up to here; more are summarised


def _span(ys: np.ndarray, xs: np.ndarray) -> str:
    """``y, x``; ``y, x0..x1`` for a run along one row; ``y0..y1, x0..x1`` for a whole rectangle (a
    bulk copy's tile); else every ``(y, x)``, the first few of many."""
    ys, xs = np.asarray(ys), np.asarray(xs)
    if (ys == ys[0]).all() and (np.diff(xs) == 1).all():
        return f"{ys[0]}, {_range(int(xs[0]), int(xs[-1]))}"
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())
    width = x1 - x0 + 1
    if len(ys) == (y1 - y0 + 1) * width and len(np.unique((ys - y0) * width + xs - x0)) == len(ys):
        return f"{_range(y0, y1)}, {_range(x0, x1)}"
    cells = "; ".join(
        f"{y}, {x}" for y, x in zip(ys[:_SPAN_CELLS].tolist(), xs[:_SPAN_CELLS].tolist(), strict=True)
    )
    return cells if len(ys) <= _SPAN_CELLS else f"{cells}; … {len(ys):,} in all"


def _cells(ys: np.ndarray, xs: np.ndarray) -> list[tuple[int, int]]:
    return list(zip(np.asarray(ys).tolist(), np.asarray(xs).tolist(), strict=True))


def _steps(b: BlockDisplay) -> list[str]:
    """The phase stepper's stops for block ``b``."""
    who = b.bulk_thread
    return phase_steps(
        b.load_phases,
        b.load_width,
        bulk=b.shared_tile if who is not None else None,
        staging=b.staging,
        thread=who or (0, 0),
    )
