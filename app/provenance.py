"""Which model and which program made an export: one value, written into every exported file.

Qt-free and cheap (standard library only): the CLI (``predict --html``) and the app stamp their
pages from the same :func:`provenance`, so the same settings give the same page, apart from the
export time (:data:`EXPORTED_PREFIX` starts the one line that holds it).
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.bundle import ModelBundle
    from engine.preview import Preview

__all__ = ["EXPORTED_PREFIX", "Provenance", "program_version", "provenance"]

EXPORTED_PREFIX = "Exported "  # the line that differs between two exports of the same view


def program_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("han-explorer")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


@dataclass(frozen=True)
class Provenance:
    """The model (folder, dataset, accuracy, training date), the program version and the export time."""

    model: str  # "shipped model", or the model folder's absolute path
    dataset: str  # file name of the training data ("" when the model does not say)
    accuracy: str  # e.g. "test accuracy 91.67%"; "" when none was recorded
    trained: str  # when the model was saved (ISO 8601), "" when unknown
    version: str  # han-explorer's version
    exported: str  # UTC, ISO 8601, to the second

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            ("Model", self.model),
            ("Trained on", self.dataset),
            ("Accuracy", self.accuracy),
            ("Trained", self.trained),
            ("Program", f"han-explorer {self.version}"),
        ]
        return [(k, v) for k, v in rows if v]

    def lines(self) -> list[str]:
        """Plain-text lines for pictures: the model, then the program and the export time."""
        model = " · ".join(v for k, v in self.rows() if k != "Program")
        return [f"Model: {model}", f"han-explorer {self.version} · {EXPORTED_PREFIX}{self.exported}"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def html(self) -> str:
        """A ``<section>`` for an exported page; the export time is alone on its last line."""
        cells = "".join(
            f'<tr><th scope="row">{html.escape(k)}</th><td>{html.escape(v)}</td></tr>' for k, v in self.rows()
        )
        return (
            '<section class="card provenance"><h2>Made by</h2>'
            f'<table class="probs">{cells}</table>\n'
            f'<p class="stats">{EXPORTED_PREFIX}{html.escape(self.exported)}</p>\n</section>'
        )


def provenance(bundle: ModelBundle | Preview | None, now: datetime | None = None) -> Provenance:
    """The stamp for exports of what ``bundle`` computed (``None``: no model was involved)."""
    exported = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if bundle is None:
        return Provenance("none", "", "", "", program_version(), exported)
    from resources import model_dir

    path = bundle.path
    if path is not None and Path(path).resolve() == Path(model_dir()).resolve():
        model = "shipped model"
    else:
        model = str(Path(path).resolve()) if path is not None else "model in memory"
    meta = bundle.metadata
    data = meta.get("dataset")
    dataset = Path(str(data["path"])).name if isinstance(data, dict) and data.get("path") else ""
    accuracy = ""
    for key, name in (("test_accuracy", "test"), ("dev_accuracy", "dev")):
        value = meta.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            accuracy = f"{name} accuracy {value:.2%}"
            break
    trained = str(meta.get("created", "") or "")
    return Provenance(model, dataset, accuracy, trained, program_version(), exported)
