"""Atomic writes under faults: a failed rename, a full disk, a SIGKILL between steps (issue 13, 5-6).

Whatever happens, the previous file or folder is there, whole; a killed swap of a model or
checkpoint folder is put back by the next reader; temporaries of dead processes are removed.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import engine.atomic
from engine.atomic import WriteError, open_atomic, recover_dir, replace_dir, write_json, write_text
from engine.bundle import load_bundle, save_bundle
from tests.reliability.helpers import ROOT, copy_model, tree_bytes


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or p.name.endswith(".old"))


def test_write_text_replaces_and_keeps_permissions(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o640)
    write_text(path, "new")
    assert path.read_text(encoding="utf-8") == "new"
    assert path.stat().st_mode & 0o777 == 0o640
    assert _leftovers(tmp_path) == []


def test_failed_rename_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.json"
    write_json(path, {"v": 1})

    def refuse(src: object, dst: object) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(WriteError) as err:
        write_json(path, {"v": 2})
    assert str(err.value) == f"cannot write {path}: input/output error"
    monkeypatch.undo()
    assert json.loads(path.read_text(encoding="utf-8")) == {"v": 1}
    assert _leftovers(tmp_path) == []


def test_full_disk_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "page.html"
    path.write_text("<p>the previous export</p>", encoding="utf-8")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(WriteError, match="no space left on device") as err:
        write_text(path, "<p>new</p>" * 1000)
    assert "\n" not in str(err.value) and err.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == "<p>the previous export</p>"
    assert _leftovers(tmp_path) == []


def test_write_errors_cross_a_process_pipe_intact(tmp_path: Path) -> None:
    """The GUI trains in a child process: its WriteError must arrive as itself, not as text."""
    import pickle

    e = WriteError(tmp_path / "model", OSError(errno.ENOSPC, "No space left on device"))
    back = pickle.loads(pickle.dumps(e))
    assert isinstance(back, WriteError) and back.errno == errno.ENOSPC and str(back) == str(e)


def test_full_disk_on_a_real_tiny_filesystem(tmp_path: Path) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True, check=False
        ).returncode
    ):
        pytest.skip("needs root to mount a 64 KiB tmpfs")
    try:
        path = mount / "out.npy"
        write_text(path, "x" * 20_000)
        with pytest.raises(WriteError, match="no space left"):
            write_text(path, "y" * 200_000)
        assert path.read_text(encoding="utf-8") == "x" * 20_000
        assert _leftovers(mount) == []
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_replace_dir_failure_between_the_renames_puts_the_old_folder_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "model"
    replace_dir(target, lambda d: (d / "f.txt").write_text("old", encoding="utf-8"))
    real = os.replace
    calls = []

    def second_fails(src: object, dst: object) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(errno.EIO, "I/O error")
        real(src, dst)

    monkeypatch.setattr(os, "replace", second_fails)
    with pytest.raises(WriteError):
        replace_dir(target, lambda d: (d / "f.txt").write_text("new", encoding="utf-8"))
    monkeypatch.undo()
    assert (target / "f.txt").read_text(encoding="utf-8") == "old"
    assert _leftovers(tmp_path) == []


KILL_AT_RENAME = """
import os, signal, sys, torch
from pathlib import Path
from engine.bundle import load_bundle, save_bundle
real = os.replace
def replace(src, dst):
    if Path(dst).name == sys.argv[2]:
        os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst)
os.replace = replace
b = load_bundle(sys.argv[1])
with torch.no_grad():
    b.model.classifier.bias += 1.0
save_bundle(b, sys.argv[1])
"""


@pytest.mark.parametrize("kill_before", ["model.json", ".model.old", "model"])
def test_sigkill_during_a_model_save_never_loses_the_model(
    tiny_model: Path, tmp_path: Path, kill_before: str
) -> None:
    """Killed while writing, before the first rename or between the two: the previous model stays."""
    model = copy_model(tiny_model, tmp_path / "model")
    before = tree_bytes(model)
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AT_RENAME, str(model), kill_before],
        cwd=ROOT,
        capture_output=True,
        check=False,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-1000:]
    if kill_before == "model":
        assert not model.exists() and (tmp_path / ".model.old").is_dir()  # the gap the issue found
    bundle = load_bundle(model)  # recovers it
    assert bundle.path == model and tree_bytes(model) == before
    save_bundle(bundle, model)  # cleans the leftovers
    assert _leftovers(tmp_path) == []


def test_sigkill_during_a_file_write_leaves_the_old_file_and_the_next_write_cleans_up(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    write_json(path, {"v": 1})
    code = (
        "import os, signal, sys\n"
        "from engine.atomic import open_atomic\n"
        "with open_atomic(sys.argv[1]) as f:\n"
        '    f.write(b\'{"v": 2, "half\')\n'
        "    f.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        cwd=ROOT,
        capture_output=True,
        check=False,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == -signal.SIGKILL
    assert json.loads(path.read_text(encoding="utf-8")) == {"v": 1}
    assert len(_leftovers(tmp_path)) == 1  # the dead writer's temp file
    write_json(path, {"v": 3})
    assert _leftovers(tmp_path) == []


def test_a_live_writers_temporary_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    mine = tmp_path / f".out.txt.tmp-{os.getpid()}-0123abcd"
    mine.write_text("being written", encoding="utf-8")
    write_text(path, "x")
    assert mine.exists()


def test_model_save_on_a_full_disk_is_a_write_error_and_keeps_the_old_model(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """safetensors reports a failed write as its own SafetensorError; it must not escape."""
    from safetensors import SafetensorError

    model = copy_model(tiny_model, tmp_path / "model")
    before = tree_bytes(model)
    bundle = load_bundle(model)

    def full(*args: object, **kwargs: object) -> None:
        raise SafetensorError("Error while serializing: IoError(Os { code: 28, kind: StorageFull })")

    monkeypatch.setattr(engine.bundle, "save_file", full)
    with pytest.raises(WriteError) as err:
        save_bundle(bundle, model)
    assert "\n" not in str(err.value) and "model.safetensors" in str(err.value)
    assert tree_bytes(model) == before and _leftovers(tmp_path) == []


def test_checkpoint_folder_killed_between_renames_still_resumes(tmp_path: Path) -> None:
    """recover_dir is what checkpoint.load calls: the old checkpoint comes back."""
    target = tmp_path / "checkpoint"
    replace_dir(target, lambda d: (d / "state.json").write_text("{}", encoding="utf-8"))
    os.replace(target, tmp_path / ".checkpoint.old")  # what a kill between the renames leaves
    assert recover_dir(target) == target and (target / "state.json").is_file()


def test_open_atomic_refuses_a_folder_and_append_modes(tmp_path: Path) -> None:
    with pytest.raises(WriteError, match="it is a folder"), open_atomic(tmp_path):
        pass
    with pytest.raises(ValueError, match="whole files"), open_atomic(tmp_path / "x", "ab"):
        pass


def test_no_temporaries_after_an_exception_in_the_writer(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), open_atomic(tmp_path / "x.bin") as f:
        f.write(b"partial")
        raise RuntimeError("the producer failed")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError):
        replace_dir(tmp_path / "m", lambda d: (_ for _ in ()).throw(RuntimeError("no")))
    assert list(tmp_path.iterdir()) == []
    assert torch.tensor(0).item() == 0
