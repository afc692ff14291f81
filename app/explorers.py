"""The view registry: every explorer the main window shows, in tab order.

Qt-free on purpose (the CLI reads the names for ``--view`` without loading Qt). A controller class
named by ``factory`` is built as ``Controller(context, asynchronous=...)`` and is an
:class:`Explorer`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pathlib import Path

    from app.context import AppContext

__all__ = ["EXPLORERS", "Explorer", "ExplorerSpec", "Exportable", "explorer_names", "export_filter"]


@runtime_checkable
class Explorer(Protocol):
    """What the main window needs of an explorer's controller."""

    name: str  # ``--view`` and ``view_requested`` use it
    title: str  # the tab's label
    widget: Any  # the QWidget the tab shows

    @property
    def busy(self) -> bool:
        """Work is pending (a request waits, runs or is being applied)."""
        ...

    def set_text(self, text: str) -> None:
        """Show ``text`` (a review, a sentence); an explorer without text ignores it."""

    def wait_idle(self, timeout_ms: int = 10_000) -> bool:
        """Run the event loop until nothing is pending (tests, screenshots); True when idle."""
        ...

    def shutdown(self) -> None:
        """The window closes: stop the work, drop results still on their way."""


@runtime_checkable
class Exportable(Protocol):
    """An explorer whose view can be exported (File → Export exports the current tab's)."""

    def export_formats(self) -> list[tuple[str, str]]:
        """``(suffix, description)`` of each format ``save`` writes, the default first."""
        ...

    def save(self, path: str | Path) -> Path:
        """Write what the view shows in the format ``path``'s suffix names, atomically; ValueError
        (one line) when there is nothing to export or the suffix is not one of export_formats()."""
        ...


def export_filter(formats: list[tuple[str, str]]) -> str:
    """A file dialog's filter for ``formats``: one entry per format, the first is the default."""
    out = []
    for suffix, text in formats:
        extra = " *.jpeg" if suffix == ".jpg" else ""
        out.append(f"{text} (*{suffix}{extra})")
    return ";;".join(out)


class ExplorerFactory(Protocol):
    def __call__(self, context: AppContext, *, asynchronous: bool = True) -> Explorer: ...


@dataclass(frozen=True)
class ExplorerSpec:
    name: str  # used by --view and by explorers asking for one another
    title: str  # the tab's label
    factory: str  # "module:Class" of the controller, imported when the window is built

    def load(self) -> ExplorerFactory:
        module, _, cls = self.factory.partition(":")
        factory: ExplorerFactory = getattr(importlib.import_module(module), cls)
        return factory


EXPLORERS: tuple[ExplorerSpec, ...] = (
    ExplorerSpec("attention", "Attention", "app.attention_controller:AttentionController"),
    ExplorerSpec("gru", "GRU stepper", "app.gru_controller:GRUController"),
    ExplorerSpec("training", "Training", "app.training_controller:TrainingController"),
    ExplorerSpec("conv", "Convolution tiles", "app.conv_controller:ConvController"),
    ExplorerSpec("dataset", "Dataset", "app.dataset_controller:DatasetController"),
    ExplorerSpec("behaviour", "Behaviour", "app.behaviour_controller:BehaviourController"),
)


def explorer_names() -> list[str]:
    return [e.name for e in EXPLORERS]
