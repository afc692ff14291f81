"""The one reader of review text from files and streams, and of small JSON files.

A review is UTF-8 (a BOM is dropped) or UTF-16 with a BOM. Binary files, undecodable bytes and
anything over :data:`engine.limits.MAX_TEXT_BYTES` / ``MAX_TEXT_CHARS`` are refused with a
:class:`TextFileError` whose message is one line. Reads are bounded: at most one byte past the
limit is ever read, so ``/dev/zero``, an endless pipe or a FIFO cannot make us read forever, and a
FIFO without a writer reads as empty instead of blocking. The text is returned exactly as stored
(no newline translation), so character offsets index the file as it is.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

from engine.limits import MAX_TEXT_BYTES, MAX_TEXT_CHARS

__all__ = [
    "JSONFileError",
    "TextFileError",
    "decode_text",
    "read_json_file",
    "read_text_file",
    "read_text_stream",
]

_SNIFF = 4096  # a NUL byte this early means binary
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # 0 where the platform has none (Windows)


class TextFileError(ValueError):
    """A file or stream that cannot be read as a review; the message is one line."""


class JSONFileError(ValueError):
    """A JSON file that cannot be read (missing, too large, not JSON, nested too deeply)."""


def _oserror(name: str, e: OSError) -> TextFileError:
    if isinstance(e, FileNotFoundError):
        return TextFileError(f"no such file: {name}")
    if isinstance(e, IsADirectoryError):
        return TextFileError(f"{name} is a directory, not a text file")
    if isinstance(e, PermissionError):
        return TextFileError(f"cannot read {name}: permission denied")
    return TextFileError(f"cannot read {name}: {e.strerror or e}")


def _bounded_read(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes from ``fd`` (fewer at end of file)."""
    chunks, n = [], 0
    while n < limit:
        chunk = os.read(fd, min(1 << 20, limit - n))
        if not chunk:
            break
        chunks.append(chunk)
        n += len(chunk)
    return b"".join(chunks)


def read_text_file(path: str | Path) -> str:
    """Read a review from ``path``; :class:`TextFileError` (one line) for anything unusable."""
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK)  # a FIFO without a writer must not block
    except OSError as e:
        raise _oserror(name, e) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise TextFileError(f"{name} is a directory, not a text file")
        if stat.S_ISREG(st.st_mode) and st.st_size > MAX_TEXT_BYTES:
            raise _too_large(name, st.st_size)
        if _NONBLOCK:  # blocking again: a pipe with a writer is read (bounded), one without is empty
            os.set_blocking(fd, True)
        raw = _bounded_read(fd, MAX_TEXT_BYTES + 1)
    except OSError as e:
        raise _oserror(name, e) from None
    finally:
        os.close(fd)
    return decode_text(raw, name)


def read_text_stream(stream: BinaryIO, name: str = "standard input") -> str:
    """Read a review from a binary stream (standard input), at most one byte past the limit."""
    try:
        raw = stream.read(MAX_TEXT_BYTES + 1)
    except OSError as e:
        raise _oserror(name, e) from None
    return decode_text(raw or b"", name)


def _too_large(name: str, size: int | None) -> TextFileError:
    what = f"is {size / 1e6:.1f} MB" if size is not None else "holds more than that"
    return TextFileError(
        f"{name} {what}; reviews up to {MAX_TEXT_BYTES / 1e6:.0f} MB "
        f"({MAX_TEXT_CHARS:,} characters) can be read"
    )


def decode_text(raw: bytes, name: str) -> str:
    """Bytes -> text: UTF-16 with a BOM, else UTF-8 (BOM dropped); refuse binary or too long."""
    if len(raw) > MAX_TEXT_BYTES:
        raise _too_large(name, None)
    try:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = raw.decode("utf-16")
        elif b"\x00" in raw[:_SNIFF]:
            raise TextFileError(f"{name} looks like a binary file, not text")
        else:
            text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        encoding = "UTF-16" if e.encoding.startswith("utf-16") else "UTF-8"
        raise TextFileError(f"{name} is not {encoding} text (byte {e.start}); save it as UTF-8") from None
    if len(text) > MAX_TEXT_CHARS:
        raise TextFileError(
            f"{name} has {len(text):,} characters; reviews up to {MAX_TEXT_CHARS:,} can be read"
        )
    return text


def read_json_file(path: str | Path, max_bytes: int, what: str = "JSON file") -> Any:
    """Parse a JSON file of at most ``max_bytes``; :class:`JSONFileError` (one line) otherwise.

    Deeply nested JSON (which makes :mod:`json` recurse past Python's limit) is refused too.
    """
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as e:
        raise JSONFileError(f"cannot read {what} {p}: {e.strerror or e}") from None
    if len(raw) > max_bytes:
        raise JSONFileError(f"{what} {p} is larger than {max_bytes / 1e6:.0f} MB")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise JSONFileError(f"corrupt {what} {p}: not UTF-8 (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise JSONFileError(f"corrupt {what} {p}: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise JSONFileError(f"corrupt {what} {p}: nested too deeply") from None
