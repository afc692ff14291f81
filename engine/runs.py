"""Where models and runs may be written: never into the shipped model, never over work unasked.

* The model that ships with the app (``resources/model``) is read-only to every command and view:
  :func:`is_shipped_model` tells, :func:`check_model_dir` and :func:`check_run_dir` refuse it.
* A folder that already holds a model is replaced only with ``force`` (the CLI's ``--force``, the
  app's confirmation); a folder that holds anything else is never replaced, since replacing a
  model folder replaces the whole folder.
* A training run folder that already holds a run (``model/``, ``checkpoint/`` or ``logs/``) is
  continued with ``resume`` or replaced with ``force``; otherwise training refuses to start.

Each refusal is a :class:`RunDirError` (a ``ValueError``) whose message is one line.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "RUN_PARTS",
    "RunDirError",
    "check_model_dir",
    "check_run_dir",
    "is_shipped_model",
    "shipped_model_dir",
]

RUN_PARTS = ("model", "checkpoint", "logs")  # what ``train`` writes into its ``--out`` folder
_MODEL_FILES = ("model.json", "model.safetensors")


class RunDirError(ValueError):
    """A folder that must not be written; the message is one line and says what to do instead."""


def shipped_model_dir() -> Path:
    """The shipped model's folder, resolved."""
    import resources

    return resources.model_dir().resolve()


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def is_shipped_model(path: str | Path) -> bool:
    """True if ``path`` is the shipped model's folder or anything inside it (links followed)."""
    return _within(_resolved(path), shipped_model_dir())


def _holds_model(p: Path) -> bool:
    return any((p / name).exists() for name in _MODEL_FILES)


def check_model_dir(path: str | Path, force: bool = False) -> Path:
    """Refuse to save a model to ``path`` unless that is safe; returns ``path`` as a Path.

    Safe: a new folder, an empty one, or (with ``force``) one that holds a model. Never the
    shipped model, a file, or a folder holding anything other than a model.
    """
    p = Path(path)
    if is_shipped_model(p):
        raise RunDirError(f"{p} is the shipped model, which is read-only: save to another folder")
    if p.exists() and not p.is_dir():
        raise RunDirError(f"{p} is a file, not a model folder: choose a folder")
    if p.is_dir() and any(p.iterdir()):
        if not _holds_model(p):
            raise RunDirError(
                f"{p} holds files that are not a model, and saving replaces the whole "
                f"folder: choose a new or empty folder"
            )
        if not force:
            raise RunDirError(f"{p} already holds a model; use --force to replace it")
    return p


def check_run_dir(out: str | Path, resume: bool = False, force: bool = False) -> Path:
    """Refuse to train into ``out`` unless that is safe (see the module docstring)."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise RunDirError(f"--out {p} is a file, not a folder")
    shipped = shipped_model_dir()
    for part in RUN_PARTS:
        target = _resolved(p / part)
        if _within(target, shipped) or _within(shipped, target):
            raise RunDirError(
                f"--out {p} would write into the shipped model ({shipped}), which is "
                f"read-only: choose another folder"
            )
    held = [part for part in RUN_PARTS if (p / part).exists()]
    if held and not resume and not force:
        raise RunDirError(
            f"{p} already holds a training run ({', '.join(held)}); use --resume to "
            f"continue it or --force to replace it"
        )
    if not force:
        model = p / "model"
        if model.is_dir() and any(model.iterdir()) and not _holds_model(model):
            raise RunDirError(f"{model} holds files that are not a model; choose another --out")
    return p
