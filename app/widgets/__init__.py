"""Qt views. They paint plain values (:mod:`app.display`) and never import torch, PyCUDA or the engine.

The views are imported on first use (PEP 562), so importing one view module does not build them all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.widgets._attention_view import AttentionView
    from app.widgets._conv_view import ConvView
    from app.widgets._gru_view import GRUView
    from app.widgets._help import AboutDialog, KeyboardDialog
    from app.widgets._model_card import ModelCardDialog
    from app.widgets._training_view import TrainingView

__all__ = [
    "AboutDialog",
    "AttentionView",
    "ConvView",
    "GRUView",
    "KeyboardDialog",
    "ModelCardDialog",
    "TrainingView",
]

_WHERE = {
    "AttentionView": "_attention_view",
    "ConvView": "_conv_view",
    "GRUView": "_gru_view",
    "AboutDialog": "_help",
    "KeyboardDialog": "_help",
    "ModelCardDialog": "_model_card",
    "TrainingView": "_training_view",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"app.widgets.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'app.widgets' has no attribute {name!r}")
