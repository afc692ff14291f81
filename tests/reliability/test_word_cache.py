"""The tokenization cache is checked, never trusted (issue 13, item 12).

A truncated, garbage, foreign, old-format or edited entry is ignored, rebuilt and reported; what
training reads is always what the tokenizer makes of the data.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.data import load_dataset
from engine.preprocess import texts_to_words
from engine.word_cache import cache_path, cached_words
from tests.reliability.helpers import TINY, call


def _entry(path: Path) -> dict[str, Any]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def _rewrite(path: Path, entry: object) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(entry, f)


def _edit_words(path: Path) -> None:
    """Change one document's words and fix the checksum: only the spot check can tell."""
    import hashlib

    entry = _entry(path)
    for doc in entry["words"]:
        doc[0][0] = "tampered"
    entry["words_sha256"] = hashlib.sha256(
        json.dumps(entry["words"], ensure_ascii=False).encode("utf-8")
    ).hexdigest()
    _rewrite(path, entry)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "garbage": lambda p: p.write_bytes(b"\x00garbage" * 100),
    "not gzip json": lambda p: p.write_bytes(gzip.compress(b"{not json")),
    "old format (a bare list)": lambda p: _rewrite(p, _entry(p)["words"]),
    "wrong row count": lambda p: _rewrite(p, {**_entry(p), "words": _entry(p)["words"][:-1]}),
    "wrong checksum": lambda p: _rewrite(p, {**_entry(p), "words_sha256": "0" * 64}),
    "edited words, checksum fixed": _edit_words,
    "nested too deep": lambda p: p.write_bytes(gzip.compress(b"[" * 100_000 + b"]" * 100_000)),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_bad_entry_is_ignored_and_rebuilt(toy_data: Path, tmp_path: Path, damage: str) -> None:
    ds = load_dataset(toy_data)
    truth = texts_to_words(ds.texts, 1)
    words, note = cached_words(ds, tmp_path / "cache", 1)
    assert words == truth and note == ""
    path = cache_path(tmp_path / "cache", ds)
    DAMAGE[damage](path)
    words, note = cached_words(ds, tmp_path / "cache", 1)
    assert words == truth
    assert note.startswith("ignored the tokenization cache") and "\n" not in note
    assert cached_words(ds, tmp_path / "cache", 1) == (truth, "")  # rewritten whole


def test_training_with_a_corrupt_cache_runs_and_says_so(
    toy_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    args = ["train", "--data", str(toy_data), *TINY[:-1], "--epochs", "1", "--cache-dir", str(cache)]
    rc, _, err = call(capsys, *args, "--out", str(tmp_path / "a"))
    assert rc == 0, err
    (entry,) = cache.iterdir()
    entry.write_bytes(entry.read_bytes()[:100])
    rc, _, err = call(capsys, *args, "--out", str(tmp_path / "b"))
    assert rc == 0, err
    assert "ignored the tokenization cache" in err
