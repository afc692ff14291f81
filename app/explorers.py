"""The view registry: every explorer the main window shows, in tab order.

Qt-free on purpose (the CLI reads the names for ``--view`` without loading Qt). A controller class
named by ``factory`` is built as ``Controller(context, asynchronous=...)`` and has ``name``,
``title``, ``widget``, ``set_text(text)``, ``wait_idle(timeout_ms) -> bool`` and ``shutdown()``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

__all__ = ["EXPLORERS", "ExplorerSpec", "explorer_names"]


@dataclass(frozen=True)
class ExplorerSpec:
    name: str       # used by --view and by explorers asking for one another
    title: str      # the tab's label
    factory: str    # "module:Class" of the controller, imported when the window is built

    def load(self) -> Any:
        module, _, cls = self.factory.partition(":")
        return getattr(importlib.import_module(module), cls)


EXPLORERS: tuple[ExplorerSpec, ...] = (
    ExplorerSpec("attention", "Attention", "app.attention_controller:AttentionController"),
    ExplorerSpec("gru", "GRU stepper", "app.gru_controller:GRUController"),
    ExplorerSpec("training", "Training", "app.training_controller:TrainingController"),
    ExplorerSpec("conv", "Convolution tiles", "app.conv_controller:ConvController"),
)


def explorer_names() -> list[str]:
    return [e.name for e in EXPLORERS]
