"""The Convolution tiles explorer's tabs with work of their own: Run, Compare and Hardware.

Each is a small controller over the explorer's state (:class:`~app.conv_controller.ConvController`:
parameters, geometry, image, mask, the GPU) that submits its jobs to the explorer's one runner
(:mod:`app.jobs`) and reports through the explorer's signals. The Counters tab needs no work of its
own: it shows what the explorer computes for every configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from app.present import (
    benchmark_choices,
    compare_display,
    compare_from_benchmark,
    compare_job,
    hardware_job,
    run_job,
)
from engine import tiling

if TYPE_CHECKING:
    import numpy as np

    from app.conv_controller import ConvController
    from app.display import RunDisplay

__all__ = ["CompareTab", "HardwareTab", "RunTab"]

AUTO_RUN_PIXELS = 512 * 512  # the emulator runs by itself up to here (well under a second)


class RunTab(QObject):
    """Run: convolve the image with the mask on the GPU, else the emulator (progress, Cancel)."""

    def __init__(self, explorer: ConvController) -> None:
        super().__init__(explorer)
        self.x = explorer
        self.run: RunDisplay | None = None

    def auto_run(self) -> None:
        x = self.x
        if x.geometry is None or x.image is None:
            return
        if x.gpu or x.image.size <= AUTO_RUN_PIXELS:
            self.start()
        else:
            x.view.set_run(
                None,
                f"Press Run: the emulator takes a while on {x.image.shape[0]}×"
                f"{x.image.shape[1]} pixels (progress shown, Cancel stops it).",
            )

    def start(self) -> None:
        """Convolve the image with the mask: on the GPU when there is one, else on the emulator."""
        x, p = self.x, self.x.params
        if x.geometry is None or x.image is None:
            return
        if x.image.shape != (p.height, p.width):
            x.view.set_run(None, "The image is still being drawn; run again in a moment.")
            return
        x.view.set_busy(True, 0.0, "Starting…")
        x.jobs.submit(
            "run",
            run_job,
            x.image,
            x.mask,
            x.geometry,
            x.gpu,
            x.gpu_text,
            on_result=self._on_run,
            on_error=self._on_error,
            on_progress=lambda _g, v: x.view.set_busy(True, v[0], v[1]),
        )

    def _on_run(self, gen: int, result: tuple[RunDisplay, int | None]) -> None:
        run, registers = result
        self.run = run
        self.x.view.set_busy(False)
        self.x.view.set_run(run)
        if registers:
            self.x.kernel_registers_seen(run.strategy, registers)
        self.x.run_finished.emit(gen)

    def _on_error(self, gen: int, message: str) -> None:
        self.x.view.set_busy(False)
        self.x.view.set_run(None, f"The run failed: {message}")
        self.x.run_failed.emit(gen, message)


class CompareTab(QObject):
    """Compare: strategy times from a benchmark record, or timed here on the current image."""

    def __init__(self, explorer: ConvController) -> None:
        super().__init__(explorer)
        self.x = explorer
        self.benchmark: dict[str, Any] | None = None
        self.benchmark_path: Path | None = None
        self.state: tuple[Any, ...] | None = None

    def load_packaged(self) -> None:
        """The newest benchmark record shipped with the app, or say that there is none."""
        from engine.conv_records import recorded_runs

        runs = recorded_runs()
        if not runs:
            self.x.view.set_compare(
                None,
                "No benchmark is recorded in this copy of the app: time the "
                "strategies here, or open a benchmark JSON (conv-bench writes "
                "one).",
            )
            return
        self.benchmark, self.benchmark_path = runs[0].record, Path(runs[0].name)
        self.show_benchmark()

    def load(self, path: str | Path) -> bool:
        from engine.conv_records import load_record

        try:
            data = load_record(Path(path))
        except ValueError as e:
            self.x.view.set_compare(None, str(e))
            self.x.view.set_message(str(e), error=True)
            return False
        self.benchmark, self.benchmark_path = data, Path(path)
        self.show_benchmark()
        self.x.show_counters()
        return True

    def show_benchmark(self, size: int | None = None, mask: int | None = None) -> None:
        x = self.x
        if self.benchmark is None or self.benchmark_path is None:
            return
        sizes, masks = benchmark_choices(self.benchmark)
        if not sizes:
            return
        side = max(x.params.height, x.params.width)
        size = size if size in sizes else min(sizes, key=lambda s: (abs(s - side), s))
        k = x.params.mask_size
        if mask not in masks:
            mask = k if k in masks else (5 if 5 in masks else (masks[0] if masks else 0))
        self.state = ("benchmark", size, mask)
        b = self.benchmark
        source = (
            f"From {self.benchmark_path.name} ({b.get('benchmark', 'benchmark')}, "
            f"{str(b.get('timestamp', ''))[:10]}). Orange: the strategy chosen here."
        )
        x.view.set_compare(compare_from_benchmark(b, source, size, mask, x.params.strategy))
        x.compare_applied.emit("benchmark")

    def time_strategies(self) -> None:
        """Time every strategy the current tile allows on the current image and backend."""
        x, p = self.x, self.x.params
        if x.geometry is None or x.image is None or x.image.shape != (p.height, p.width):
            return
        x.view.compare.set_busy(True, 0.0, "Timing…")
        x.jobs.submit(
            "compare",
            compare_job,
            x.image,
            x.mask,
            p.tile,
            list(x.strategies),
            x.gpu,
            on_result=self._on_times,
            on_error=self._on_error,
            on_progress=lambda _g, v: x.view.compare.set_busy(True, v[0], v[1]),
        )

    def _on_times(self, gen: int, result: tuple[dict[str, float], list[str]]) -> None:
        times, skipped = result
        p = self.x.params
        self.state = ("run", times, skipped, self.x.gpu, (p.height, p.width, p.mask_size, p.tile))
        self.x.view.compare.set_busy(False)
        self.refresh()
        self.x.compare_applied.emit("run")

    def _on_error(self, _gen: int, message: str) -> None:
        self.x.view.compare.set_busy(False, text=f"Timing failed: {message}")

    def refresh(self) -> None:
        state = self.state
        if state is None:
            return
        if state[0] == "benchmark":
            self.show_benchmark(state[1], state[2])
            return
        _, times, skipped, gpu, sizes = state
        self.x.view.set_compare(compare_display(times, skipped, gpu, sizes, self.x.params.strategy))

    def open_dialog(self) -> None:
        folder = self.benchmark_path.parent if self.benchmark_path is not None else None
        start = str(folder) if folder is not None and folder.name else ""
        path, _ = QFileDialog.getOpenFileName(
            self.x.view, "Open a convolution benchmark", start, "JSON (*.json);;All files (*)"
        )
        if path:
            self.load(path)


class HardwareTab(QObject):
    """Hardware: the load map the instrumented kernel recorded for the selected block (GPU only)."""

    def __init__(self, explorer: ConvController) -> None:
        super().__init__(explorer)
        self.x = explorer
        self.on = False
        self.records: dict[tuple[Any, ...], dict[str, np.ndarray]] = {}

    def reason(self) -> str:
        x = self.x
        if x.gpu:
            return (
                "Runs the instrumented kernel once for the selected block and shows the slots each "
                "thread actually wrote, checked against the engine's plan."
            )
        return (
            "Needs an NVIDIA GPU with PyCUDA, and there is none here, so the view shows the engine's "
            f"load plan (what the emulator executes). Reason: {x.no_gpu_reason()}"
        )

    def set_on(self, on: bool) -> None:
        x = self.x
        self.on = bool(on) and x.gpu
        x.view.set_hardware(x.gpu, self.reason(), self.on)
        if not self.on:
            x.view.set_hardware_result("")
        x.show_block()

    def key(self) -> tuple[Any, ...]:
        p = self.x.params
        return p.height, p.width, p.mask_size, p.strategy, p.tile, self.x.block or (0, 0)

    def recorded(self) -> dict[str, np.ndarray] | None:
        return self.records.get(self.key()) if self.on else None

    def request(self) -> None:
        x, p = self.x, self.x.params
        if p.strategy not in tiling.SHARED_STRATEGIES:
            x.view.set_hardware_result(
                f"{p.strategy} loads nothing into shared memory, so there is no load map to record; it works "
                f"with {', '.join(tiling.SHARED_STRATEGIES)}."
            )
            return
        if x.image is None or x.image.shape != (p.height, p.width) or x.geometry is None or x.block is None:
            return
        x.view.set_hardware_result(f"Recording block {x.block} on the GPU…")
        key = self.key()
        x.jobs.submit(
            "hardware",
            hardware_job,
            x.image,
            x.mask,
            x.geometry,
            x.block,
            on_result=lambda _g, rec: self._on_records(key, rec),
            on_error=lambda _g, m: x.view.set_hardware_result(f"Recording failed: {m}"),
        )

    def _on_records(self, key: tuple[Any, ...], records: dict[str, np.ndarray]) -> None:
        self.records[key] = records
        if key == self.key():
            self.x.show_block()
            self.x.hardware_applied.emit(*(self.x.block or (0, 0)))
