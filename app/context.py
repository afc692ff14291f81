"""State the explorers share: the current model, the selected sentence, the settings.

The context owns the loaded :class:`~engine.bundle.ModelBundle`. Opening another model loads it
off the GUI thread; a model that fails validation leaves the current one in place and reports its
one-line error through ``model_failed`` (the main window shows it in a dialog).

At launch the window comes first: the context starts without a model (``bundle`` is None) and
:meth:`AppContext.open_first` imports torch and loads the model in a worker. Until it arrives,
``model_status`` says so ("Loading the model…", or why the model could not be loaded) and every
explorer that needs the model shows that line instead of computing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, Signal

from app.jobs import Jobs

if TYPE_CHECKING:
    from engine.bundle import ModelBundle
    from engine.preview import Preview

__all__ = [
    "LOADING",
    "AppContext",
    "about_sections",
    "display_path",
    "model_card",
    "model_title",
    "setting_number",
]

LOADING = "Loading the model…"


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
    model_status_changed(str)
        ``model_status`` changed: "" once a model is in use, else the line explorers show.
    preview_changed()
        ``preview`` (the model in numpy, :mod:`engine.preview`) arrived or was dropped.
    """

    model_changed = Signal(object)
    model_failed = Signal(str, str)
    sentence_selected = Signal(str)
    view_requested = Signal(str)
    model_status_changed = Signal(str)
    preview_changed = Signal()

    def __init__(
        self,
        bundle: ModelBundle | None,
        settings: QSettings | None = None,
        parent: QObject | None = None,
        preview: Preview | None = None,
    ) -> None:
        """``preview`` without ``bundle``: a window that never loads torch (``--screenshot``: every
        view is drawn on the numpy preview); the preview is its model (:attr:`shown_model`)."""
        super().__init__(parent)
        self.bundle = bundle
        # At launch, before torch: the same model read into numpy (engine.preview), which the
        # Attention view scores with until ``bundle`` arrives; dropped then.
        self.preview: Preview | None = preview
        self.model_status = "" if bundle is not None or preview is not None else LOADING
        self.settings = settings  # None: screenshot mode, nothing is read or written
        self.selected_sentence = ""
        self.review_text = ""  # the review in the Attention view (the training view's default probe)
        self.jobs = Jobs(parent=self)

    @property
    def model_path(self) -> Path | None:
        return self.bundle.path if self.bundle is not None else None

    @property
    def shown_model(self) -> ModelBundle | Preview | None:
        """The model whose name and classes the window shows: ``bundle``, else a preview that is the
        window's model (no torch model is coming: ``model_status`` is ""), else None (loading)."""
        if self.bundle is not None:
            return self.bundle
        return self.preview if not self.model_status else None

    def set_bundle(self, bundle: ModelBundle) -> None:
        import gc

        self.bundle = bundle
        self.preview = None
        gc.freeze()  # the new model's vocabulary and tensors: see app.main_window.freeze_heap
        if self.settings is not None and bundle.path is not None:
            self.settings.setValue("model/path", str(bundle.path))
        self._set_status("")
        self.model_changed.emit(bundle)

    def _set_status(self, status: str) -> None:
        if status != self.model_status:
            self.model_status = status
            self.model_status_changed.emit(status)

    def open_preview(self, opener: Callable[..., Preview], *args: Any, then: Callable[[], None]) -> None:
        """Read the first model into numpy off the GUI thread (``opener(*args)``, no torch), then call
        ``then`` (which loads the torch model). A preview that cannot be read is no error: the torch
        loader reads the same folder and says what is wrong with it."""
        self._set_status(LOADING)

        def done(_gen: int, preview: Preview) -> None:
            if self.bundle is None:
                self.preview = preview
                self.preview_changed.emit()
            then()

        self.jobs.submit("preview", opener, *args, on_result=done, on_error=lambda _g, _m: then())

    def open_first(
        self, opener: Callable[..., tuple[ModelBundle, str]], *args: Any, on_note: Callable[[str], None]
    ) -> None:
        """Load the first model off the GUI thread: ``opener(*args)`` returns ``(bundle, note)``.

        ``note`` (a fallback taken, e.g. the last model could not be opened) goes to ``on_note``.
        A failure leaves the app without a model; ``model_status`` and ``model_failed`` say why.
        Opening another model meanwhile supersedes this one (the same job kind).
        """
        self._set_status(LOADING)

        def loaded(_gen: int, result: tuple[ModelBundle, str]) -> None:
            bundle, note = result
            self.set_bundle(bundle)
            if note:
                on_note(note)

        def failed(_gen: int, message: str) -> None:
            self._set_status(f"No model: {message}")
            self.model_failed.emit("", message)

        self.jobs.submit("model", opener, *args, on_result=loaded, on_error=failed)

    def load_model(self, path: str | Path) -> None:
        """Load and validate ``path`` off the GUI thread: ``model_changed`` or ``model_failed`` follows.

        A newer request supersedes an older one still loading.
        """
        from engine.bundle import load_bundle

        self.jobs.submit(
            "model",
            load_bundle,
            Path(path),
            on_result=lambda _g, b: self.set_bundle(b),
            on_error=lambda _g, message: self._failed(str(path), message),
        )

    def _failed(self, path: str, message: str) -> None:
        if self.bundle is None:  # nothing to fall back on: the explorers say why
            self._set_status(f"No model: {message}")
        self.model_failed.emit(path, message)

    def select_sentence(self, text: str) -> None:
        self.selected_sentence = text
        self.sentence_selected.emit(text)


def model_card(bundle: ModelBundle) -> list[tuple[str, str]]:
    """The model card's rows: what the model is, what it was trained on, how well it did."""
    meta = bundle.metadata
    cfg = bundle.config
    rows = [
        ("Folder", str(bundle.path) if bundle.path else "(in memory)"),
        ("Classes", ", ".join(bundle.label_names)),
        ("Vocabulary", f"{len(bundle.vocab):,} words"),
        (
            "Architecture",
            f"HAN: embeddings {cfg.embed_dim}, word GRU 2×{cfg.word_hidden}, "
            f"sentence GRU 2×{cfg.sentence_hidden}",
        ),
        (
            "Length limits (training)",
            f"{bundle.limits.max_words} words per sentence, "
            f"{bundle.limits.max_sentences} sentences per document",
        ),
    ]
    data = meta.get("dataset")
    if isinstance(data, dict):
        counts = data.get("class_counts")
        split = ""
        if "train_documents" in data:
            split = f"; {data['train_documents']:,} train, {data.get('dev_documents', 0):,} dev"
        rows.append(
            (
                "Dataset",
                f"{data.get('path', '?')} ({data.get('format', '?')}), {data.get('rows', '?'):,} rows{split}",
            )
        )
        if isinstance(counts, dict):
            rows.append(("Class counts", ", ".join(f"{k} {v:,}" for k, v in counts.items())))
    for key, title in (("dev_accuracy", "Dev accuracy"), ("test_accuracy", "Test accuracy")):
        if isinstance(meta.get(key), int | float):
            rows.append((title, f"{meta[key]:.2%}"))
    ev = meta.get("test_evaluation")
    if isinstance(ev, dict) and isinstance(ev.get("n"), int):
        rows.append(("Test set", f"{ev.get('data', '?')}, {ev['n']:,} documents"))
        rows += _per_class_rows(ev)
    for key, title in (("best_epoch", "Best epoch"), ("created", "Created"), ("command", "Command")):
        if meta.get(key) is not None:
            rows.append((title, str(meta[key])))
    return rows


def _per_class_rows(ev: dict[str, Any]) -> list[tuple[str, str]]:
    """Precision, recall, F1 and support of every class, and the confusion matrix, as recorded."""
    rows = []
    per_class = ev.get("per_class")
    if isinstance(per_class, dict):
        for label, f in per_class.items():
            if isinstance(f, dict) and all(
                isinstance(f.get(k), int | float) for k in ("precision", "recall", "f1", "support")
            ):
                rows.append(
                    (
                        f"Test, class {label}",
                        f"precision {f['precision']:.3f}, recall "
                        f"{f['recall']:.3f}, F1 {f['f1']:.3f} ({int(f['support']):,} documents)",
                    )
                )
    labels, confusion = ev.get("labels"), ev.get("confusion")
    if (
        isinstance(labels, list)
        and isinstance(confusion, list)
        and len(confusion) == len(labels)
        and all(isinstance(r, list) and len(r) == len(labels) for r in confusion)
    ):
        cells = "; ".join(
            f"true {t}: " + ", ".join(f"{n:,} as {p}" for p, n in zip(labels, row, strict=True))
            for t, row in zip(labels, confusion, strict=True)
        )
        rows.append(("Test confusion", cells))
    return rows


def setting_number(value: object, default: float) -> float:
    """A number read back from QSettings (a string, an int or a float), or ``default`` when the file
    holds something else (hand-edited, or written by another version)."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return default
    else:
        return default
    return number if math.isfinite(number) else default


def display_path(path: Path | None) -> str:
    """``path`` relative to the working folder when it lies inside it (screenshots, status bar)."""
    if path is None:
        return "(in memory)"
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        home = Path.home()
        try:
            return "~/" + str(Path(path).resolve().relative_to(home))
        except ValueError:
            return str(path)


def model_title(bundle: ModelBundle | Preview) -> tuple[str, str]:
    """The window title's model name and the status bar's line for ``bundle``.

    The name says which model this is: "shipped model", else the folder (its parent when the folder
    is a run's ``model/``), with the dataset it was trained on.
    """
    from resources import model_dir

    path = bundle.path
    if path is not None and Path(path).resolve() == Path(model_dir()).resolve():
        name = "shipped model"
    elif path is not None:
        p = Path(path).resolve()
        name = p.parent.name if p.name == "model" and p.parent.name else p.name
    else:
        name = "model in memory"
    data = bundle.metadata.get("dataset")
    data_name = Path(str(data.get("path"))).name if isinstance(data, dict) and data.get("path") else ""
    title = f"{name} (trained on {data_name})" if data_name else name
    acc = bundle.metadata.get("test_accuracy")
    acc_text = f", test accuracy {acc:.1%}" if isinstance(acc, float) else ""
    status = f"Model: {display_path(path)} — {', '.join(bundle.label_names)}{acc_text}"
    return title, status


def about_sections(bundle: ModelBundle | None) -> list[tuple[str, list[tuple[str, str]]]]:
    """Help → About: the app's version and libraries, the model in use, and the data's terms."""
    from importlib import metadata

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    if bundle is None:
        in_use = [("Model", "none loaded (yet)")]
    else:
        in_use = [
            ("Model", model_title(bundle)[0]),
            ("Folder", display_path(bundle.path)),
            ("Classes", ", ".join(bundle.label_names)),
        ]
    return [
        (
            "HAN Explorer",
            [
                ("Version", version("han-explorer")),
                (
                    "What it is",
                    "A tool for learning how Hierarchical Attention Networks (Yang et al., NAACL "
                    "2016), GRUs and tiled GPU convolutions work; every number is computed by "
                    "the shipped code.",
                ),
                ("Licence", "MIT"),
            ],
        ),
        ("Model in use", in_use),
        (
            "Data",
            [
                (
                    "IMDB reviews",
                    "Large Movie Review Dataset, Maas et al. (ACL 2011), “Learning Word Vectors for "
                    "Sentiment Analysis”. The shipped model was trained on its 25,000 training "
                    "reviews. No licence is stated; the authors ask that the paper be cited. The "
                    "texts are IMDb user reviews, for research and evaluation.",
                ),
                (
                    "Review polarity v2.0",
                    "Pang & Lee (ACL 2004); used only to measure transfer, never to train. "
                    "No licence is stated; cite the paper.",
                ),
                ("Sample reviews", "Written by the HAN Explorer team (MIT, as the app)."),
                ("Datasets", "Read from a path, never shipped with the app."),
            ],
        ),
        (
            "Libraries",
            [
                (name, f"{version(dist)} — {lic}")
                for name, dist, lic in (
                    ("Qt for Python (PySide6)", "PySide6-Essentials", "LGPL-3.0"),
                    ("PyTorch", "torch", "BSD-3-Clause"),
                    ("NumPy", "numpy", "BSD-3-Clause"),
                    ("pyqtgraph", "pyqtgraph", "MIT"),
                    ("superqt", "superqt", "BSD-3-Clause"),
                    ("safetensors", "safetensors", "Apache-2.0"),
                    ("syntok", "syntok", "MIT"),
                    ("Pillow", "pillow", "MIT-CMU"),
                )
            ],
        ),
    ]
