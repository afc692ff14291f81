"""Controller of the Behaviour explorer (CheckList-style behavioural tests of the current model).

Wiring: Run submits the "suite" job (:func:`app.present._behaviour.suite_job`: generate the cases
with the view's seed and size, score them in batches); its progress drives the progress bar, Cancel
stops it between batches (nothing is shown of a cancelled run: a half-scored suite has no rates).
The result fills the capability x test-type table; the current cell's failing cases fill the list.
Opening a failure emits ``review_opened``: the main window shows the text in the Attention view and
offers the way back here. A new model makes the shown result stale: the status says so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.display._behaviour import TEST_TYPES
from app.jobs import Jobs
from app.present._behaviour import behaviour_table, cell_summary, failure_rows, progress_text, suite_job
from app.widgets._behaviour_view import BehaviourView

if TYPE_CHECKING:
    from app.context import AppContext
    from engine.behaviour import Predictor, RunProgress, SuiteResult
    from engine.bundle import ModelBundle

__all__ = ["BehaviourController"]


class BehaviourController(QObject):
    """Owns the suite's run and its result.

    Signals
    -------
    result_applied()
        The table shows a finished run (:attr:`result`).
    review_opened(str, str)
        Show review text (second) in the Attention view; come back to explorer ``name`` (first).
    """

    name = "behaviour"
    title = "Behaviour"
    result_applied = Signal()
    review_opened = Signal(str, str)

    def __init__(
        self, context: AppContext, asynchronous: bool = True, view: BehaviourView | None = None
    ) -> None:
        super().__init__()
        self.context = context
        self.view = view or BehaviourView()
        self.widget = self.view
        self.jobs = Jobs(asynchronous, self)
        self.result: SuiteResult | None = None
        self.cell: tuple[int, int] | None = None
        # how a bundle becomes a model the suite can run (tests put a stub here)
        self.predictor: Callable[[ModelBundle], Predictor] | None = None
        v = self.view
        v.run_requested.connect(self.run)
        v.cancel_requested.connect(self.cancel)
        v.cell_selected.connect(self.select_cell)
        v.failure_activated.connect(self.open_failure)
        context.model_changed.connect(lambda _: self._on_model_changed())
        v.set_status("Run tests the current model on ~5,000 short texts (10-30 s on a CPU).")

    # -- running ------------------------------------------------------------------------------------
    def run(self) -> None:
        bundle = self.context.bundle
        if bundle is None:
            self.view.set_status(self.context.model_status or "No model is loaded.", error=True)
            return
        seed, cases = self.view.settings()
        model = str(bundle.path) if bundle.path is not None else "(in memory)"
        self.view.set_running(True)
        self.view.set_progress(0, 1, "Generating the cases…")
        self.jobs.submit(
            "suite",
            suite_job,
            bundle,
            seed,
            cases,
            model,
            self.predictor,
            on_result=self._on_result,
            on_error=self._on_error,
            on_progress=self._on_progress,
        )

    def _on_progress(self, _gen: int, p: RunProgress) -> None:
        self.view.set_progress(p.done, p.total, progress_text(p))

    def _on_result(self, _gen: int, result: SuiteResult) -> None:
        self.view.set_running(False)
        self.result = result
        self.view.set_table(behaviour_table(result))
        failed = sum(t.failure_count for t in result.tests)
        cases = sum(t.n for t in result.tests)
        self.view.set_progress(
            result.texts_scored,
            result.texts_scored,
            f"{failed:,} of {cases:,} cases failed; {result.texts_scored:,} texts scored in "
            f"{result.seconds:.1f} s (seed {result.seed})",
        )
        row, col = self.cell or self._worst()
        self.view.select_cell(row, col)
        self.select_cell(row, col)
        self.result_applied.emit()

    def _worst(self) -> tuple[int, int]:
        """The cell with the highest failure rate: where a reader starts."""
        table = behaviour_table(self.result) if self.result is not None else None
        if table is None or not len(table):
            return 0, 0
        rates = [(cell.rate, r, c) for r, row in enumerate(table.cells) for c, cell in enumerate(row) if cell]
        _, r, c = max(rates)
        return r, c

    def _on_error(self, _gen: int, message: str) -> None:
        self.view.set_running(False)
        self.view.set_status(message, error=True)

    def cancel(self) -> None:
        if not self.jobs.busy_with("suite"):
            return
        self.jobs.cancel("suite")
        self.view.set_running(False)
        shown = " (the table shows the previous run)" if self.result is not None else ""
        self.view.set_progress(0, 1, f"Cancelled{shown}.")

    def _on_model_changed(self) -> None:
        if self.jobs.busy_with("suite"):
            self.cancel()
        if self.result is not None:
            self.view.set_status("The model changed: the table shows the previous model. Run again.")

    # -- failures -----------------------------------------------------------------------------------
    def select_cell(self, row: int, col: int) -> None:
        if self.result is None:
            return
        caps = self.result.capabilities()
        if not (0 <= row < len(caps) and 0 <= col < len(TEST_TYPES)):
            return
        self.cell = (row, col)
        text = cell_summary(self.result, caps[row], TEST_TYPES[col])
        rows = failure_rows(self.result, caps[row], TEST_TYPES[col])
        self.view.set_failures(text, rows)

    def open_failure(self, row: int, original: bool = False) -> None:
        """Show failure ``row`` of the list (its text, or its ``original``) in the Attention view."""
        rows = self.view.rows
        if not 0 <= row < len(rows):
            return
        text = rows[row].original if original else rows[row].text
        if text is not None:
            self.review_opened.emit(self.name, text)

    # -- export -------------------------------------------------------------------------------------
    def export_formats(self) -> list[tuple[str, str]]:
        """File → Export: the last run with every failing case (``han-explorer check --json``'s schema)."""
        return [(".json", "JSON, every test and failing case")]

    def save(self, path: str | Path) -> Path:
        import json

        from app._export import export_suffix
        from engine import atomic

        if self.result is None:
            raise ValueError("nothing to export: run the suite first")
        p = Path(path)
        export_suffix(p, self.export_formats())
        atomic.write_text(p, json.dumps(self.result.to_json(), ensure_ascii=False, indent=1) + "\n")
        return p

    # -- Explorer -----------------------------------------------------------------------------------
    def set_text(self, text: str) -> None:
        """The behaviour suite has no single text."""

    @property
    def busy(self) -> bool:
        return self.jobs.busy

    def wait_idle(self, timeout_ms: int = 10_000) -> bool:
        return self.jobs.wait_idle(timeout_ms)

    def shutdown(self) -> None:
        self.jobs.shutdown()
