"""State the explorers share: the current model, the selected sentence, the settings.

The context owns the loaded :class:`~engine.bundle.ModelBundle`. Opening another model loads it
off the GUI thread; a model that fails validation leaves the current one in place and reports its
one-line error through ``model_failed`` (the main window shows it in a dialog).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, Signal
from superqt.utils import create_worker

if TYPE_CHECKING:
    from engine.bundle import ModelBundle

__all__ = ["AppContext", "model_card"]


class AppContext(QObject):
    """Signals
    -------
    model_changed(object)
        A new ModelBundle is in use.
    model_failed(str, str)
        Loading the model at path (first) failed with message (second); the old model stays.
    sentence_selected(str)
        The sentence selected in the Attention view (its text), for the other explorers.
    view_requested(str)
        An explorer asks the main window to bring explorer ``name`` to the front.
    """

    model_changed = Signal(object)
    model_failed = Signal(str, str)
    sentence_selected = Signal(str)
    view_requested = Signal(str)

    def __init__(self, bundle: ModelBundle, settings: QSettings | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bundle = bundle
        self.settings = settings  # None: screenshot mode, nothing is read or written
        self.selected_sentence = ""
        self.review_text = ""  # the review in the Attention view (the training view's default probe)
        self._loader: Any = None

    @property
    def model_path(self) -> Path | None:
        return self.bundle.path

    def set_bundle(self, bundle: ModelBundle) -> None:
        import gc

        self.bundle = bundle
        gc.freeze()  # the new model's vocabulary and tensors: see app.main_window.freeze_heap
        if self.settings is not None and bundle.path is not None:
            self.settings.setValue("model/path", str(bundle.path))
        self.model_changed.emit(bundle)

    def load_model(self, path: str | Path) -> Any:
        """Load and validate ``path`` off the GUI thread; returns the worker (tests wait on it)."""
        from engine.bundle import load_bundle

        worker = create_worker(load_bundle, Path(path), _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self.set_bundle)
        worker.errored.connect(lambda e: self.model_failed.emit(str(path), _message(e)))
        self._loader = worker
        worker.start()
        return worker

    def select_sentence(self, text: str) -> None:
        self.selected_sentence = text
        self.sentence_selected.emit(text)


def _message(e: BaseException) -> str:
    from engine.bundle import ModelError

    if isinstance(e, ModelError):
        return str(e)
    return f"{type(e).__name__}: {e}"


def model_card(bundle: ModelBundle) -> list[tuple[str, str]]:
    """The model card's rows: what the model is, what it was trained on, how well it did."""
    meta = bundle.metadata
    cfg = bundle.config
    rows = [("Folder", str(bundle.path) if bundle.path else "(in memory)"),
            ("Classes", ", ".join(bundle.label_names)),
            ("Vocabulary", f"{len(bundle.vocab):,} words"),
            ("Architecture", f"HAN: embeddings {cfg.embed_dim}, word GRU 2×{cfg.word_hidden}, "
                             f"sentence GRU 2×{cfg.sentence_hidden}"),
            ("Length limits (training)", f"{bundle.limits.max_words} words per sentence, "
                                         f"{bundle.limits.max_sentences} sentences per document")]
    data = meta.get("dataset")
    if isinstance(data, dict):
        counts = data.get("class_counts")
        split = ""
        if "train_documents" in data:
            split = f"; {data['train_documents']:,} train, {data.get('dev_documents', 0):,} dev"
        rows.append(("Dataset", f"{data.get('path', '?')} ({data.get('format', '?')}), "
                                f"{data.get('rows', '?'):,} rows{split}"))
        if isinstance(counts, dict):
            rows.append(("Class counts", ", ".join(f"{k} {v:,}" for k, v in counts.items())))
    for key, title in (("dev_accuracy", "Dev accuracy"), ("test_accuracy", "Test accuracy")):
        if isinstance(meta.get(key), int | float):
            rows.append((title, f"{meta[key]:.2%}"))
    ev = meta.get("test_evaluation")
    if isinstance(ev, dict) and "n" in ev:
        rows.append(("Test set", f"{ev.get('data', '?')}, {ev['n']:,} documents"))
    for key, title in (("best_epoch", "Best epoch"), ("created", "Created"), ("command", "Command")):
        if meta.get(key) is not None:
            rows.append((title, str(meta[key])))
    return rows
