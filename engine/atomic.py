"""Atomic writes: a file or a folder is either the old one or the complete new one, never half.

Files (:func:`write_bytes`, :func:`write_text`, :func:`write_json`, :func:`open_atomic` for writers
that want a file object) are written to a temporary sibling ``.NAME.tmp-PID-XXXX``, flushed and
fsynced, renamed over ``NAME`` and the folder is fsynced, as git and SQLite do. A failure at any
step (full disk, read-only folder, a kill) leaves the previous file untouched; the temporary file
is removed, or, after a kill, removed by the next write to the same name.

Folders (:func:`replace_dir`) are written completely into a temporary sibling, fsynced, then
swapped in with two renames: ``NAME -> .NAME.old``, ``tmp -> NAME``. A kill between the two leaves
no ``NAME`` but a complete ``.NAME.old``; :func:`recover_dir` (called by every reader and before
every write) renames it back, so the previous version is never lost. Leftover temporaries of dead
processes are deleted at the next write.

Every failure is raised as :class:`WriteError`, an ``OSError`` whose message is one line naming
the path ("cannot write runs/x/model: no space left on device").
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "WriteError",
    "check_output_file",
    "clean_leftovers",
    "fsync_dir",
    "open_atomic",
    "recover_dir",
    "replace_dir",
    "write_bytes",
    "write_json",
    "write_text",
]

_TMP = re.compile(r"\.(?P<name>.+)\.tmp-(?P<pid>\d+)-[0-9a-f]{8}")


class WriteError(OSError):
    """Writing ``path`` failed; ``str()`` is one line, ``errno`` the cause's."""

    def __init__(self, path: str | Path, cause: BaseException | str, code: int | None = None) -> None:
        code = cause.errno if isinstance(cause, OSError) else code
        super().__init__(code, _reason(cause))
        self.path = str(path)

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.strerror}"

    def __reduce__(self) -> tuple[Any, ...]:  # crosses a process pipe (engine.train_process) intact
        return (WriteError, (self.path, self.strerror or "", self.errno))


def _reason(cause: BaseException | str) -> str:
    if isinstance(cause, str):
        return cause
    if isinstance(cause, OSError) and cause.errno is not None:
        return os.strerror(cause.errno).lower()
    return " ".join(str(cause).split()) or type(cause).__name__


def _tmp_sibling(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but is not ours
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def clean_leftovers(path: Path) -> None:
    """Delete temporaries of ``path`` left by processes that no longer run (a kill mid-write)."""
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        m = _TMP.fullmatch(entry.name)
        if m and m["name"] == path.name and not _pid_alive(int(m["pid"])):
            _remove(entry)


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (no-op where folders cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def check_output_file(path: str | Path) -> Path:
    """Refuse, before any work, a file path that cannot be written: :class:`WriteError`.

    Its folder must exist and be a writable folder, and the path must not be a folder itself.
    """
    p = Path(path)
    parent = p.parent
    if p.is_dir():
        raise WriteError(p, "it is a folder")
    if not parent.exists():
        raise WriteError(p, f"no such folder: {parent}")
    if not parent.is_dir():
        raise WriteError(p, f"{parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise WriteError(p, f"{parent} is not writable")
    return p


@contextlib.contextmanager
def open_atomic(path: str | Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO[Any]]:
    """A file object whose content replaces ``path`` atomically when the block ends without error."""
    p = Path(path)
    if mode not in ("wb", "w"):
        raise ValueError(f"open_atomic writes whole files: mode 'w' or 'wb', not {mode!r}")
    if p.is_dir():
        raise WriteError(p, "it is a folder")
    clean_leftovers(p)
    tmp = _tmp_sibling(p)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise WriteError(p, e) from None
    try:
        with contextlib.suppress(OSError):  # keep an existing file's permissions
            os.chmod(fd, stat.S_IMODE(os.stat(p).st_mode))
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(e, OSError) and not isinstance(e, WriteError):
            raise WriteError(p, e) from None
        raise
    fsync_dir(p.parent)


def write_bytes(path: str | Path, data: bytes) -> None:
    with open_atomic(path, "wb") as f:
        f.write(data)


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    write_bytes(path, text.encode(encoding))


def write_json(path: str | Path, obj: Any, indent: int | None = 1) -> None:
    """``obj`` as UTF-8 JSON (non-ASCII kept), newline-terminated."""
    write_text(path, json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")


def _old(target: Path) -> Path:
    return target.with_name(f".{target.name}.old")


def recover_dir(target: str | Path) -> Path:
    """The folder to read for ``target``: put back ``.NAME.old`` if a kill left only that.

    Returns ``target`` (recovered if needed), or the old copy itself when the rename back is not
    possible (a read-only place); a missing folder is returned as is, for the caller to report.
    """
    target = Path(target)
    old = _old(target)
    if target.exists() or not old.is_dir():
        return target
    try:
        os.replace(old, target)
    except OSError:
        return old
    fsync_dir(target.parent)
    return target


def _fsync_tree(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(folder))


def replace_dir(target: str | Path, write: Callable[[Path], None]) -> None:
    """Have ``write(tmp)`` fill a fresh folder, then swap it in for ``target`` (see module docs)."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and not target.is_dir():
            raise WriteError(target, "a file of that name is in the way")
    except OSError as e:
        raise (e if isinstance(e, WriteError) else WriteError(target, e)) from None
    recover_dir(target)
    clean_leftovers(target)
    tmp = _tmp_sibling(target)
    old = _old(target)
    try:
        tmp.mkdir()
        write(tmp)
        _fsync_tree(tmp)
        if target.exists():
            _remove(old)  # a complete target exists, so an old copy is stale
            os.replace(target, old)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException as e:
        _remove(tmp)
        recover_dir(target)  # the first rename done, the second failed: put the old one back
        if isinstance(e, OSError) and not isinstance(e, WriteError):
            raise WriteError(target, e) from None
        raise
    _remove(old)
