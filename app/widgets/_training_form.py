"""The training settings form: one input per training setting, each with its default and a tooltip.

The form knows labels, tooltips and input ranges (``FIELDS``); the defaults come from the engine's
``TrainConfig`` through the controller, so the form cannot drift from what ``han-explorer train``
does. ``set_values`` never emits; user edits emit ``value_changed(name)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

__all__ = ["FIELDS", "FieldSpec", "SettingsForm"]


@dataclass(frozen=True)
class FieldSpec:
    """One setting: ``kind`` is int, float, choice, bool or limit (an int where 0 means None)."""

    name: str
    label: str
    group: str
    kind: str
    tooltip: str
    minimum: float = 0
    maximum: float = 1_000_000
    step: float = 1
    decimals: int = 0
    choices: tuple[str, ...] = ()
    suffix: str = ""


_I, _F = "int", "float"
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "epochs",
        "Epochs",
        "Schedule",
        _I,
        "Passes over the training part. Training stops earlier "
        "when dev accuracy has not improved for 'Patience' epochs.",
        1,
        10_000,
    ),
    FieldSpec(
        "batch_size",
        "Batch size",
        "Schedule",
        _I,
        "Documents per optimizer step. Batches group "
        "documents of similar length, so little padding is computed.",
        1,
        65_536,
    ),
    FieldSpec(
        "lr",
        "Learning rate",
        "Schedule",
        _F,
        "Adam's learning rate after a short warm-up.",
        1e-6,
        10.0,
        1e-4,
        6,
    ),
    FieldSpec(
        "lr_schedule",
        "Rate schedule",
        "Schedule",
        "choice",
        "cosine: the rate decays to 5% over all epochs; constant: it stays.",
        choices=("cosine", "constant"),
    ),
    FieldSpec(
        "weight_decay",
        "Weight decay",
        "Schedule",
        _F,
        "Adam's L2 penalty on the weights; 0 = none.",
        0.0,
        1.0,
        1e-4,
        6,
    ),
    FieldSpec(
        "clip",
        "Gradient clip",
        "Schedule",
        _F,
        "Largest gradient norm; steeper gradients are scaled down (GRUs occasionally spike).",
        0.001,
        1e6,
        0.5,
        3,
    ),
    FieldSpec(
        "patience",
        "Patience",
        "Schedule",
        _I,
        "Epochs without a better dev accuracy before training stops.",
        1,
        10_000,
    ),
    FieldSpec(
        "dev_fraction",
        "Dev fraction",
        "Schedule",
        _F,
        "Share of each class held out as the dev set. The model with the best dev accuracy is the one kept.",
        0.001,
        0.999,
        0.01,
        3,
    ),
    FieldSpec(
        "seed",
        "Seed",
        "Schedule",
        _I,
        "Seeds the dev split, the initial weights and the batch order: "
        "the same seed and settings give the same model.",
        0,
        2**31 - 1,
    ),
    FieldSpec(
        "word_quantile",
        "Sentence cut (quantile)",
        "Text",
        _F,
        "Sentences are cut to this "
        "quantile of the training part's sentence lengths. Drag the line on the words-per-sentence "
        "histogram to set it.",
        0.005,
        1.0,
        0.005,
        3,
    ),
    FieldSpec(
        "sentence_quantile",
        "Document cut (quantile)",
        "Text",
        _F,
        "Documents are cut to "
        "this quantile of the training part's sentence counts. Drag the line on the "
        "sentences-per-document histogram to set it.",
        0.005,
        1.0,
        0.005,
        3,
    ),
    FieldSpec(
        "min_count",
        "Minimum word count",
        "Text",
        _I,
        "Words seen fewer times in the training part become <unk>.",
        1,
        1_000_000,
    ),
    FieldSpec(
        "max_vocab",
        "Largest vocabulary",
        "Text",
        _I,
        "Most frequent words kept (with <pad> and <unk>); keeps the model small.",
        3,
        10_000_000,
    ),
    FieldSpec(
        "limit",
        "Use first rows",
        "Text",
        "limit",
        "Train on the first N rows of the dataset only (quick runs); 0 = all rows.",
        0,
        100_000_000,
    ),
    FieldSpec("embed_dim", "Embedding size", "Model", _I, "Length of each word vector.", 1, 4096),
    FieldSpec(
        "word_hidden", "Word GRU units", "Model", _I, "GRU units per direction in the word encoder.", 1, 4096
    ),
    FieldSpec(
        "sentence_hidden",
        "Sentence GRU units",
        "Model",
        _I,
        "GRU units per direction in the sentence encoder.",
        1,
        4096,
    ),
    FieldSpec(
        "dropout",
        "Dropout",
        "Model",
        _F,
        "Dropout on sentence vectors and on the document vector.",
        0.0,
        0.95,
        0.05,
        2,
    ),
    FieldSpec(
        "embed_dropout",
        "Embedding dropout",
        "Model",
        _F,
        "Drops whole embedding features per sentence: a cheap regulariser.",
        0.0,
        0.95,
        0.05,
        2,
    ),
    FieldSpec(
        "word2vec_epochs",
        "word2vec epochs",
        "Model",
        _I,
        "Skip-gram epochs on the training text to start the embedding from; 0 = a random start.",
        0,
        1000,
    ),
    FieldSpec(
        "freeze_embedding_epochs",
        "Frozen embedding",
        "Model",
        _I,
        "First epochs in which the embedding is not trained.",
        0,
        10_000,
        suffix=" epochs",
    ),
    FieldSpec(
        "device",
        "Device",
        "Run",
        "choice",
        "auto takes a CUDA GPU when torch sees one, else the CPU.",
        choices=("auto", "cpu", "cuda"),
    ),
    FieldSpec(
        "embedding_dtype",
        "Saved embedding",
        "Run",
        "choice",
        "float16 halves the largest tensor of the saved model (the shipped model uses it).",
        choices=("float32", "float16"),
    ),
    FieldSpec(
        "checkpoint_every",
        "Checkpoint every",
        "Run",
        _I,
        "Also write a resumable checkpoint every N steps; 0 = at the end of each epoch only.",
        0,
        100_000_000,
        suffix=" steps",
    ),
    FieldSpec(
        "resume",
        "Resume",
        "Run",
        "bool",
        "Continue from the checkpoint in the output folder. Settings that shape the model must match it.",
    ),
)


class _FloatBox(QDoubleSpinBox):
    """A float input that shows 0.002, not 0.002000."""

    def textFromValue(self, value: float) -> str:
        text = f"{value:.{self.decimals()}f}".rstrip("0").rstrip(".")
        return text if text not in ("", "-0") else "0"


class SettingsForm(QWidget):
    """Grouped inputs for ``FIELDS``.

    Signals
    -------
    value_changed(str)
        The user changed setting ``name``.
    """

    value_changed = Signal(str)

    def __init__(self, defaults: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.defaults = {f.name: defaults[f.name] for f in FIELDS}
        self.inputs: dict[str, QWidget] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        forms: dict[str, QFormLayout] = {}
        for spec in FIELDS:
            if spec.group not in forms:
                box = QGroupBox(spec.group)
                forms[spec.group] = QFormLayout(box)
                forms[spec.group].setContentsMargins(6, 4, 6, 4)
                forms[spec.group].setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
                layout.addWidget(box)
            widget = self._input(spec)
            widget.setMinimumWidth(90)
            tip = f"{spec.tooltip}\nDefault: {self._text(spec, self.defaults[spec.name])}"
            widget.setToolTip(tip)
            widget.setObjectName(spec.name)
            forms[spec.group].addRow(spec.label, widget)
            forms[spec.group].labelForField(widget).setToolTip(tip)
            self.inputs[spec.name] = widget
        layout.addStretch(1)
        self.set_values(self.defaults)

    def _input(self, spec: FieldSpec) -> QWidget:
        changed = lambda *_, n=spec.name: self.value_changed.emit(n)  # noqa: E731
        if spec.kind == "choice":
            w: Any = QComboBox()
            w.addItems(list(spec.choices))
            w.currentIndexChanged.connect(changed)
        elif spec.kind == "bool":
            w = QCheckBox()
            w.toggled.connect(changed)
        elif spec.kind == "float":
            w = _FloatBox()
            w.setDecimals(spec.decimals)
            w.setRange(spec.minimum, spec.maximum)
            w.setSingleStep(spec.step)
            w.valueChanged.connect(changed)
        else:
            w = QSpinBox()
            w.setRange(int(spec.minimum), int(spec.maximum))
            w.setSingleStep(int(spec.step))
            w.setSuffix(spec.suffix)
            if spec.kind == "limit":
                w.setSpecialValueText("all rows")
            w.valueChanged.connect(changed)
        return w

    @staticmethod
    def _text(spec: FieldSpec, value: Any) -> str:
        if spec.kind == "limit" and not value:
            return "all rows"
        return str(value)

    # -- model -> widgets (no signals) ----------------------------------------------------------------
    def set_values(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            w: Any = self.inputs[name]
            with QSignalBlocker(w):
                if isinstance(w, QComboBox):
                    w.setCurrentText(str(value))
                elif isinstance(w, QCheckBox):
                    w.setChecked(bool(value))
                else:
                    w.setValue(value or 0)

    def set_enabled(self, enabled: bool) -> None:
        for w in self.inputs.values():
            w.setEnabled(enabled)

    # -- widgets -> values ----------------------------------------------------------------------------
    def value(self, name: str) -> Any:
        spec = next(f for f in FIELDS if f.name == name)
        w: Any = self.inputs[name]
        if spec.kind == "choice":
            return w.currentText()
        if spec.kind == "bool":
            return w.isChecked()
        if spec.kind == "limit":
            return w.value() or None
        return w.value()

    def values(self) -> dict[str, Any]:
        return {f.name: self.value(f.name) for f in FIELDS}
