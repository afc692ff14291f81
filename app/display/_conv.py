"""Plain data the Convolution tiles views paint: no Qt, no engine.

The controller (``app/conv_controller.py``) turns the engine's ``TileGeometry``, ``LoadPlan``,
``Counters`` and run results into these values. Rectangles are ``(y0, x0, y1, x1)`` half-open in image
pixel coordinates; pixel ``(y, x)`` covers ``[x, x + 1) × [y, y + 1)`` in the canvas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "COLORS",
    "LEGEND",
    "OPTIONAL_LEGEND",
    "BlockDisplay",
    "CompareDisplay",
    "ConvParams",
    "CountersDisplay",
    "GridDisplay",
    "LoadTable",
    "Rect",
    "RunDisplay",
    "phase_steps",
]

Rect = tuple[int, int, int, int]  # (y0, x0, y1, x1), half-open

# Okabe-Ito: told apart with every kind of colour vision.
COLORS = {
    "output": "#0072B2",  # blue
    "input": "#E69F00",  # orange
    "ghost": "#D55E00",  # vermillion
    "footprint": "#009E73",  # bluish green
    "pixel": "#F0E442",  # yellow
    "loads": "#CC79A7",  # reddish purple
    "grid": "#56B4E9",  # sky blue
    "padding": "#999999",  # grey: no hue, so it is told apart from all of the above
    "patch": "#F0E442",  # the chosen pixel's yellow, drawn as a dashed outline
}
LEGEND = (
    ("output", "Output tile: the pixels this block writes (dotted: past the edge)"),
    ("input", "Input tile with halo: what its outputs read"),
    ("ghost", "Ghost cells: outside the image (the slot gets 0, never loaded)"),
    ("footprint", "Mask footprint of the chosen output pixel"),
    ("pixel", "Chosen output pixel (Shift+arrows move it)"),
    ("loads", "Loaded by the hovered thread, or in this phase"),
    ("padding", "Shared-tile padding: loaded for alignment, read by no output"),
    ("patch", "Every output of the chosen pixel's thread"),
)
OPTIONAL_LEGEND = ("padding", "patch")  # shown only for blocks that have them


@dataclass(frozen=True)
class ConvParams:
    """What the user chose; checked by the engine, not here."""

    height: int = 100
    width: int = 150
    mask_size: int = 5
    tile: int = 16
    strategy: str = "output_tile"


@dataclass(frozen=True)
class GridDisplay:
    height: int
    width: int
    tile: tuple[int, int]  # output tile (rows, cols)
    grid: tuple[int, int]  # blocks (rows, cols)


@dataclass(frozen=True, eq=False)
class LoadTable:
    """One row per shared-memory slot, in load order; every array is ``(L,)``.

    ``in_y``/``in_x`` are image coordinates (may be outside the image); ``loaded`` is False where a
    recorded kernel never wrote the slot (always True for the geometry's plan).
    """

    thread_y: np.ndarray
    thread_x: np.ndarray
    phase: np.ndarray
    smem_y: np.ndarray
    smem_x: np.ndarray
    in_y: np.ndarray
    in_x: np.ndarray
    ghost: np.ndarray
    loaded: np.ndarray

    def __len__(self) -> int:
        return len(self.ghost)

    def rows_of_thread(self, ty: int, tx: int) -> np.ndarray:
        """Indices of the rows thread ``(ty, tx)`` loads, in phase order."""
        return np.flatnonzero((self.thread_y == ty) & (self.thread_x == tx) & self.loaded)

    def row_of_slot(self, sy: int, sx: int) -> int | None:
        hit = np.flatnonzero((self.smem_y == sy) & (self.smem_x == sx))
        return int(hit[0]) if len(hit) else None

    @staticmethod
    def empty() -> LoadTable:
        z = np.zeros(0, np.int32)
        return LoadTable(z, z, z, z, z, z, z, np.zeros(0, bool), np.zeros(0, bool))


@dataclass(frozen=True, eq=False)
class BlockDisplay:
    """One block of the grid and everything the views show about it.

    ghost : ``(S_y, S_x)`` bool over the input tile ``input``: True outside the image
    out_* : ``(N,)`` int32, which thread ``(out_thread_y, out_thread_x)`` writes output ``(out_y, out_x)``
    shared_origin : image coordinates of shared slot (0, 0); None when the strategy has no shared tile
    shared : the shared tile in image coordinates (it may reach past ``input``: register2d's and tma's aligned
        columns); None when there is none
    load_width : slots one thread fills per load (4: one 16-byte float4 group; every slot: one bulk
        copy), consecutive in ``loads``
    outputs_per_thread : (rows, cols) of outputs one thread computes
    bulk : the one load is a bulk tensor copy (TMA) of the whole shared tile, issued by one thread;
        the copy engine zero-fills the ghost cells and signals an mbarrier the other threads wait on
    staging : (rows, cols) of the shared-memory tile the outputs are staged in for one tensor store;
        (0, 0) when each thread writes its own outputs
    shared_parts : ``(what, bytes)`` of every piece of the block's shared memory, the shared tile first,
        summing to the launch's shared bytes; empty when it is just the shared tile (or nothing)
    """

    block: tuple[int, int]
    strategy: str
    mask_size: int
    radius: int
    output: Rect
    tile_rect: Rect
    input: Rect
    ghost: np.ndarray
    threads: tuple[int, int]
    shared_tile: tuple[int, int]
    shared_origin: tuple[int, int] | None
    load_phases: int
    loads: LoadTable
    out_thread_y: np.ndarray
    out_thread_x: np.ndarray
    out_y: np.ndarray
    out_x: np.ndarray
    source: str = "geometry"  # "hardware": the loads were recorded by the instrumented kernel
    note: str = ""
    shared: Rect | None = None
    load_width: int = 1
    outputs_per_thread: tuple[int, int] = (1, 1)
    bulk: bool = False
    staging: tuple[int, int] = (0, 0)
    shared_parts: tuple[tuple[str, int], ...] = ()

    @property
    def shared_bytes(self) -> int:
        """Bytes of shared memory the block allocates: the shared tile, plus ``shared_parts``' extras."""
        if self.shared_parts:
            return sum(n for _, n in self.shared_parts)
        return self.shared_tile[0] * self.shared_tile[1] * 4 if self.load_phases else 0

    @property
    def bulk_thread(self) -> tuple[int, int] | None:
        """The thread that issues the bulk copy (None unless ``bulk`` and the plan has a load)."""
        t = self.loads
        if not self.bulk or not t.loaded.any():
            return None
        i = int(np.flatnonzero(t.loaded)[0])
        return int(t.thread_y[i]), int(t.thread_x[i])

    def thread_of_output(self, y: int, x: int) -> tuple[int, int] | None:
        hit = np.flatnonzero((self.out_y == y) & (self.out_x == x))
        return (int(self.out_thread_y[hit[0]]), int(self.out_thread_x[hit[0]])) if len(hit) else None

    def outputs_of_thread(self, ty: int, tx: int) -> list[tuple[int, int]]:
        hit = np.flatnonzero((self.out_thread_y == ty) & (self.out_thread_x == tx))
        return [(int(self.out_y[i]), int(self.out_x[i])) for i in hit]

    def group_rows(self, row: int) -> np.ndarray:
        """Rows of ``loads`` that one load fills with ``row``: a thread fills one slot, or one
        ``load_width`` group, per phase."""
        t = self.loads
        return np.flatnonzero(
            (t.thread_y == t.thread_y[row]) & (t.thread_x == t.thread_x[row]) & (t.phase == t.phase[row])
        )

    def in_input(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Whether image elements ``(y, x)`` lie in the input tile (what the outputs read)."""
        y0, x0, y1, x1 = self.input
        return (y >= y0) & (y < y1) & (x >= x0) & (x < x1)


def phase_steps(
    load_phases: int,
    load_width: int = 1,
    bulk: tuple[int, int] | None = None,
    staging: tuple[int, int] = (0, 0),
    thread: tuple[int, int] = (0, 0),
) -> list[str]:
    """The stepper's stops: each load phase, the barrier, the compute phase.

    ``bulk`` is the ``(rows, cols)`` shared tile that ``thread`` fills with one bulk tensor copy (tma),
    None when every thread loads its own slots; ``staging`` the ``(rows, cols)`` tile the outputs are
    staged in for one tensor store ((0, 0): each thread stores its own).
    """
    if load_phases == 0:
        return ["compute (no shared memory: taps come from global memory)"]
    if bulk is not None:
        rows, cols = bulk
        loads = [
            f"load phase {p + 1} of {load_phases}: thread {thread} issues one bulk tensor copy (TMA) "
            f"of the whole {rows}×{cols} tile ({rows * cols * 4:,} B); the copy engine zero-fills ghost "
            f"cells without reading them; the other threads load nothing"
            for p in range(load_phases)
        ]
        barrier = "mbarrier wait: every thread waits until the copy has landed and signalled the barrier"
    else:
        each = f": one {4 * load_width}-byte group ({load_width} slots) per thread" if load_width > 1 else ""
        loads = [f"load phase {p + 1} of {load_phases}{each}" for p in range(load_phases)]
        barrier = "__syncthreads(): every slot is filled"
    compute = "compute"
    if staging != (0, 0):
        compute += (
            f": each thread writes its outputs into the {staging[0]}×{staging[1]} staging tile in "
            f"shared memory; after a barrier, thread {thread} issues one tensor store of the tile "
            f"(the copy engine drops what lies past the image)"
        )
    return [*loads, barrier, compute]


@dataclass(frozen=True)
class CountersDisplay:
    """Rows ``(name, value, how it is derived)`` and the occupancy arithmetic for one card."""

    rows: tuple[tuple[str, str, str], ...]
    occupancy_lines: tuple[str, ...]
    card: str
    registers: int
    registers_note: str


@dataclass(frozen=True, eq=False)
class RunDisplay:
    """One convolution run. ``kernel_ms`` is the GPU's median kernel time (None on the emulator)."""

    input: np.ndarray  # (H, W) float32
    output: np.ndarray  # (H, W) float32
    backend: str  # "gpu" or "emulator"
    backend_text: str  # what ran, for people
    strategy: str
    seconds: float  # wall time of the whole run
    kernel_ms: float | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompareDisplay:
    """Bars of a comparison: ``kinds`` is "ours" or "reference" (cuDNN, cupyx, the copy floor)."""

    title: str
    labels: tuple[str, ...]
    times_ms: tuple[float, ...]
    kinds: tuple[str, ...]
    source: str
    unit: str = "ms"
    sizes: tuple[int, ...] = ()  # the benchmark's image sides and masks, to choose from
    masks: tuple[int, ...] = ()
    size: int | None = None
    mask: int | None = None
