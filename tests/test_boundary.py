"""The architecture boundary: engine and kernels never touch Qt or app; widgets never touch torch.

Three independent checks, each able to fail: import-linter with the contracts in pyproject.toml
(also shown to catch a planted violation in a copy of the tree), an AST scan of every source file
(also imports inside functions, relative imports and ``importlib.import_module("...")``), and a
fresh interpreter that imports the CLI and the engine without pulling Qt into ``sys.modules``.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "engine", "kernels", "resources")

QT_OR_APP = frozenset({"PySide2", "PySide6", "pyqtgraph", "superqt", "qtpy", "app"})
GPU_OR_TORCH = frozenset({"torch", "pycuda"})


def no_qt_or_app(top: str) -> bool:
    return top in QT_OR_APP or top.startswith("PyQt")


def no_torch(top: str) -> bool:
    return top in GPU_OR_TORCH


def no_engine(top: str) -> bool:
    return top == "engine"


# --------------------------------------------------------------------------------------------------
# The AST scanner
# --------------------------------------------------------------------------------------------------


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute name of ``from <level dots><name> import ...`` written in ``module``."""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    base = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    return ".".join([*base, *([name] if name else [])])


def imported_modules(source: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """Every module ``source`` imports, anywhere in the file: ``(line, absolute dotted name)``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                assert node.module is not None
                yield node.lineno, node.module
                for alias in node.names:
                    yield node.lineno, f"{node.module}.{alias.name}"
            else:
                base = _resolve_relative(module, is_package, node.level, node.module)
                if base:
                    yield node.lineno, base
                for alias in node.names:
                    yield node.lineno, f"{base}.{alias.name}" if base else alias.name
        elif isinstance(node, ast.Call) and node.args:
            func, first = node.func, node.args[0]
            name = getattr(func, "id", None) or getattr(func, "attr", None)
            if (
                name in ("__import__", "import_module")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and not first.value.startswith(".")
            ):
                yield node.lineno, first.value


def violations(
    source: str, module: str, banned: Callable[[str], bool], is_package: bool = False
) -> list[str]:
    return [
        f"line {line}: {name}"
        for line, name in imported_modules(source, module, is_package)
        if name and banned(name.split(".")[0])
    ]


def module_name(path: Path, root: Path = ROOT) -> tuple[str, bool]:
    rel = path.relative_to(root).with_suffix("")
    if rel.name == "__init__":
        return ".".join(rel.parts[:-1]), True
    return ".".join(rel.parts), False


def scan_tree(folder: str, banned: Callable[[str], bool], root: Path = ROOT) -> tuple[int, list[str]]:
    """(files scanned, violations as "path line N: module") for every .py under ``root/folder``."""
    files = sorted((root / folder).rglob("*.py"))
    found = []
    for path in files:
        module, is_package = module_name(path, root)
        for v in violations(path.read_text(encoding="utf-8"), module, banned, is_package):
            found.append(f"{path.relative_to(root).as_posix()} {v}")
    return len(files), found


# --------------------------------------------------------------------------------------------------
# The scanner catches what it should (so the real scan cannot pass by scanning nothing useful)
# --------------------------------------------------------------------------------------------------

PLANTED_QT_OR_APP = [
    "import PySide6",
    "import PySide6.QtWidgets as qw",
    "from PyQt5.QtWidgets import QWidget",
    "from PyQt6 import QtCore",
    "import pyqtgraph as pg",
    "from superqt import QRangeSlider",
    "import qtpy",
    "import app",
    "import app.cli",
    "from app import cli",
    "from app.render import render_html",
    "def f():\n    from app.cli import main\n    return main\n",
    "class A:\n    def m(self):\n        import pyqtgraph\n        return pyqtgraph\n",
    "try:\n    import PyQt6\nexcept ImportError:\n    PyQt6 = None\n",
    "if False:\n    import qtpy.QtCore\n",
    "from .. import app",
    "from ..app import cli",
    "import importlib\nimportlib.import_module('superqt')\n",
    "__import__('PySide6')",
]
CLEAN_FOR_ENGINE = [
    "import torch",
    "from engine import text",
    "from engine.text import tokenize",
    "import application",
    "import apple.app",
    "from mypkg import app",
    "import numpy as np\nx = np.zeros(3)\n",
    "from . import text",
    "from .text import tokenize",
    "print('import app')",
]
PLANTED_TORCH = [
    "import torch",
    "import torch.nn as nn",
    "from torch import nn",
    "from torch.nn import functional as F",
    "import pycuda.driver as drv",
    "def f():\n    import torch\n    return torch\n",
    "import importlib\nimportlib.import_module('torch')\n",
]
CLEAN_FOR_WIDGETS = [
    "import numpy",
    "from app.render import render_html",
    "import torchvision_stub_name_only_startswith_torch",
    "from typing import TYPE_CHECKING",
]


@pytest.mark.parametrize("source", PLANTED_QT_OR_APP)
def test_scanner_flags_planted_qt_or_app_imports(source: str) -> None:
    assert violations(source, "engine.planted", no_qt_or_app), source
    assert violations(source, "kernels.planted", no_qt_or_app), source


@pytest.mark.parametrize("source", CLEAN_FOR_ENGINE)
def test_scanner_passes_clean_engine_sources(source: str) -> None:
    assert violations(source, "engine.planted", no_qt_or_app) == []


@pytest.mark.parametrize("source", PLANTED_TORCH)
def test_scanner_flags_planted_torch_imports(source: str) -> None:
    assert violations(source, "app.widgets.planted", no_torch), source


@pytest.mark.parametrize("source", CLEAN_FOR_WIDGETS)
def test_scanner_passes_clean_widget_sources(source: str) -> None:
    assert violations(source, "app.widgets.planted", no_torch) == []


def test_relative_imports_resolve() -> None:
    assert _resolve_relative("engine.train", False, 1, "text") == "engine.text"
    assert _resolve_relative("engine", True, 1, "text") == "engine.text"
    assert _resolve_relative("app.widgets.plot", False, 2, "cli") == "app.cli"
    assert _resolve_relative("engine.train", False, 2, None) == ""


def test_scanner_flags_a_planted_file(tmp_path: Path) -> None:
    """scan_tree itself (glob, module names, reporting) finds a bad import in a fake tree."""
    (tmp_path / "engine" / "sub").mkdir(parents=True)
    (tmp_path / "engine" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "engine" / "sub" / "deep.py").write_text("def f():\n    import pyqtgraph\n", encoding="utf-8")
    n, found = scan_tree("engine", no_qt_or_app, root=tmp_path)
    assert n == 2
    assert found == ["engine/sub/deep.py line 2: pyqtgraph"]


# --------------------------------------------------------------------------------------------------
# The real tree
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "rule", "min_files"),
    [
        ("engine", no_qt_or_app, 10),
        ("kernels", no_qt_or_app, 1),
        ("kernels", no_engine, 1),
        ("app/widgets", no_torch, 1),
    ],
)
def test_source_tree_respects_the_boundary(folder: str, rule: Callable[[str], bool], min_files: int) -> None:
    n, found = scan_tree(folder, rule)
    assert n >= min_files, f"only {n} files under {folder}: is the scan looking in the right place?"
    assert found == [], "\n".join(found)


def _lint_imports() -> list[str]:
    script = Path(sys.executable).parent / "lint-imports"
    if script.is_file():
        return [str(script)]
    found = shutil.which("lint-imports")
    if found:
        return [found]
    return [
        sys.executable,
        "-c",
        "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())",
    ]


def _run_linter(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_lint_imports(), "--no-cache", "--no-logo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_linter_contracts_are_kept() -> None:
    proc = _run_linter(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    n = len(contracts["contracts"])  # every contract in pyproject.toml ran and held
    assert n >= 6 and f"{n} kept, 0 broken" in proc.stdout, proc.stdout


def test_import_linter_catches_a_planted_violation(tmp_path: Path) -> None:
    """The same contracts on a copy of the sources with one bad import (inside a function) fail."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns(
                "__pycache__", "*.safetensors", "*.json", "*.txt", "*.png", "*.svg", "*.cu"
            ),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert _run_linter(tmp_path).returncode == 0  # the copy alone is clean
    (tmp_path / "engine" / "planted.py").write_text("def f():\n    import app.cli\n", encoding="utf-8")
    proc = _run_linter(tmp_path)
    assert proc.returncode != 0, proc.stdout
    assert "engine.planted -> app.cli" in proc.stdout, proc.stdout


def test_cli_and_engine_do_not_import_qt() -> None:
    code = (
        "import json, sys\n"
        "import app.cli, engine.train, engine.analyze\n"
        "qt = ('PySide2', 'PySide6', 'PyQt4', 'PyQt5', 'PyQt6', 'pyqtgraph', 'superqt', 'qtpy')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in qt)))\n"
        "print(json.dumps('engine.train' in sys.modules and 'app.cli' in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    loaded_qt, imported = (json.loads(line) for line in proc.stdout.splitlines())
    assert imported is True
    assert loaded_qt == []
