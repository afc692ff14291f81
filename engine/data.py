"""Readers for labelled text-classification datasets, with automatic format detection.

Supported formats (see ``FORMATS``):

* ``jsonl``   JSON Lines, one object per line with ``"text"`` and ``"label"`` (str or int).
* ``yelp``    JSON Lines with ``"text"`` and ``"stars"`` (1-5, int or float); labels "1".."5".
* ``csv``     a CSV with a header naming a text column and a label column.
* ``aclimdb`` a folder tree ``PATH/{pos,neg}/*.txt`` (or ``PATH/train/...``), one class per folder.

Files may be gzip-compressed (``.gz`` suffix or gzip magic bytes). Rows that cannot be used are
never dropped silently: each one becomes a ``SkippedRow`` with its line number and a reason.

``Dataset.sha256`` identifies the data that was read: the sha256 of the file's raw bytes on disk
(compressed bytes for gzip files, so it equals ``sha256sum FILE``), or for an aclimdb folder the
hash of every file's relative path and bytes in sorted order. It always covers the whole source,
also when ``limit`` stops parsing early, so a quick evaluation records the same hash as a full one.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import math
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "FORMATS",
    "Dataset",
    "DatasetError",
    "SkippedRow",
    "detect_format",
    "load_dataset",
]

FORMATS = ("jsonl", "csv", "aclimdb", "yelp")

TEXT_COLUMNS = ("text", "review", "sentence", "content")
LABEL_COLUMNS = ("label", "sentiment", "class", "stars", "rating", "polarity")

_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = "\ufeff"
_DETECT_LINES = 100  # how far detection looks for a valid JSON object when line 1 is broken
_READ_ERRORS = (OSError, EOFError, zlib.error)
# The csv module refuses fields over 131,072 characters by default; a dataset row may hold any
# review (the 2 MB ones included), so the limit is raised to this while a CSV file is read.
_CSV_FIELD_LIMIT = 1 << 26


class DatasetError(ValueError):
    """A dataset that cannot be used; the message is one clear line for the user."""


@dataclass(frozen=True, slots=True)
class SkippedRow:
    """A row left out of a dataset, and why."""

    line: int  # 1-based line number in the file (aclimdb: 0, the whole file was skipped)
    source: str  # file path
    reason: str  # e.g. "invalid JSON", "missing 'text'", "empty text", "missing label"


@dataclass(frozen=True)
class Dataset:
    """Texts with integer labels; ``labels[i]`` indexes ``label_names``."""

    texts: tuple[str, ...] = field(repr=False)
    labels: tuple[int, ...] = field(repr=False)
    label_names: tuple[str, ...]
    format: str
    source: str
    sha256: str
    skipped: tuple[SkippedRow, ...] = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise ValueError(f"{len(self.texts)} texts but {len(self.labels)} labels")
        if self.labels and not 0 <= min(self.labels) <= max(self.labels) < len(self.label_names):
            raise ValueError(f"labels must index label_names (0..{len(self.label_names) - 1})")

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: Sequence[int]) -> Dataset:
        """The rows at ``indices`` (in that order); same names, format, source and hash, no skips."""
        idx = list(indices)
        return replace(
            self,
            texts=tuple(self.texts[i] for i in idx),
            labels=tuple(self.labels[i] for i in idx),
            skipped=(),
        )

    def class_counts(self) -> dict[str, int]:
        """Rows per class, in ``label_names`` order (classes without rows count 0)."""
        counts = [0] * len(self.label_names)
        for label in self.labels:
            counts[label] += 1
        return dict(zip(self.label_names, counts, strict=True))

    def skipped_summary(self, limit: int = 10) -> str:
        """One line such as "skipped 3 malformed rows (train.jsonl lines 4, 9, 12)"; "" if none.

        Rows with a label the model does not know, and rows whose text is over the CSV field
        limit, are reported apart with their reason ("; " between the parts).
        """
        groups: dict[str, list[SkippedRow]] = {}
        for row in self.skipped:
            groups.setdefault(_skip_group(row.reason), []).append(row)
        return "; ".join(_group_summary(kind, rows, limit) for kind, rows in sorted(groups.items()))


def _skip_group(reason: str) -> str:
    if reason.startswith("unknown label"):
        return "b-unknown"
    if reason.startswith("text longer than"):
        return "c-long"
    return "a-malformed"


def _group_summary(kind: str, rows: list[SkippedRow], limit: int) -> str:
    total = len(rows)
    noun = "row" if total == 1 else "rows"
    if kind == "b-unknown":
        labels = sorted({r.reason.removeprefix("unknown label ") for r in rows})
        shown_labels = ", ".join(labels[:5]) + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")
        what = f"{total} {noun} with a label the model does not know ({shown_labels})"
    elif kind == "c-long":
        what = f"{total} {noun} whose text is longer than {_CSV_FIELD_LIMIT:,} characters"
    else:
        what = f"{total} malformed {noun}"
    shown = rows[: max(limit, 0)]
    if not shown:
        return f"skipped {what}"
    where = _describe_rows(shown)
    if total > len(shown):
        where = f"{where}, and {total - len(shown)} more"
    return f"skipped {what} ({where})"


def detect_format(path: str | Path) -> str:
    """The format of ``path``: a folder is aclimdb, a file is told apart by its first line."""
    p = Path(path)
    _require_exists(p, path)
    if p.is_dir():
        return "aclimdb"
    try:
        with _open_text_lines(p) as lines:
            return _format_of_lines(lines, path)
    except _READ_ERRORS as exc:
        raise _read_error(path, exc) from None


def load_dataset(
    path: str | Path, format: str = "auto", label_names: Sequence[str] | None = None, limit: int | None = None
) -> Dataset:
    """Read a labelled dataset.

    ``format`` is one of ``FORMATS`` or "auto". With ``label_names`` (a model's classes) rows are
    mapped to those indices and rows with other labels are skipped; without it the names are
    collected from the data (numeric names sorted numerically, others alphabetically) and at
    least two classes are required. ``limit`` keeps only the first N usable rows, for a quick look
    or evaluation; the two-class check is then not made (a sorted file may start with one class).
    An empty result is always an error.
    """
    p = Path(path)
    fmt = _resolve_format(p, path, format)
    if limit is not None and limit < 1:
        raise DatasetError(f"limit must be at least 1, got {limit}")
    sink = _Sink(_checked_label_names(label_names), limit)
    try:
        sha = _READERS[fmt](p, str(path), sink)
    except _READ_ERRORS as exc:
        raise _read_error(path, exc) from None
    return sink.build(str(path), fmt, sha)


# --------------------------------------------------------------------------- collecting rows


class _Skip(Exception):
    """Raised by row parsers: the row is unusable for ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Sink:
    """Collects usable rows and skipped rows, and turns them into a Dataset."""

    def __init__(self, label_names: tuple[str, ...] | None, limit: int | None) -> None:
        self.label_names = label_names
        self._index = None if label_names is None else {n: i for i, n in enumerate(label_names)}
        self.limit = limit
        self.texts: list[str] = []
        self.labels: list[str] = []
        self.skipped: list[SkippedRow] = []

    @property
    def full(self) -> bool:
        return self.limit is not None and len(self.texts) >= self.limit

    def skip(self, line: int, source: str, reason: str) -> None:
        self.skipped.append(SkippedRow(line, source, reason))

    def add(self, line: int, source: str, text: str, label: str) -> None:
        if self._index is not None and label not in self._index:
            self.skip(line, source, f"unknown label {label!r}")
            return
        self.texts.append(text)
        self.labels.append(label)

    def build(self, source: str, fmt: str, sha: str) -> Dataset:
        if not self.texts:
            raise DatasetError(f"no usable rows in {source} ({_skip_count(self.skipped)})")
        names = self.label_names or _sorted_names(set(self.labels))
        if self.label_names is None and self.limit is None and len(names) < 2:
            raise DatasetError(f"dataset has a single class {names[0]!r}; need at least 2")
        index = {n: i for i, n in enumerate(names)}
        return Dataset(
            texts=tuple(self.texts),
            labels=tuple(index[x] for x in self.labels),
            label_names=names,
            format=fmt,
            source=source,
            sha256=sha,
            skipped=tuple(self.skipped),
        )


def _skip_count(skipped: Sequence[SkippedRow]) -> str:
    if not skipped:
        return "0 rows skipped"
    first = skipped[0]
    where = f"line {first.line}" if first.line else Path(first.source).name
    noun = "row" if len(skipped) == 1 else "rows"
    return f"{len(skipped)} {noun} skipped; first at {where}: {first.reason}"


def _checked_label_names(label_names: Sequence[str] | None) -> tuple[str, ...] | None:
    if label_names is None:
        return None
    names = tuple(str(n) for n in label_names)
    if not names or len(set(names)) != len(names):
        raise DatasetError(f"label_names must be non-empty and unique, got {list(names)}")
    return names


def _as_number(name: str) -> float | None:
    try:
        value = float(name)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _sorted_names(names: set[str]) -> tuple[str, ...]:
    numbers = {n: _as_number(n) for n in names}
    if all(v is not None for v in numbers.values()):
        return tuple(sorted(names, key=lambda n: (numbers[n], n)))
    return tuple(sorted(names))


def _describe_rows(rows: Sequence[SkippedRow]) -> str:
    """Where rows are: ``a.jsonl lines 4, 9`` for lines, ``neg/1_2.txt`` for whole files; "; " between."""
    groups: list[tuple[str, list[int]]] = []
    for row in rows:
        if row.line == 0:
            p = Path(row.source)
            groups.append((f"{p.parent.name}/{p.name}", []))
        elif groups and groups[-1][1] and groups[-1][0] == row.source:
            groups[-1][1].append(row.line)
        else:
            groups.append((row.source, [row.line]))
    return "; ".join(_describe_group(name, lines) for name, lines in groups)


def _describe_group(name: str, lines: list[int]) -> str:
    if not lines:
        return name
    word = "line" if len(lines) == 1 else "lines"
    return f"{Path(name).name} {word} {', '.join(map(str, lines))}"


# --------------------------------------------------------------------------- format resolution


def _require_exists(p: Path, given: str | Path) -> None:
    if not p.exists():
        raise DatasetError(f"dataset not found: {given}")
    if not p.is_file() and not p.is_dir():  # a FIFO would block the reader forever, a device never end
        raise DatasetError(f"{given} is not a regular file or folder (a pipe or device cannot be a dataset)")


def _read_error(path: str | Path, exc: BaseException) -> DatasetError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else " ".join(str(exc).split())
    return DatasetError(f"cannot read {path}: {reason}")


def _resolve_format(p: Path, given: str | Path, fmt: str) -> str:
    _require_exists(p, given)
    if fmt == "auto":
        return detect_format(given)
    if fmt not in FORMATS:
        raise DatasetError(f"unknown dataset format {fmt!r}; expected 'auto' or one of {', '.join(FORMATS)}")
    if fmt == "aclimdb" and not p.is_dir():
        raise DatasetError(f"the aclimdb format needs a folder, but {given} is a file")
    if fmt != "aclimdb" and p.is_dir():
        raise DatasetError(f"the {fmt} format needs a file, but {given} is a folder")
    return fmt


def _format_of_lines(lines: Iterator[str], path: str | Path) -> str:
    first = next(lines, None)
    if first is None:
        raise DatasetError(f"cannot detect the format of {path}: the file has no text")
    obj = _json_object(first)
    if obj is None and first.lstrip().startswith("{"):
        later = (_json_object(line) for _, line in zip(range(_DETECT_LINES), lines, strict=False))
        obj = next((o for o in later if o is not None), None)
        if obj is None:
            raise DatasetError(
                f"cannot detect the format of {path}: its lines look like JSON but none "
                "of the first ones is a valid JSON object"
            )
    if obj is not None:
        return "yelp" if "stars" in obj and "label" not in obj else "jsonl"
    try:
        _csv_columns(next(csv.reader([first]), []), path)
    except (DatasetError, csv.Error):  # csv.Error: e.g. a bare carriage return inside the line
        raise DatasetError(
            f"cannot detect the format of {path}: not JSON Lines, and not a CSV whose "
            f"header names a text column ({', '.join(TEXT_COLUMNS)}) and a label column "
            f"({', '.join(LABEL_COLUMNS)})"
        ) from None
    return "csv"


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


# --------------------------------------------------------------------------- byte streams


def _is_gzip(p: Path) -> bool:
    if p.suffix.lower() == ".gz":
        return True
    with p.open("rb") as f:
        return f.read(2) == _GZIP_MAGIC


@contextmanager
def _open_text_lines(p: Path) -> Iterator[Iterator[str]]:
    """Non-blank lines of a (possibly gzipped) file, decoded leniently; for format detection."""
    with gzip.open(p, "rb") if _is_gzip(p) else p.open("rb") as f:
        yield (line for _, line in _lenient_lines(f, set()) if line.strip())


class _HashingRaw(io.RawIOBase):
    """A raw reader that feeds every byte it reads from ``f`` into ``digest``."""

    def __init__(self, f: io.RawIOBase, digest: Any) -> None:
        super().__init__()
        self._f = f
        self._digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self._f.readinto(b) or 0
        if n:
            self._digest.update(memoryview(b)[:n])
        return n

    def close(self) -> None:
        self._f.close()
        super().close()


class _HashedFile:
    """A file streamed once: its lines (gunzipped if needed) while its raw bytes are hashed."""

    def __init__(self, p: Path) -> None:
        self._digest = hashlib.sha256()
        gz = _is_gzip(p)
        self._buffered = io.BufferedReader(_HashingRaw(p.open("rb", buffering=0), self._digest), _CHUNK)
        self._gzip = gzip.GzipFile(fileobj=self._buffered, mode="rb") if gz else None

    def lines(self) -> Iterator[bytes]:
        return iter(self._gzip if self._gzip is not None else self._buffered)

    def hexdigest(self) -> str:
        """Hash of the whole file: reads (without parsing) whatever was not read yet."""
        while self._buffered.read(_CHUNK):
            pass
        return self._digest.hexdigest()

    def __enter__(self) -> _HashedFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._gzip is not None:
            self._gzip.close()
        self._buffered.close()


def _numbered_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, str | None]]:
    """(1-based line number, decoded line or None when it is not valid UTF-8); BOM removed."""
    for number, raw in enumerate(lines, 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None
            continue
        yield number, line.removeprefix(_BOM) if number == 1 else line


def _lenient_lines(lines: Iterable[bytes], bad: set[int]) -> Iterator[tuple[int, str]]:
    """Like ``_numbered_lines`` but undecodable lines come with U+FFFD and their numbers go to ``bad``."""
    for number, raw in enumerate(lines, 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            bad.add(number)
            line = raw.decode("utf-8", "replace")
        yield number, line.removeprefix(_BOM) if number == 1 else line


# --------------------------------------------------------------------------- row parsing


def _norm_label(value: str) -> str:
    """Strip a label; "4.0" (an integral number written with a point or exponent) becomes "4"."""
    s = value.strip()
    number = _as_number(s)
    if number is not None and number.is_integer() and not s.lstrip("+-").isdigit():
        return str(int(number))
    return s


def _label_str(value: object) -> str:
    if value is None:
        raise _Skip("missing label")
    if isinstance(value, bool):
        raise _Skip("invalid label")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        label = _norm_label(value)
        if not label:
            raise _Skip("missing label")
        return label
    raise _Skip("invalid label")


def _stars_str(value: object) -> str:
    if value is None:
        raise _Skip("missing 'stars'")
    if isinstance(value, bool):
        raise _Skip("non-numeric stars")
    if isinstance(value, int):
        return str(value)
    number: float | None = None
    if isinstance(value, float) and math.isfinite(value):
        number = value
    elif isinstance(value, str):
        number = _as_number(value)
    if number is None:
        raise _Skip("non-numeric stars")
    if not number.is_integer():
        raise _Skip("non-integer stars")
    return str(int(number))


def _checked_text(value: object) -> str:
    if value is None:
        raise _Skip("missing 'text'")
    if not isinstance(value, str):
        raise _Skip("text is not a string")
    if not value.strip():
        raise _Skip("empty text")
    return value


def _jsonl_row(obj: dict[str, Any]) -> tuple[str, str]:
    return _checked_text(obj.get("text")), _label_str(obj.get("label"))


def _yelp_row(obj: dict[str, Any]) -> tuple[str, str]:
    return _checked_text(obj.get("text")), _stars_str(obj.get("stars"))


def _parse_json_object(line: str) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except ValueError:
        raise _Skip("invalid JSON") from None
    if not isinstance(obj, dict):
        raise _Skip("not a JSON object")
    return obj


# --------------------------------------------------------------------------- readers


def _read_json_lines(
    p: Path, source: str, sink: _Sink, row: Callable[[dict[str, Any]], tuple[str, str]]
) -> str:
    with _HashedFile(p) as f:
        for number, line in _numbered_lines(f.lines()):
            if line is not None and not line.strip():
                continue
            try:
                if line is None:
                    raise _Skip("invalid UTF-8")
                text, label = row(_parse_json_object(line))
            except _Skip as skip:
                sink.skip(number, source, skip.reason)
                continue
            sink.add(number, source, text, label)
            if sink.full:
                break
        return f.hexdigest()


def _read_jsonl(p: Path, source: str, sink: _Sink) -> str:
    return _read_json_lines(p, source, sink, _jsonl_row)


def _read_yelp(p: Path, source: str, sink: _Sink) -> str:
    return _read_json_lines(p, source, sink, _yelp_row)


def _csv_columns(header: Sequence[str], path: str | Path) -> tuple[int, int]:
    """Indices of the text and label columns named in ``header``."""
    return (
        _csv_column(header, TEXT_COLUMNS, "text", path),
        _csv_column(header, LABEL_COLUMNS, "label", path),
    )


def _csv_column(header: Sequence[str], wanted: Sequence[str], kind: str, path: str | Path) -> int:
    names = [h.strip().lower() for h in header]
    for name in wanted:
        if name in names:
            return names.index(name)
    raise DatasetError(
        f"{path}: the CSV header has no {kind} column (one of {', '.join(wanted)}); "
        f"found: {', '.join(header) or 'nothing'}"
    )


def _csv_header(reader: Any, path: str | Path) -> tuple[int, int]:
    for header in reader:
        if any(cell.strip() for cell in header):
            return _csv_columns(header, path)
    raise DatasetError(f"{path}: the CSV file has no header row")


def _csv_row(row: list[str], columns: tuple[int, int]) -> tuple[str, str]:
    text_col, label_col = columns
    if len(row) <= max(columns):
        raise _Skip(f"too few fields ({len(row)}, need {max(columns) + 1})")
    text = _checked_text(row[text_col])
    label = _norm_label(row[label_col])
    if not label:
        raise _Skip("missing label")
    return text, label


@contextmanager
def _csv_field_limit() -> Iterator[None]:
    """Raise the csv module's (process-wide) field limit while a file is read, then restore it."""
    before = csv.field_size_limit()
    csv.field_size_limit(max(before, _CSV_FIELD_LIMIT))
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _read_csv(p: Path, source: str, sink: _Sink) -> str:
    with _csv_field_limit(), _HashedFile(p) as f:
        bad: set[int] = set()
        reader = csv.reader(line for _, line in _lenient_lines(f.lines(), bad))
        try:
            columns = _csv_header(reader, source)
        except csv.Error as exc:
            raise DatasetError(f"{source}: cannot read the CSV header: {exc}") from exc
        bad.clear()
        while not sink.full:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                bad.clear()
                too_long = "field limit" in str(exc)
                sink.skip(
                    start,
                    source,
                    f"text longer than {_CSV_FIELD_LIMIT:,} characters" if too_long else f"CSV error: {exc}",
                )
                continue
            undecodable = bool(bad)
            bad.clear()
            _take_csv_row(sink, source, start, row, columns, undecodable)
        return f.hexdigest()


def _take_csv_row(
    sink: _Sink, source: str, start: int, row: list[str], columns: tuple[int, int], undecodable: bool
) -> None:
    if not undecodable and not any(cell.strip() for cell in row):
        return  # blank line
    try:
        if undecodable:
            raise _Skip("invalid UTF-8")
        text, label = _csv_row(row, columns)
    except _Skip as skip:
        sink.skip(start, source, skip.reason)
        return
    sink.add(start, source, text, label)


def _aclimdb_files(root: Path, given: str) -> list[tuple[str, Path]]:
    """(class name, file) for every .txt file in a class folder, classes and files sorted."""
    files: list[tuple[str, Path]] = []
    for folder in sorted(d for d in root.iterdir() if d.is_dir()):
        if folder.name == "unsup" or folder.name.startswith("."):
            continue
        files += [(folder.name, f) for f in sorted(folder.glob("*.txt")) if f.is_file()]
    if not files:
        raise DatasetError(f"{given}: no class folders with .txt files (expected e.g. pos/ and neg/)")
    return files


def _read_aclimdb(p: Path, source: str, sink: _Sink) -> str:
    root = p / "train" if (p / "train").is_dir() else p
    digest = hashlib.sha256()
    for label, file in _aclimdb_files(root, source):
        data = file.read_bytes()
        rel = file.relative_to(root).as_posix().encode("utf-8", "surrogateescape")
        digest.update(b"%d:%s%d:" % (len(rel), rel, len(data)))
        digest.update(data)
        if not sink.full:
            _take_aclimdb_file(sink, str(file), label, data)
    return digest.hexdigest()


def _take_aclimdb_file(sink: _Sink, source: str, label: str, data: bytes) -> None:
    try:
        try:
            text = data.decode("utf-8").removeprefix(_BOM)
        except UnicodeDecodeError:
            raise _Skip("invalid UTF-8") from None
        text = _checked_text(text)
    except _Skip as skip:
        sink.skip(0, source, skip.reason)
        return
    sink.add(0, source, text, label)


_READERS: dict[str, Callable[[Path, str, _Sink], str]] = {
    "jsonl": _read_jsonl,
    "yelp": _read_yelp,
    "csv": _read_csv,
    "aclimdb": _read_aclimdb,
}
