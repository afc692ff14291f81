"""Qt views. They paint plain data (numpy arrays, dataclasses) and never import torch or PyCUDA."""

from app.widgets._attention_data import MODES, AttentionDisplay, Mode
from app.widgets._attention_view import AttentionView
from app.widgets._conv_view import ConvView
from app.widgets._gru_data import FlowDisplay, GateTerms, GRUDisplay
from app.widgets._gru_view import GRUView
from app.widgets._help import AboutDialog, KeyboardDialog
from app.widgets._model_card import ModelCardDialog
from app.widgets._training_data import CutSummary, DatasetSummary, HistogramData, ProbeSnapshot, RunProgress
from app.widgets._training_view import TrainingView

__all__ = ["MODES", "AboutDialog", "AttentionDisplay", "AttentionView", "ConvView", "CutSummary",
           "DatasetSummary", "FlowDisplay", "GRUDisplay", "GRUView", "GateTerms", "HistogramData",
           "KeyboardDialog", "Mode", "ModelCardDialog", "ProbeSnapshot", "RunProgress", "TrainingView"]
