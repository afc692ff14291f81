"""Tests for engine.data: dataset readers, format detection, skipped rows and hashing."""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from pathlib import Path

import pytest

from engine.data import FORMATS, Dataset, DatasetError, SkippedRow, detect_format, load_dataset

REAL_TRAIN = Path(__file__).resolve().parents[2].parent / "shared/data/aclimdb/train.jsonl.gz"
REAL_TRAIN_SHA256 = "66d59102b21c958e978bafe82c86d77146a627d2826c541a895d6d9c7738b6ed"


def _json(obj: object) -> bytes:
    return json.dumps(obj).encode()


# Lines 1..11; line 2 is blank and is ignored without being reported.
JSONL_LINES = [
    _json({"id": 1, "text": "A fine film.", "label": "pos", "rating": 9}),
    b"",
    b'{"text": "broken", "label": ',
    _json({"id": 4, "label": "neg"}),
    _json({"text": "   ", "label": "neg"}),
    _json({"text": "no label here"}),
    b"[1, 2, 3]",
    _json({"text": 42, "label": "neg"}),
    _json({"text": "Dull and long.", "label": "neg", "rating": 2}),
    b'{"text": "caf\xe9", "label": "pos"}',
    _json({"text": "Caf\u00e9 \u2028 ok", "label": "pos"}),
]
JSONL_BYTES = b"\n".join(JSONL_LINES) + b"\n"
JSONL_SKIPS = [
    (3, "invalid JSON"),
    (4, "missing 'text'"),
    (5, "empty text"),
    (6, "missing label"),
    (7, "not a JSON object"),
    (8, "text is not a string"),
    (10, "invalid UTF-8"),
]


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _skips(ds: Dataset) -> list[tuple[int, str]]:
    return [(s.line, s.reason) for s in ds.skipped]


def _jsonl(tmp_path: Path, rows: list[dict[str, object]], name: str = "d.jsonl") -> Path:
    return _write(tmp_path / name, b"\n".join(_json(r) for r in rows) + b"\n")


# --------------------------------------------------------------------------- jsonl


def test_jsonl_reads_good_rows_and_reports_bad_ones(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.jsonl", JSONL_BYTES)
    ds = load_dataset(path)
    assert ds.format == "jsonl"
    assert ds.texts == ("A fine film.", "Dull and long.", "Caf\u00e9 \u2028 ok")
    assert ds.label_names == ("neg", "pos")
    assert ds.labels == (1, 0, 1)
    assert len(ds) == 3
    assert _skips(ds) == JSONL_SKIPS
    assert {s.source for s in ds.skipped} == {str(path)}
    assert ds.skipped[0] == SkippedRow(3, str(path), "invalid JSON")
    assert ds.source == str(path)
    assert ds.class_counts() == {"neg": 1, "pos": 2}


def test_jsonl_int_labels_become_strings_sorted_numerically(tmp_path: Path) -> None:
    rows = [{"text": f"t{v}", "label": v} for v in (10, 2, 0, 1, 2.0)]
    ds = load_dataset(_jsonl(tmp_path, rows))
    assert ds.label_names == ("0", "1", "2", "10")
    assert ds.labels == (3, 2, 0, 1, 2)


def test_jsonl_invalid_label_types_are_skipped(tmp_path: Path) -> None:
    rows = [
        {"text": "a", "label": "x"},
        {"text": "b", "label": True},
        {"text": "c", "label": [1]},
        {"text": "d", "label": ""},
        {"text": "e", "label": None},
        {"text": "f", "label": "y"},
    ]
    ds = load_dataset(_jsonl(tmp_path, rows))
    assert ds.texts == ("a", "f")
    assert _skips(ds) == [
        (2, "invalid label"),
        (3, "invalid label"),
        (4, "missing label"),
        (5, "missing label"),
    ]


def test_gzip_jsonl_by_suffix_and_by_magic_bytes(tmp_path: Path) -> None:
    plain = load_dataset(_write(tmp_path / "train.jsonl", JSONL_BYTES))
    packed = gzip.compress(JSONL_BYTES, mtime=0)
    for name in ("train.jsonl.gz", "train.data"):
        path = _write(tmp_path / name, packed)
        assert detect_format(path) == "jsonl"
        ds = load_dataset(path)
        assert (ds.texts, ds.labels, ds.label_names) == (plain.texts, plain.labels, plain.label_names)
        assert _skips(ds) == JSONL_SKIPS
        assert ds.sha256 == hashlib.sha256(packed).hexdigest()  # raw (compressed) bytes


def test_crlf_and_bom_are_handled(tmp_path: Path) -> None:
    data = "\ufeff" + '{"text": "a", "label": "x"}\r\n\r\n{"text": "b", "label": "y"}\r\n'
    ds = load_dataset(_write(tmp_path / "d.jsonl", data.encode()))
    assert ds.texts == ("a", "b")
    assert ds.skipped == ()


def test_corrupt_gzip_is_a_dataset_error(tmp_path: Path) -> None:
    packed = gzip.compress(JSONL_BYTES * 50)
    path = _write(tmp_path / "cut.jsonl.gz", packed[: len(packed) // 2])
    with pytest.raises(DatasetError, match="cannot read"):
        load_dataset(path, format="jsonl")


# --------------------------------------------------------------------------- yelp


def test_yelp_stars_become_label_names(tmp_path: Path) -> None:
    rows = [
        {"review_id": "a", "text": "Loved it", "stars": 5.0, "useful": 1},
        {"text": "Awful", "stars": 1},
        {"text": "Bad stars", "stars": "lots"},
        {"text": "Half", "stars": 3.5},
        {"text": "No stars"},
        {"text": "Okay", "stars": "3"},
        {"text": "Meh", "stars": True},
    ]
    path = _jsonl(tmp_path, rows, "review.json")
    assert detect_format(path) == "yelp"
    ds = load_dataset(path)
    assert ds.format == "yelp"
    assert ds.texts == ("Loved it", "Awful", "Okay")
    assert ds.label_names == ("1", "3", "5")
    assert ds.labels == (2, 0, 1)
    assert _skips(ds) == [
        (3, "non-numeric stars"),
        (4, "non-integer stars"),
        (5, "missing 'stars'"),
        (7, "non-numeric stars"),
    ]


def test_stars_with_label_is_jsonl(tmp_path: Path) -> None:
    rows = [{"text": "a", "stars": 4, "label": "x"}, {"text": "b", "stars": 1, "label": "y"}]
    path = _jsonl(tmp_path, rows)
    assert detect_format(path) == "jsonl"
    assert load_dataset(path).label_names == ("x", "y")


def test_yelp_star_names_sort_numerically(tmp_path: Path) -> None:
    rows = [{"text": str(s), "stars": s} for s in (10, 2, 1)]
    ds = load_dataset(_jsonl(tmp_path, rows), format="yelp")
    assert ds.label_names == ("1", "2", "10")


# --------------------------------------------------------------------------- csv

# Physical lines: 1 header, 2-3 quoted two-line text, 4 short row, 5 empty text, 6 missing label,
# 7 blank, 8-10 quoted three-line text, 11 invalid UTF-8, 12 good.
CSV_BYTES = (
    (
        "\ufeffId,Review,Sentiment\r\n"
        '1,"Great\nmovie, really",pos\n'
        "2,short row\n"
        '3,"",neg\n'
        "4,fine,\n"
        "\n"
        '5,"Multi ""quoted""\nline\nthree",neg\n'
    ).encode()
    + b"6,bad \xff byte,neg\n"
    + b"7,Last one,pos\n"
)


def test_csv_reads_multiline_fields_and_reports_bad_rows(tmp_path: Path) -> None:
    path = _write(tmp_path / "reviews.csv", CSV_BYTES)
    assert detect_format(path) == "csv"
    ds = load_dataset(path)
    assert ds.format == "csv"
    assert ds.texts == ("Great\nmovie, really", 'Multi "quoted"\nline\nthree', "Last one")
    assert ds.label_names == ("neg", "pos")
    assert ds.labels == (1, 0, 1)
    assert _skips(ds) == [
        (4, "too few fields (2, need 3)"),
        (5, "empty text"),
        (6, "missing label"),
        (11, "invalid UTF-8"),
    ]


def test_csv_gzip_and_numeric_labels(tmp_path: Path) -> None:
    data = b"text,stars\n" + b"".join(f'"r{s}",{s}\n'.encode() for s in ("4.0", "1", "10", "2.0"))
    path = _write(tmp_path / "r.csv.gz", gzip.compress(data))
    assert detect_format(path) == "csv"
    ds = load_dataset(path)
    assert ds.label_names == ("1", "2", "4", "10")
    assert ds.labels == (2, 0, 3, 1)


def test_csv_column_priority_and_case(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", b"CONTENT,Text,Rating,Label\nc1,t1,1,a\nc2,t2,2,b\n")
    ds = load_dataset(path)
    assert ds.texts == ("t1", "t2")  # "text" is preferred over "content"
    assert ds.label_names == ("a", "b")  # "label" is preferred over "rating"


def test_csv_without_text_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", b"body,label\nhello,a\n")
    with pytest.raises(DatasetError, match="no text column"):
        load_dataset(path, format="csv")
    with pytest.raises(DatasetError, match="cannot detect the format"):
        detect_format(path)


# --------------------------------------------------------------------------- aclimdb


def _imdb_tree(root: Path) -> None:
    _write(root / "neg" / "1_2.txt", b"Bad.")
    _write(root / "neg" / "0_3.txt", b"Terrible <br />film.")
    _write(root / "pos" / "0_9.txt", "Caf\u00e9 great.".encode())
    _write(root / "pos" / "1_8.txt", b"bad \xff bytes")
    _write(root / "pos" / "2_7.txt", b"  \n")
    _write(root / "pos" / "notes.md", b"ignored")
    _write(root / "unsup" / "0_0.txt", b"unlabelled")


def test_aclimdb_folder(tmp_path: Path) -> None:
    root = tmp_path / "imdb"
    _imdb_tree(root)
    assert detect_format(root) == "aclimdb"
    ds = load_dataset(root)
    assert ds.format == "aclimdb"
    assert ds.texts == ("Terrible <br />film.", "Bad.", "Caf\u00e9 great.")
    assert ds.label_names == ("neg", "pos")
    assert ds.labels == (0, 0, 1)
    assert ds.skipped == (
        SkippedRow(0, str(root / "pos" / "1_8.txt"), "invalid UTF-8"),
        SkippedRow(0, str(root / "pos" / "2_7.txt"), "empty text"),
    )
    assert ds.skipped_summary() == "skipped 2 malformed rows (pos/1_8.txt; pos/2_7.txt)"


def test_aclimdb_uses_train_subfolder(tmp_path: Path) -> None:
    top = tmp_path / "aclImdb"
    _imdb_tree(top / "train")
    _write(top / "test" / "neg" / "9_1.txt", b"test split")
    _write(top / "test" / "pos" / "9_9.txt", b"test split")
    ds = load_dataset(top)
    assert ds.texts == ("Terrible <br />film.", "Bad.", "Caf\u00e9 great.")
    assert ds.source == str(top)
    direct = load_dataset(top / "train")
    assert direct.sha256 == ds.sha256  # hashed by paths relative to the train folder


def test_aclimdb_hash_depends_on_names_and_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    _imdb_tree(first)
    _imdb_tree(second)
    assert load_dataset(first).sha256 == load_dataset(second).sha256
    (second / "neg" / "1_2.txt").rename(second / "neg" / "1_3.txt")
    renamed = load_dataset(second).sha256
    assert renamed != load_dataset(first).sha256
    _write(second / "neg" / "1_3.txt", b"Bad!")
    assert load_dataset(second).sha256 not in (renamed, load_dataset(first).sha256)


def test_aclimdb_without_class_folders(tmp_path: Path) -> None:
    _write(tmp_path / "empty" / "unsup" / "0_0.txt", b"x")
    with pytest.raises(DatasetError, match="no class folders"):
        load_dataset(tmp_path / "empty")


# --------------------------------------------------------------------------- detection and errors


def test_detect_format_examples(tmp_path: Path) -> None:
    jsonl = _write(tmp_path / "a.txt", b"\n\n" + _json({"text": "x", "label": 1}) + b"\n")
    broken_first = _write(tmp_path / "b.jsonl", b'{"text": "x", \n' + _json({"text": "y", "stars": 2}))
    not_json_object = _write(tmp_path / "c.csv", b'"text","label"\n"a","b"\n')
    plain = _write(tmp_path / "notes.txt", b"just some prose\nmore prose\n")
    empty = _write(tmp_path / "empty.jsonl", b"\n  \n")
    assert detect_format(jsonl) == "jsonl"
    assert detect_format(broken_first) == "yelp"
    assert detect_format(str(not_json_object)) == "csv"
    assert detect_format(tmp_path) == "aclimdb"
    with pytest.raises(DatasetError, match="cannot detect the format"):
        detect_format(plain)
    with pytest.raises(DatasetError, match="no text"):
        detect_format(empty)
    assert set(FORMATS) == {"jsonl", "csv", "aclimdb", "yelp"}


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(DatasetError) as err:
        load_dataset(missing)
    assert str(err.value) == f"dataset not found: {missing}"
    with pytest.raises(DatasetError, match="dataset not found"):
        detect_format(missing)


def test_single_class_is_an_error_for_training(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, [{"text": "a", "label": "pos"}, {"text": "b", "label": "pos"}])
    with pytest.raises(DatasetError) as err:
        load_dataset(path)
    assert str(err.value) == "dataset has a single class 'pos'; need at least 2"
    assert load_dataset(path, label_names=["neg", "pos"]).labels == (1, 1)


def test_no_usable_rows_mentions_skipped_count(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.jsonl", b"{oops\n" + _json({"text": ""}) + b"\n[]\n")
    with pytest.raises(DatasetError, match="no usable rows") as err:
        load_dataset(path, format="jsonl")
    assert "3 rows skipped" in str(err.value)
    assert "line 1: invalid JSON" in str(err.value)
    header_only = _write(tmp_path / "h.csv", b"text,label\n")
    with pytest.raises(DatasetError, match=r"no usable rows .*\(0 rows skipped\)"):
        load_dataset(header_only, format="csv")


def test_bad_arguments(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.jsonl", JSONL_BYTES)
    with pytest.raises(DatasetError, match="unknown dataset format 'xml'"):
        load_dataset(path, format="xml")
    with pytest.raises(DatasetError, match="needs a folder"):
        load_dataset(path, format="aclimdb")
    with pytest.raises(DatasetError, match="needs a file"):
        load_dataset(tmp_path, format="jsonl")
    with pytest.raises(DatasetError, match="limit"):
        load_dataset(path, limit=0)
    with pytest.raises(DatasetError, match="label_names"):
        load_dataset(path, label_names=["a", "a"])
    assert issubclass(DatasetError, ValueError)


# --------------------------------------------------------------------------- label_names, limit, subset


def test_label_names_map_and_skip_unknown(tmp_path: Path) -> None:
    rows = [{"text": "a", "label": "pos"}, {"text": "b", "label": "meh"}, {"text": "c", "label": "neg"}]
    ds = load_dataset(_jsonl(tmp_path, rows), label_names=("pos", "neg", "neutral"))
    assert ds.label_names == ("pos", "neg", "neutral")
    assert ds.texts == ("a", "c")
    assert ds.labels == (0, 1)
    assert _skips(ds) == [(2, "unknown label 'meh'")]
    assert ds.class_counts() == {"pos": 1, "neg": 1, "neutral": 0}


def test_limit_takes_first_usable_rows(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.jsonl", JSONL_BYTES)
    full = load_dataset(path)
    ds = load_dataset(path, limit=2)
    assert ds.texts == ("A fine film.", "Dull and long.")
    assert _skips(ds) == JSONL_SKIPS[:6]  # rows after the limit are not looked at
    assert ds.sha256 == full.sha256  # the hash always covers the whole file
    one = load_dataset(path, limit=1)  # one class is fine for a quick look
    assert (one.texts, one.label_names) == (("A fine film.",), ("pos",))


def test_limit_csv_and_aclimdb(tmp_path: Path) -> None:
    assert load_dataset(_write(tmp_path / "r.csv", CSV_BYTES), limit=2).texts == (
        "Great\nmovie, really",
        'Multi "quoted"\nline\nthree',
    )
    root = tmp_path / "imdb"
    _imdb_tree(root)
    ds = load_dataset(root, limit=2, label_names=("neg", "pos"))
    assert ds.texts == ("Terrible <br />film.", "Bad.")
    assert ds.sha256 == load_dataset(root).sha256


def test_subset(tmp_path: Path) -> None:
    ds = load_dataset(_write(tmp_path / "train.jsonl", JSONL_BYTES))
    sub = ds.subset([2, 0])
    assert sub.texts == ("Caf\u00e9 \u2028 ok", "A fine film.")
    assert sub.labels == (1, 1)
    assert (sub.label_names, sub.format, sub.source, sub.sha256) == (
        ds.label_names,
        ds.format,
        ds.source,
        ds.sha256,
    )
    assert sub.skipped == ()
    assert sub.skipped_summary() == ""
    assert len(ds.subset([])) == 0


def test_skipped_summary(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.jsonl", JSONL_BYTES)
    ds = load_dataset(path)
    assert ds.skipped_summary() == "skipped 7 malformed rows (train.jsonl lines 3, 4, 5, 6, 7, 8, 10)"
    assert ds.skipped_summary(limit=3) == "skipped 7 malformed rows (train.jsonl lines 3, 4, 5, and 4 more)"
    assert ds.skipped_summary(limit=0) == "skipped 7 malformed rows"
    one = load_dataset(_jsonl(tmp_path, [{"text": "a", "label": 1}, {"text": ""}, {"text": "b", "label": 2}]))
    assert one.skipped_summary() == "skipped 1 malformed row (d.jsonl line 2)"


def test_sha256_stability(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.jsonl", JSONL_BYTES)
    b = _write(tmp_path / "b.jsonl", JSONL_BYTES)
    changed = _write(tmp_path / "c.jsonl", JSONL_BYTES.replace(b"A fine", b"A finE"))
    sha_a = load_dataset(a).sha256
    assert sha_a == load_dataset(b).sha256 == hashlib.sha256(JSONL_BYTES).hexdigest()
    assert load_dataset(changed).sha256 != sha_a
    assert load_dataset(a).sha256 == sha_a


def test_dataset_checks_its_fields() -> None:
    with pytest.raises(ValueError, match="labels"):
        Dataset(("a",), (), ("x", "y"), "jsonl", "s", "h", ())
    with pytest.raises(ValueError, match="index label_names"):
        Dataset(("a",), (2,), ("x", "y"), "jsonl", "s", "h", ())


# --------------------------------------------------------------------------- real data


@pytest.mark.skipif(not REAL_TRAIN.exists(), reason="shared aclImdb train.jsonl.gz not available")
def test_real_aclimdb_train_jsonl() -> None:
    start = time.perf_counter()
    ds = load_dataset(REAL_TRAIN)
    elapsed = time.perf_counter() - start
    assert ds.format == "jsonl"
    assert len(ds) == 25_000
    assert ds.label_names == ("neg", "pos")
    assert ds.class_counts() == {"neg": 12_500, "pos": 12_500}
    assert ds.skipped == ()
    assert ds.sha256 == REAL_TRAIN_SHA256  # equals `sha256sum train.jsonl.gz`
    assert elapsed < 10  # about 1 s; generous so a loaded machine does not fail it
