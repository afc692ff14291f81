"""Files shipped with HAN Explorer: the trained model, sample texts, icons and benchmark records.

Every lookup goes through :func:`path`, so nothing else hard-codes where resources live.
"""

from __future__ import annotations

from importlib import resources as _res
from pathlib import Path

__all__ = ["model_dir", "path", "sample_texts"]


def path(name: str) -> Path:
    """Return the filesystem path of the resource ``name`` (e.g. ``"samples/x.txt"``)."""
    p = Path(str(_res.files(__name__).joinpath(name)))
    if not p.exists():
        raise FileNotFoundError(f"resource not found: {name}")
    return p


def model_dir() -> Path:
    """Directory of the model that ships with the app."""
    return path("model")


def sample_texts() -> dict[str, Path]:
    """Sample reviews we wrote, by stem name."""
    return {p.stem: p for p in sorted(path("samples").glob("*.txt"))}
