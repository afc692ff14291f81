"""Qt views. They paint plain data (numpy arrays, dataclasses) and never import torch or PyCUDA."""

from app.widgets._attention_data import MODES, AttentionDisplay, Mode
from app.widgets._attention_view import AttentionView
from app.widgets._gru_data import FlowDisplay, GateTerms, GRUDisplay
from app.widgets._gru_view import GRUView
from app.widgets._model_card import ModelCardDialog

__all__ = ["MODES", "AttentionDisplay", "AttentionView", "FlowDisplay", "GRUDisplay", "GRUView", "GateTerms",
           "Mode", "ModelCardDialog"]
