"""engine.corpus_process: scoring in a child process streams what score_corpus gives in-process."""

from __future__ import annotations

import copy
import json
import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.bundle import ModelBundle
from engine.corpus import CorpusBuilder, cache_key, model_truth, score_corpus
from engine.corpus_process import CorpusProcess
from engine.data import Dataset, load_dataset
from engine.steps import run_to_end
from tests.toy_data import toy_rows


def _toy(tmp_path: Path, bundle: ModelBundle, n: int, rows: list[tuple[str, str]] | None = None) -> Dataset:
    rows = rows if rows is not None else [(r["text"], r["label"]) for r in toy_rows(n, 0)]
    path = tmp_path / f"toy{n}.jsonl"
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows), encoding="utf-8")
    return load_dataset(path, label_names=bundle.label_names)


def _collect(gen: object) -> tuple[list[object], object]:
    records = []
    try:
        while True:
            records.append(next(gen))  # type: ignore[call-overload]
    except StopIteration as stop:
        return records, stop.value


def test_the_child_streams_the_rows_and_result_of_in_process(tmp_path: Path, shipped: ModelBundle) -> None:
    ds = _toy(tmp_path, shipped, 150)
    ref_records, ref = _collect(score_corpus(shipped, ds, batch_size=16, block=64))
    child = CorpusProcess(shipped, ds, batch_size=16, block=64, chunk_s=0.0)
    records, got = _collect(child.results())
    # every batch reached the parent, in the same order, with the same rows
    assert [r.done for r in records] == [r.done for r in ref_records]  # type: ignore[attr-defined]
    for a, b in zip(records, ref_records, strict=True):
        np.testing.assert_array_equal(a.rows.row, b.rows.row)  # type: ignore[attr-defined]
    builder = CorpusBuilder(shipped.label_names, model_truth(shipped, ds))
    for r in records:
        builder.add(r.rows, r.seconds)  # type: ignore[attr-defined]
    for res in (got, builder.result()):
        assert res.complete and len(res) == 150  # type: ignore[attr-defined]
        np.testing.assert_array_equal(res.row, ref.row)  # type: ignore[attr-defined]
        np.testing.assert_array_equal(res.pred, ref.pred)  # type: ignore[attr-defined]
        np.testing.assert_allclose(res.probs, ref.probs, atol=1e-6)  # type: ignore[attr-defined]
        np.testing.assert_allclose(res.last_share, ref.last_share, atol=1e-6)  # type: ignore[attr-defined]
        for i in (0, 77, 149):
            a, b = res.review_top_words(i), ref.review_top_words(i)  # type: ignore[attr-defined]
            assert [w for w, _ in a] == [w for w, _ in b]
            np.testing.assert_allclose([x for _, x in a], [x for _, x in b], atol=1e-6)
    assert got.key == ref.key == cache_key(shipped, ds)  # type: ignore[attr-defined]
    assert child.process.exitcode == 0


def test_chunks_merge_batches_without_losing_rows(tmp_path: Path, shipped: ModelBundle) -> None:
    ds = _toy(tmp_path, shipped, 120)
    records, got = _collect(CorpusProcess(shipped, ds, batch_size=8, chunk_s=3600.0).results())
    assert len(records) == 1 and records[0].done == 120  # type: ignore[attr-defined]
    assert sorted(records[0].rows.row.tolist()) == list(range(120))  # type: ignore[attr-defined]
    assert len(records[0].rows.top_words) == 120  # type: ignore[attr-defined]
    assert got.complete  # type: ignore[attr-defined]


def test_a_model_changed_in_memory_is_the_one_scored(tmp_path: Path, shipped: ModelBundle) -> None:
    """The child gets the parent's weights, not the files the model was once read from."""
    ds = _toy(tmp_path, shipped, 20)
    other = copy.deepcopy(shipped)
    with torch.no_grad():
        other.model.classifier.bias.add_(3.0)
    ref = run_to_end(score_corpus(other, ds))  # in-process, with the changed weights
    _, got = _collect(CorpusProcess(other, ds).results())
    np.testing.assert_allclose(got.probs, ref.probs, atol=1e-6)  # type: ignore[attr-defined]
    assert got.key == cache_key(other, ds) != cache_key(shipped, ds)  # type: ignore[attr-defined]


def test_closing_the_generator_kills_the_child(tmp_path: Path, shipped: ModelBundle) -> None:
    ds = _toy(tmp_path, shipped, 600)
    child = CorpusProcess(shipped, ds, batch_size=8, chunk_s=0.0)
    gen = child.results()
    first = next(gen)
    assert first.done == 8
    gen.close()  # what the GUI's cancel (or a newer run) does
    child.process.join(10)
    assert not child.process.is_alive() and child.process.exitcode != 0


def test_kill_from_another_thread_ends_the_run_quietly(tmp_path: Path, shipped: ModelBundle) -> None:
    ds = _toy(tmp_path, shipped, 600)
    child = CorpusProcess(shipped, ds, batch_size=8, chunk_s=0.0)
    gen = child.results()
    next(gen)
    threading.Timer(0.05, child.kill).start()
    _, partial = _collect(gen)  # the parent reads to the end: no error, a partial result
    assert not partial.complete and 8 <= len(partial) < 600  # type: ignore[attr-defined]
    assert not child.process.is_alive()


def test_an_error_in_the_child_arrives_with_its_message(tmp_path: Path, shipped: ModelBundle) -> None:
    ds = _toy(tmp_path, shipped, 10)
    with pytest.raises(ValueError, match="batch_size, block and top_k must be at least 1"):
        _collect(CorpusProcess(shipped, ds, batch_size=0).results())


def test_a_crash_of_the_child_is_a_clear_message(tmp_path: Path, shipped: ModelBundle) -> None:
    """A child killed from outside (the OOM killer, a crash in native code) is not a silent end."""
    ds = _toy(tmp_path, shipped, 600)
    child = CorpusProcess(shipped, ds, batch_size=8, chunk_s=0.0)
    gen = child.results()
    next(gen)
    os.kill(child.process.pid, signal.SIGKILL)
    with pytest.raises(ChildProcessError, match=r"scoring process ended unexpectedly \(exit code -9\)"):
        _collect(gen)


_NICE_PROBE = """
import json, os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])


def nice_of(pid):
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def main():
    from multiprocessing import forkserver

    from engine.bundle import load_bundle
    from engine.corpus_process import CorpusProcess
    from engine.data import load_dataset
    from resources import model_dir

    bundle = load_bundle(model_dir())
    ds = load_dataset(sys.argv[2], label_names=bundle.label_names)
    child = CorpusProcess(bundle, ds, nice=7, batch_size=4, chunk_s=0.0)
    gen = child.results()
    next(gen)
    out = {"parent": os.nice(0), "server": nice_of(forkserver._forkserver._forkserver_pid)}
    out["child"] = nice_of(child.process.pid)
    child.kill()
    gen.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads /proc (Linux)")
def test_the_fork_server_starts_at_the_childs_priority(tmp_path: Path, shipped: ModelBundle) -> None:
    """The first scoring child starts the fork server from a thread at the child's niceness: the
    server's import of torch takes no CPU turn from the window, the child runs at exactly ``nice``
    (not twice it), and the parent keeps its own priority."""
    import subprocess
    import sys

    ds = _toy(tmp_path, shipped, 40)
    script = tmp_path / "probe.py"
    script.write_text(_NICE_PROBE, encoding="utf-8")
    root = str(Path(__file__).resolve().parents[2])
    cmd = [sys.executable, str(script), root, ds.source]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    base = os.nice(0)
    assert got == {"parent": base, "server": max(base, 7), "child": max(base, 7)}
