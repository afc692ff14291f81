"""Issue 17's sweep on one GPU: the shipped model's command and variants, compared on dev data only.

    PYTHONPATH=$PWD python3 scripts/sweep_behaviour.py --out "$OUT"

From the repository root, with IMDB train at ``.data/train.jsonl.gz`` (on the GPU machine, where
syntok is missing: carry ``.data`` and ``.whl``, and first
``python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/syntok-*.whl`` with
``PYTHONPATH=/tmp/site:$PWD``). About 8 minutes in all (``--budget-s`` 420 for training). It

1. tokenizes the training data once into ``WORK/cache`` (every run reads it: ``--cache-dir``);
2. starts every run at once, each an ordinary ``han-explorer train`` command: the shipped model's
   command (``resources/model/model.json`` "command", with ``--device cuda``) plus the variant's
   flags (see ``VARIANTS``); logs in ``WORK/<name>.log``, runs in ``WORK/<name>/``;
3. stops runs still going at ``--budget-s`` seconds after the start (SIGTERM; a run keeps the best
   model it saved, and its JSON says ``"finished": false`` with the epochs it completed);
4. scores every saved model on the IMDB dev split (the accuracy training chose it by, from its
   model.json) and on the challenge set's **dev** half, by tag and by label;
5. writes ``OUT/<name>.json`` per run and ``OUT/summary.json``, and prints a table.

It never reads IMDB test or the challenge test half: those are evaluated once, for the winner. The
models stay in ``WORK/<name>/model`` (on the GPU machine while it is warm) unless ``--keep-models``
copies them into ``OUT/models/``. ``--extra`` appends flags to every run, and ``--limit`` takes the
first N rows, for a smoke test on a CPU (IMDB's file is sorted by label: give a shuffled sample).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# sweep 11's teachers: probability files of these models on the training data (see VARIANTS)
TEACHERS = ("shipped", *(f"retro_op40_t30_{r}" for r in ("i4", "i5", "j20_i6", "j20_i7")))

# name -> flags added to the shipped command (later flags win). Chosen to fit ~8 minutes together.
VARIANTS: dict[str, list[str]] = {
    "baseline": [],
    "splice05": ["--splice-fraction", "0.05"],
    "splice10": ["--splice-fraction", "0.1"],
    "splice15": ["--splice-fraction", "0.15"],
    "splice25": ["--splice-fraction", "0.25"],
    "splice50": ["--splice-fraction", "0.5"],
    "smooth10": ["--label-smoothing", "0.1"],
    "splice25_smooth10": ["--splice-fraction", "0.25", "--label-smoothing", "0.1"],
    "splice10_smooth10": ["--splice-fraction", "0.1", "--label-smoothing", "0.1"],
    # splice05 again with other initialisations, on the same dev split (--init-seed keeps the split)
    "splice05_i1": ["--splice-fraction", "0.05", "--init-seed", "1"],
    "splice05_i2": ["--splice-fraction", "0.05", "--init-seed", "2"],
    "splice05_i3": ["--splice-fraction", "0.05", "--init-seed", "3"],
    "splice05_i4": ["--splice-fraction", "0.05", "--init-seed", "4"],
    # larger encoders with a little splicing
    "splice05_sent200": ["--splice-fraction", "0.05", "--sentence-hidden", "200"],
    "splice05_word150": ["--splice-fraction", "0.05", "--word-hidden", "150"],
    "w2v15": ["--word2vec-epochs", "15"],
    # negated sentences (engine.negate), with a little splicing or alone
    "splice05_neg05": ["--splice-fraction", "0.05", "--negate-fraction", "0.05"],
    "splice05_neg10": ["--splice-fraction", "0.05", "--negate-fraction", "0.1"],
    "splice05_neg20": ["--splice-fraction", "0.05", "--negate-fraction", "0.2"],
    "neg10": ["--negate-fraction", "0.1"],
    "splice05_neg10_i4": ["--splice-fraction", "0.05", "--negate-fraction", "0.1", "--init-seed", "4"],
    # written judgements (engine.judgements): negated, plain and temporal, in many constructions
    # fine-tuning the shipped model (same data, split and vocabulary) with a little splicing and judgements
    "ft_judge20": [
        *("--init-model", "resources/model", "--lr", "5e-4", "--epochs", "3"),
        *("--splice-fraction", "0.05", "--judgement-fraction", "0.2"),
    ],
    "ft_judge40_lr2e4": [
        *("--init-model", "resources/model", "--lr", "2e-4", "--epochs", "3"),
        *("--splice-fraction", "0.05", "--judgement-fraction", "0.4"),
    ],
    "ft_judge20_lr2e4": [
        *("--init-model", "resources/model", "--lr", "2e-4", "--epochs", "3"),
        *("--splice-fraction", "0.05", "--judgement-fraction", "0.2"),
    ],
    "ft_judge20_lr2e4_frozen": [
        *(
            "--init-model",
            "resources/model",
            "--lr",
            "2e-4",
            "--epochs",
            "3",
            "--freeze-embedding-epochs",
            "9",
        ),
        *("--splice-fraction", "0.05", "--judgement-fraction", "0.2"),
    ],
    "ft_judge10_lr1e4_frozen": [
        *(
            "--init-model",
            "resources/model",
            "--lr",
            "1e-4",
            "--epochs",
            "3",
            "--freeze-embedding-epochs",
            "9",
        ),
        *("--splice-fraction", "0.05", "--judgement-fraction", "0.1"),
    ],
    # judged reviews whose body is of the other class only 30% of the time (--judgement-turn-share)
    "splice05_judge20_t03": [
        "--splice-fraction",
        "0.05",
        "--judgement-fraction",
        "0.2",
        "--judgement-turn-share",
        "0.3",
    ],
    "splice05_judge10_t03": [
        "--splice-fraction",
        "0.05",
        "--judgement-fraction",
        "0.1",
        "--judgement-turn-share",
        "0.3",
    ],
    "splice05_judge20_t03_i4": [
        *("--splice-fraction", "0.05", "--judgement-fraction", "0.2", "--judgement-turn-share", "0.3"),
        *("--init-seed", "4"),
    ],
    "splice05_judge20_t03_i5": [
        *("--splice-fraction", "0.05", "--judgement-fraction", "0.2", "--judgement-turn-share", "0.3"),
        *("--init-seed", "5"),
    ],
    "judge20_t03": ["--judgement-fraction", "0.2", "--judgement-turn-share", "0.3"],
    "splice05_judge10": ["--splice-fraction", "0.05", "--judgement-fraction", "0.1"],
    "splice05_judge20": ["--splice-fraction", "0.05", "--judgement-fraction", "0.2"],
    "splice05_judge40": ["--splice-fraction", "0.05", "--judgement-fraction", "0.4"],
    "splice05_judge20_i4": ["--splice-fraction", "0.05", "--judgement-fraction", "0.2", "--init-seed", "4"],
    "splice05_neg10_judge10": [
        "--splice-fraction",
        "0.05",
        "--negate-fraction",
        "0.1",
        "--judgement-fraction",
        "0.1",
    ],
    # sweep 6: more temporal judgements (--judgement-temporal-share) and more temporal constructions
    # and verbs, on the winner of sweep 5 (splice 0.05, judgements 0.2, turn share 0.3)
    **{
        f"jt{round(100 * share)}_i{seed}": [
            *("--splice-fraction", "0.05", "--judgement-fraction", "0.2", "--judgement-turn-share", "0.3"),
            *("--judgement-temporal-share", str(share), "--init-seed", str(seed)),
        ]
        for share, seed in ((0.2, 4), (0.35, 4), (0.35, 6), (0.5, 4))
    },
    # sweep 7 (written, not run yet: README): the same with the word2vec embedding kept fixed (all
    # epochs, or the first 3), so that a negative feeling verb the judgements never use ("loathe")
    # may be read like its word2vec neighbours
    "jt20_i4_frozen": [
        *("--splice-fraction", "0.05", "--judgement-fraction", "0.2", "--judgement-turn-share", "0.3"),
        *("--init-seed", "4", "--freeze-embedding-epochs", "10"),
    ],
    "jt20_i4_frozen3": [
        *("--splice-fraction", "0.05", "--judgement-fraction", "0.2", "--judgement-turn-share", "0.3"),
        *("--init-seed", "4", "--freeze-embedding-epochs", "3"),
    ],
    "jt20_i6": [
        *("--splice-fraction", "0.05", "--judgement-fraction", "0.2", "--judgement-turn-share", "0.3"),
        *("--init-seed", "6"),
    ],
    # sweep 8: the same judgements (14 verbs a polarity now, 15% after an opener) with the lexicon
    # (engine/lexicon.py):
    # rare rated words retrofitted to their rating's frequent neighbours (--lexicon-retrofit-rank),
    # the valence term (--lexicon-weight), both, and neither (the control)
    **{
        name: [
            *("--splice-fraction", "0.05", "--judgement-fraction", "0.2", "--judgement-turn-share", "0.3"),
            *("--init-seed", "4", *flags),
        ]
        for name, flags in (
            ("lex0_i4", ()),
            ("retro_i4", ("--lexicon-retrofit-rank", "5000")),
            ("retro_lex1_i4", ("--lexicon-retrofit-rank", "5000", "--lexicon-weight", "1")),
            ("lex1_i4", ("--lexicon-weight", "1")),
        )
    },
    # sweep 8b: the retrofit run with other init seeds (the challenge dev half moves between seeds)
    **{
        f"retro_i{seed}": [
            *("--splice-fraction", "0.05", "--judgement-fraction", "0.2", "--judgement-turn-share", "0.3"),
            *("--init-seed", str(seed), "--lexicon-retrofit-rank", "5000"),
        ]
        for seed in (5, 6)
    },
    # sweep 8c: with 40% of judgements after an opener ("Frankly,"), for "Honestly, I love <title>."
    **{
        f"retro_op40_i{seed}": [
            *("--splice-fraction", "0.05", "--judgement-fraction", "0.2", "--judgement-turn-share", "0.3"),
            *("--init-seed", str(seed), "--lexicon-retrofit-rank", "5000", "--judgement-opener-share", "0.4"),
        ]
        for seed in (4, 5)
    },
    # sweep 8d: and 30% naming a made-up title where they said "it" ("I dislike <title>." read positive)
    **{
        f"retro_op40_t30_i{seed}": [
            *("--splice-fraction", "0.05", "--judgement-fraction", "0.2", "--judgement-turn-share", "0.3"),
            *("--init-seed", str(seed), "--lexicon-retrofit-rank", "5000", "--judgement-opener-share", "0.4"),
            *("--judgement-title-share", "0.3"),
        ]
        for seed in (4, 5)
    },
    # sweep 9 (written, not run yet: README): sweep 8d passed every behaviour target at dev 0.9240-0.9244,
    # under the 0.9264 floor; more init seeds, and fewer judgements (0.15 of the training split) for dev
    **{
        f"retro_op40_t30_j{round(100 * frac)}_i{seed}": [
            *(
                "--splice-fraction",
                "0.05",
                "--judgement-fraction",
                str(frac),
                "--judgement-turn-share",
                "0.3",
            ),
            *("--init-seed", str(seed), "--lexicon-retrofit-rank", "5000", "--judgement-opener-share", "0.4"),
            *("--judgement-title-share", "0.3"),
        ]
        for frac, seed in ((0.2, 6), (0.2, 7), (0.15, 4), (0.15, 5))
    },
    # sweep 10 (picked by --rule targets): sweeps 8d and 9's settings (judgements 0.2 of the training split)
    # with a moving average of the weights (--ema-decay 0.998) at the four init seeds they ran without one
    **{
        f"retro_op40_t30_ema998_i{seed}": [
            *("--splice-fraction", "0.05", "--judgement-fraction", "0.2", "--judgement-turn-share", "0.3"),
            *("--init-seed", str(seed), "--lexicon-retrofit-rank", "5000", "--judgement-opener-share", "0.4"),
            *("--judgement-title-share", "0.3", "--ema-decay", "0.998"),
        ]
        for seed in (4, 5, 6, 7)
    },
    # sweep 10 as revised before any GPU run: on this CPU (seed 4) the average's flatter dev curve let
    # patience 3 end the run at epoch 6 with epoch 3 saved; with patience 10 the budget ends the runs, as
    # it ended sweeps 8d and 9's
    **{
        f"retro_op40_t30_ema998_p10_i{seed}": [
            *("--splice-fraction", "0.05", "--judgement-fraction", "0.2", "--judgement-turn-share", "0.3"),
            *("--init-seed", str(seed), "--lexicon-retrofit-rank", "5000", "--judgement-opener-share", "0.4"),
            *("--judgement-title-share", "0.3", "--ema-decay", "0.998", "--patience", "10"),
        ]
        for seed in (4, 5, 6, 7)
    },
    # sweep 11 (picked by --rule targets): sweep 8d and 9's settings distilled from five teachers, the
    # shipped model and the four H100 runs of those settings (seeds 4-7), at the same four seeds; on IMDB
    # dev their mean-probability ensemble scored 0.9344 and met every behaviour target (the four alone:
    # 0.9304). Teachers travel as probability files (README: "Sweep 11"), each written by `han-explorer
    # evaluate --data .data/train.jsonl.gz --model M --probabilities .data/teachers/NAME.safetensors`
    **{
        f"retro_op40_t30_kd5_i{seed}": [
            *("--splice-fraction", "0.05", "--judgement-fraction", "0.2", "--judgement-turn-share", "0.3"),
            *("--init-seed", str(seed), "--lexicon-retrofit-rank", "5000", "--judgement-opener-share", "0.4"),
            *("--judgement-title-share", "0.3", "--distill-weight", "0.5"),
            *("--distill-from", ",".join(f".data/teachers/{t}.safetensors" for t in TEACHERS)),
        ]
        for seed in (4, 5, 6, 7)
    },
    "j30_jt35_i4": [
        *("--splice-fraction", "0.05", "--judgement-fraction", "0.3", "--judgement-turn-share", "0.3"),
        *("--judgement-temporal-share", "0.35", "--init-seed", "4"),
    ],
}
_OWN_FLAGS = {"--data", "--out", "--device", "--cache-dir", "--limit", "--workers"}  # the sweep sets these


def shipped_args() -> tuple[str, list[str]]:
    """The shipped model's ``train`` command and its flags, less those the sweep sets itself."""
    meta = json.loads((ROOT / "resources" / "model" / "model.json").read_text(encoding="utf-8"))
    command = str(meta["command"])
    words = shlex.split(command)
    if words[:2] != ["han-explorer", "train"]:
        raise SystemExit(f"unexpected shipped command: {command}")
    args, i = [], 2
    while i < len(words):
        if words[i] in _OWN_FLAGS:
            i += 2
            continue
        args.append(words[i])
        i += 1
    return command, args


def _check_imports() -> None:
    missing = []
    for name in ("torch", "numpy", "safetensors", "syntok", "regex", "vaderSentiment"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise SystemExit(
            f"missing Python packages: {', '.join(missing)} (syntok: carry .whl and "
            "pip install --no-index --target /tmp/site .whl/syntok-*.whl, then add /tmp/site to PYTHONPATH)"
        )


def _machine(device: str) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "device": device,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["card"] = torch.cuda.get_device_name(0)
    try:
        info["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout
        info["dirty"] = bool(dirty.strip())
    except (OSError, subprocess.SubprocessError):
        info["commit"] = None
    return info


def _tokenize_once(a: argparse.Namespace, cache: Path) -> float:
    from engine.data import load_dataset
    from engine.word_cache import cached_words

    t0 = time.perf_counter()
    ds = load_dataset(a.train, limit=a.limit)
    cached_words(ds, cache, a.workers)
    return time.perf_counter() - t0


def _launch(
    a: argparse.Namespace, name: str, base: list[str], cache: Path, threads: int
) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "app.cli",
        "train",
        "--data",
        a.train,
        "--out",
        str(a.work / name),
        "--device",
        a.device,
        "--cache-dir",
        str(cache),
        "--workers",
        "2",
        "--force",
        *base,
        *VARIANTS[name],
        *(["--limit", str(a.limit)] if a.limit else []),
        *shlex.split(a.extra),
    ]
    shutil.rmtree(a.work / name, ignore_errors=True)  # a model left by an earlier sweep is not this run's
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    log = (a.work / f"{name}.log").open("wb")
    (a.work / f"{name}.cmd").write_text(shlex.join(cmd) + "\n", encoding="utf-8")
    return subprocess.Popen(
        cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )


def _records(run_dir: Path) -> list[dict[str, Any]]:
    log = run_dir / "logs" / "rank0.jsonl"
    if not log.is_file():
        return []
    out = []
    for line in log.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):  # a line cut by SIGTERM
            out.append(json.loads(line))
    return out


def _progress_line(a: argparse.Namespace, names: list[str], elapsed: float) -> str:
    parts = []
    for name in names:
        evals = [r for r in _records(a.work / name) if r["kind"] == "eval"]
        parts.append(f"{name} e{len(evals)}" + (f" {evals[-1]['dev_accuracy']:.4f}" if evals else ""))
    return f"[{elapsed:4.0f}s] " + ", ".join(parts)


def _gpu_sample() -> str | None:
    """``nvidia-smi``'s GPU utilization and memory now (None without it): how busy the runs keep the card."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _stop(procs: dict[str, subprocess.Popen[bytes]]) -> list[str]:
    """SIGTERM every run still going (its whole process group), then SIGKILL after 20 s."""
    stopped = [n for n, p in procs.items() if p.poll() is None]
    for n in stopped:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(procs[n].pid, signal.SIGTERM)
    end = time.monotonic() + 20
    for n in stopped:
        try:
            procs[n].wait(max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(procs[n].pid, signal.SIGKILL)
            procs[n].wait()
    return stopped


def _result(
    a: argparse.Namespace, name: str, rc: int | None, stopped: bool, wall: float, setup: float | None
) -> dict[str, Any]:
    from engine.bundle import ModelError, load_bundle
    from engine.challenge import load_challenge, score_challenge

    run_dir = a.work / name
    recs = _records(run_dir)
    evals = [r for r in recs if r["kind"] == "eval"]
    done = next((r for r in recs if r["kind"] == "done"), None)
    res: dict[str, Any] = {
        "name": name,
        "flags": VARIANTS[name],
        "command": (a.work / f"{name}.cmd").read_text(encoding="utf-8").strip(),
        "finished": done is not None,
        "stopped_at_budget": stopped,
        "returncode": rc,
        "wall_s": round(wall, 1),
        "setup_s": None if setup is None else round(setup, 1),  # start to training log (data, word2vec)
        "epochs_run": len(evals),
        "dev_by_epoch": [round(r["dev_accuracy"], 4) for r in evals],
        # per epoch, training and its dev evaluation (differences of the log's clock)
        "epoch_seconds": [
            round(b["elapsed_s"] - a_["elapsed_s"], 1)
            for a_, b in zip([{"elapsed_s": 0.0}, *evals], evals, strict=False)
        ],
    }
    try:
        bundle = load_bundle(run_dir / "model", a.device)
    except ModelError as e:
        res["error"] = f"no model: {e}; log tail: " + _tail(a.work / f"{name}.log")
        return res
    meta = bundle.metadata
    res["imdb_dev_accuracy"] = meta.get("dev_accuracy")
    res["best_epoch"] = meta.get("best_epoch")
    res["dev_documents"] = meta.get("dataset", {}).get("dev_documents")
    res["challenge_dev"] = score_challenge(bundle, load_challenge(split="dev")).to_dict()
    if a.keep_models:
        shutil.copytree(run_dir / "model", a.out / "models" / name, dirs_exist_ok=True)
    return res


def _tail(path: Path, n: int = 600) -> str:
    try:
        return " ".join(path.read_text(encoding="utf-8", errors="replace")[-n:].split())
    except OSError:
        return ""


def _table(results: list[dict[str, Any]]) -> str:
    head = f"{'run':<20} {'fin':>3} {'ep':>3} {'best':>4} {'imdb_dev':>8} {'chal_dev':>8}"
    head += f" {'turn':>6} {'negat':>6} {'plain':>6} {'pos':>6} {'neg':>6}"
    lines = [head]
    for r in results:
        c = r.get("challenge_dev")
        if c is None:
            lines.append(f"{r['name']:<20} {'yes' if r['finished'] else 'no':>3} {r['epochs_run']:>3}  error")
            continue

        def acc(group: str, key: str, c: dict[str, Any] = c) -> str:
            return f"{c[group][key]['accuracy']:.3f}" if key in c[group] else "-"

        lines.append(
            f"{r['name']:<20} {'yes' if r['finished'] else 'no':>3} {r['epochs_run']:>3} "
            f"{r['best_epoch']:>4} "
            f"{r['imdb_dev_accuracy']:>8.4f} {c['accuracy']:>8.3f} {acc('by_tag', 'turn'):>6} "
            f"{acc('by_tag', 'negation'):>6} {acc('by_tag', 'plain'):>6} {acc('by_label', 'pos'):>6} "
            f"{acc('by_label', 'neg'):>6}"
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", default=".data/train.jsonl.gz", help="IMDB train (JSON lines)")
    p.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "out")), help="JSON results")
    p.add_argument("--work", type=Path, default=Path("runs/sweep_behaviour"), help="runs, logs, cache")
    p.add_argument("--device", default="cuda")
    p.add_argument(
        "--budget-s", type=float, default=420.0, help="stop runs still going this long after start"
    )
    p.add_argument("--only", default="", help="comma-separated run names (default: all)")
    p.add_argument("--extra", default="", help="flags appended to every run (smoke tests)")
    p.add_argument("--limit", type=int, default=None, help="first N rows of --train (smoke tests)")
    p.add_argument("--workers", type=int, default=None, help="tokenizer processes (default: one per core)")
    p.add_argument("--keep-models", action="store_true", help="copy every model into OUT/models/")
    a = p.parse_args()
    t_start = time.monotonic()
    names = [n for n in a.only.split(",") if n] or list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        p.error(f"unknown run {unknown[0]!r}; runs: {', '.join(VARIANTS)}")
    if not Path(a.train).is_file():
        p.error(f"no training data at {a.train}")
    _check_imports()
    sys.path.insert(0, str(ROOT))
    a.out.mkdir(parents=True, exist_ok=True)
    a.work.mkdir(parents=True, exist_ok=True)
    shipped, base = shipped_args()
    machine = _machine(a.device)
    print(f"machine: {machine}", flush=True)
    print(f"shipped command: {shipped}", flush=True)
    cache = a.work / "cache"
    tok_s = _tokenize_once(a, cache)
    print(f"tokenized {a.train} into {cache} in {tok_s:.1f}s", flush=True)
    threads = max(1, (os.cpu_count() or 1) // len(names))
    procs = {n: _launch(a, n, base, cache, threads) for n in names}
    started = {n: time.monotonic() for n in names}
    ended: dict[str, float] = {}
    setup: dict[str, float] = {}
    gpu_samples: list[str] = []
    last_print = 0.0
    while True:
        now = time.monotonic()
        for n, proc in procs.items():
            if n not in setup and (a.work / n / "logs" / "rank0.jsonl").is_file():
                setup[n] = now - started[n]
            if n not in ended and proc.poll() is not None:
                ended[n] = now
        if len(ended) == len(procs) or now - t_start > a.budget_s:
            break
        if now - last_print >= 30:
            gpu = _gpu_sample()
            if gpu is not None:
                gpu_samples.append(f"{now - t_start:.0f}s {gpu}")
            print(_progress_line(a, names, now - t_start) + (f" | GPU {gpu}" if gpu else ""), flush=True)
            last_print = now
        time.sleep(2)
    stopped = _stop(procs)
    for n in stopped:
        ended[n] = time.monotonic()
    if stopped:
        print(f"budget of {a.budget_s:.0f}s reached: stopped {', '.join(stopped)}", flush=True)
    results = []
    for n in names:
        rc = procs[n].returncode
        res = _result(a, n, None if n in stopped else rc, n in stopped, ended[n] - started[n], setup.get(n))
        res["machine"] = machine
        res["shipped_command"] = shipped
        res["tokenize_once_s"] = round(tok_s, 1)
        res["parallel_runs"] = len(names)
        res["threads_per_run"] = threads
        (a.out / f"{n}.json").write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
        results.append(res)
    table = _table(results)
    summary = {
        "machine": machine,
        "shipped_command": shipped,
        "budget_s": a.budget_s,
        "total_s": round(time.monotonic() - t_start, 1),
        "table": table.splitlines(),
        "gpu_utilization_memory": gpu_samples,  # every 30 s while training
        "runs": {
            r["name"]: {k: r.get(k) for k in ("finished", "epochs_run", "best_epoch", "imdb_dev_accuracy")}
            | {"challenge_dev": (r.get("challenge_dev") or {}).get("accuracy")}
            for r in results
        },
    }
    (a.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(table, flush=True)
    print(f"total {summary['total_s']}s; results in {a.out}", flush=True)
    bad = [r["name"] for r in results if "error" in r]
    for r in results:
        if "error" in r:
            print(f"{r['name']}: {r['error']}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
