"""The tokenization cache (``train --cache-dir``): tokenized documents kept between runs.

An entry is ``words-<data sha256[:16]>-<rows>.json.gz`` holding the data's full hash, the row count,
the words and the sha256 of the words. An entry is used only if all of these agree with the data
and a sample of documents tokenizes to exactly what the entry says; otherwise it is ignored,
rebuilt and rewritten (atomically), and the reason is reported. A corrupt, truncated, foreign or
edited entry can therefore never crash a run or change what it trains on.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import zlib
from pathlib import Path

from engine.atomic import WriteError, open_atomic
from engine.data import Dataset
from engine.preprocess import Words, doc_words, texts_to_words

__all__ = ["FORMAT", "cache_path", "cached_words", "check_cache_dir"]

FORMAT = "han-explorer-words"
VERSION = 2
_SPOT_CHECKS = 8  # documents re-tokenized to confirm an entry
_BYTES_PER_CHAR = 8  # an entry's JSON is at most this many bytes per character of text (escapes)


def cache_path(cache_dir: str | Path, ds: Dataset) -> Path:
    return Path(cache_dir) / f"words-{ds.sha256[:16]}-{len(ds)}.json.gz"


def check_cache_dir(cache_dir: str | Path) -> Path:
    """Create ``cache_dir`` if needed; :class:`~engine.atomic.WriteError` if it cannot be a cache."""
    p = Path(cache_dir)
    try:
        if p.exists() and not p.is_dir():
            raise WriteError(p, "it is a file, not a folder")
        p.mkdir(parents=True, exist_ok=True)
    except WriteError:
        raise
    except OSError as e:
        raise WriteError(p, e) from None
    return p


def _digest(words: list[Words]) -> str:
    return hashlib.sha256(json.dumps(words, ensure_ascii=False).encode("utf-8")).hexdigest()


def _is_words(doc: object) -> bool:
    return isinstance(doc, list) and all(
        isinstance(s, list) and all(isinstance(w, str) for w in s) for s in doc
    )


def _read(path: Path, ds: Dataset) -> tuple[list[Words] | None, str]:
    """The entry's words, or ``(None, why not)``."""
    limit = _BYTES_PER_CHAR * sum(map(len, ds.texts)) + (1 << 20)
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read(limit + 1)
        if len(raw) > limit:
            return None, "larger than its data can make"
        entry = json.loads(raw.decode("utf-8"))
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError, RecursionError) as e:
        return None, f"unreadable ({' '.join(str(e).split())[:80]})"
    if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("version") != VERSION:
        return None, "not a current cache entry"
    words = entry.get("words")
    if entry.get("data_sha256") != ds.sha256 or entry.get("rows") != len(ds):
        return None, "made from other data"
    if not isinstance(words, list) or len(words) != len(ds) or not all(map(_is_words, words)):
        return None, "malformed"
    if entry.get("words_sha256") != _digest(words):
        return None, "its content does not match its checksum"
    rng = random.Random(ds.sha256)
    sample = {0, len(ds) - 1, *(rng.randrange(len(ds)) for _ in range(_SPOT_CHECKS))}
    if any(doc_words(ds.texts[i]) != words[i] for i in sorted(sample)):
        return None, "it differs from what the tokenizer makes of the data"
    return words, ""


def cached_words(
    ds: Dataset, cache_dir: str | Path | None, workers: int | None = None
) -> tuple[list[Words], str]:
    """Tokenized documents of ``ds`` and a note ("" when nothing needs saying).

    Without ``cache_dir`` the data is tokenized. With it, a valid entry is read; a missing one is
    written; an invalid one is rebuilt and the note says why it was not used.
    """
    if not cache_dir:
        return texts_to_words(ds.texts, workers), ""
    path = cache_path(cache_dir, ds)
    note = ""
    if path.is_file():
        words, why = _read(path, ds)
        if words is not None:
            return words, ""
        note = f"ignored the tokenization cache {path.name}: {why}; rebuilt it"
    words = texts_to_words(ds.texts, workers)
    check_cache_dir(path.parent)
    entry = {
        "format": FORMAT,
        "version": VERSION,
        "data_sha256": ds.sha256,
        "rows": len(ds),
        "words_sha256": _digest(words),
        "words": words,
    }
    with open_atomic(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as gz:
        gz.write(json.dumps(entry, ensure_ascii=False).encode("utf-8"))
    return words, note
