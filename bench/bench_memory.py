"""Peak memory (RSS) of the CLI on the inputs that used to blow it up, each in a fresh process.

    .venv/bin/python bench/bench_memory.py                  # full run, result in bench/results/
    .venv/bin/python bench/bench_memory.py --quick --out /tmp/bench   # smaller texts: checks the script

Every case runs ``han-explorer`` (``python -m app.cli``) as a child process on CPU and reads the
child's peak resident set size from ``os.wait4`` (``ru_maxrss``, KiB on Linux): interpreter,
torch, the model and the work, all counted. The texts are real IMDB prose (``--data``, gzip JSON
lines with "text"), joined in file order until long enough:

* ``predict_1mb``: ``predict --json`` on a plain review of ~1 MB (at most ``MAX_TEXT_CHARS``).
  Target: peak RSS < 1 GiB.
* ``predict_padding_100kb``: ``predict --json`` on a padding-shaped ~100 KB review: one
  2,000-word sentence, then short sentences up to 100 KB. Padded to the longest sentence it
  needed ~80 GB. Target: answered (exit 0).
* ``gru_trace_sentence_padding_100kb``: ``gru-trace --encoder sentence --json`` on the same text.
  Target: answered.
* ``evaluate_2mb_review``: ``evaluate --json`` on a dataset of 200 IMDB reviews plus one ~2 MB
  review. Padded to its longest document the batch needed a 4.8 GB allocation. Target: answered.
* ``baseline_predict_short``: ``predict --json`` on a 1-sentence review, for the fixed cost
  (interpreter, torch, model). No target.

Each child runs under an address-space limit (``--limit-gib``, default 8) so that a regression
fails the case instead of swapping the machine.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import IMDB, ROOT, machine_info, print_table, utc_now, write_result

TARGET_PEAK_MIB_1MB = 1024.0


def read_texts(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"].strip() for line in f if line.strip()]


def prose(reviews: list[str], chars: int) -> str:
    """Reviews joined by blank lines until ``chars`` characters, cut at a space."""
    parts, n = [], 0
    for r in reviews:
        parts.append(r)
        n += len(r) + 2
        if n >= chars:
            break
    text = "\n\n".join(parts)
    while len(text) < chars:  # a short data file: repeat it
        text = f"{text}\n\n{text}"
    return text[: text.rfind(" ", 0, chars)].rstrip()


def padding_shaped(reviews: list[str], chars: int, long_words: int = 2000) -> str:
    """One sentence of ``long_words`` words (no sentence end inside), then short sentences."""
    words = " ".join(reviews).replace(".", " ").replace("!", " ").replace("?", " ").split()
    long_sentence = " ".join(words[:long_words]) + "."
    shorts, i = [], 0
    size = len(long_sentence)
    while size < chars:
        s = f"{words[i % len(words)].capitalize()} {words[(i + 1) % len(words)]}."
        shorts.append(s)
        size += len(s) + 1
        i += 2
    return long_sentence + " " + " ".join(shorts)


def run_child(args: list[str], limit_gib: float, timeout: float) -> dict[str, Any]:
    """``python -m app.cli ARGS`` on CPU; exit status, wall time, peak RSS, stderr tail."""
    cmd = [sys.executable, "-m", "app.cli", *args]
    limit = int(limit_gib * (1 << 30))

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, env=env, preexec_fn=limit_memory)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read().decode("utf-8", "replace")
    label = None
    if proc.returncode == 0 and stdout[:1] == b"{":
        label = json.loads(stdout).get("label")
    return {
        "command": ["han-explorer", *args],
        "exit_status": proc.returncode,
        "wall_s": round(wall, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "stdout_bytes": len(stdout),
        "label": label,
        "stderr_tail": stderr.strip().splitlines()[-3:],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--data",
        type=Path,
        default=IMDB / "test.jsonl.gz",
        help="gzip JSON lines with 'text' (default: ../shared/data/aclimdb/test.jsonl.gz)",
    )
    p.add_argument("--limit-gib", type=float, default=8.0, help="address-space limit per child (GiB)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per case")
    p.add_argument("--quick", action="store_true", help="texts a tenth the size: checks the script")
    p.add_argument("--out", type=Path, default=None, help="results folder (default bench/results)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    started = utc_now()
    machine = machine_info()
    from engine.limits import MAX_TEXT_CHARS

    if not a.data.is_file():
        raise SystemExit(f"no data file {a.data} (give --data)")
    reviews = read_texts(a.data)
    scale = 10 if a.quick else 1
    one_mb = min(1_000_000 // scale, MAX_TEXT_CHARS)
    texts = {
        "short": "A fine film, and a funny one.",
        "plain_1mb": prose(reviews, one_mb),
        "padding_100kb": padding_shaped(reviews, 100_000 // scale),
        "review_2mb": prose(reviews[::-1], 2_000_000 // scale),
    }
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        files = {}
        for name, text in texts.items():
            files[name] = Path(tmp) / f"{name}.txt"
            files[name].write_text(text, encoding="utf-8")
        dataset = Path(tmp) / "eval.jsonl"
        rows = [{"text": t, "label": "pos" if k % 2 else "neg"} for k, t in enumerate(reviews[:200])]
        rows.insert(100, {"text": texts["review_2mb"], "label": "pos"})
        dataset.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        cases = {
            "baseline_predict_short": ["predict", "--json", str(files["short"])],
            "predict_1mb": ["predict", "--json", str(files["plain_1mb"])],
            "predict_padding_100kb": ["predict", "--json", str(files["padding_100kb"])],
            "gru_trace_sentence_padding_100kb": [
                "gru-trace",
                "--encoder",
                "sentence",
                "--json",
                "--file",
                str(files["padding_100kb"]),
            ],
            "evaluate_2mb_review": ["evaluate", "--json", "--device", "cpu", "--data", str(dataset)],
        }
        results = {}
        for name, args in cases.items():
            print(f"{name} ...", flush=True)
            results[name] = run_child(args, a.limit_gib, a.timeout)
    sizes = {name: {"chars": len(t), "utf8_bytes": len(t.encode("utf-8"))} for name, t in texts.items()}
    peak_1mb = results["predict_1mb"]["peak_rss_mib"]
    targets = {
        "predict_1mb_peak_rss": {
            "target": f"< {TARGET_PEAK_MIB_1MB:g} MiB",
            "measured_mib": peak_1mb,
            "met": results["predict_1mb"]["exit_status"] == 0 and peak_1mb < TARGET_PEAK_MIB_1MB,
        },
        **{
            f"{name}_answered": {
                "target": "exit 0",
                "measured": results[name]["exit_status"],
                "met": results[name]["exit_status"] == 0,
            }
            for name in ("predict_padding_100kb", "gru_trace_sentence_padding_100kb", "evaluate_2mb_review")
        },
    }
    payload = {
        "settings": {
            "quick": a.quick,
            "data": str(a.data),
            "device": "cpu",
            "limit_gib": a.limit_gib,
            "measure": "os.wait4 ru_maxrss of the child process (whole process, KiB -> MiB)",
            "evaluate_dataset": "200 IMDB test reviews + one review_2mb row",
        },
        "texts": sizes,
        "cases": results,
        "targets": targets,
        "all_targets_met": all(t["met"] for t in targets.values()),
    }
    if a.quick:
        payload["note"] = "--quick run: texts a tenth the size; checks that the script works"
    path = write_result("memory-cpu", payload, a.out, started, machine)
    print()
    print_table(
        [[name, r["exit_status"], r["peak_rss_mib"], r["wall_s"]] for name, r in results.items()],
        ["case", "exit", "peak RSS MiB", "wall s"],
    )
    print(f"\nall targets met: {payload['all_targets_met']}\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
