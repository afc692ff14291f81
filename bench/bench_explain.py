"""Explanations: latency of integrated gradients and leave-one-out, and a study of what attention agrees with.

    .venv/bin/python bench/bench_explain.py latency                  # ~500-word review, result JSON
    .venv/bin/python bench/bench_explain.py study --n 1000           # IMDB test sample, resumable
    .venv/bin/python bench/bench_explain.py study --n 200 --figure docs/explain-agreement.png

``latency``: a ~500-word review (IMDB test reviews joined in file order, cut at the sentence end where
the model's word count first reaches 500). ``explain(..., "ig", steps=50)`` and ``explain(...,
"occlusion")``: 2 warm-up calls, then N timed calls (N=7; 3 with --quick). Also IG at 8, 16 and 32
steps with its completeness gap, so a default can be chosen from time against accuracy.
Targets: p50 of IG (50 steps) < 1 s, of leave-one-out < 0.5 s.

``study``: a seeded stratified random sample of the IMDB test set (``--n`` reviews, half of each
label, interleaved so that every prefix is stratified too). For each review, with the shipped model
and the predicted class: IG (50 steps) and its completeness gap, leave-one-out, and the agreement of
attention with each (:func:`engine.explain.agreement`), plus the rank correlation of the two
attributions with each other (how far the two methods agree). Each review's record is appended to
``--cache`` (JSON lines) as soon as it is done, so a stopped run resumes where it stopped. The
summary (quantiles) goes to bench/results; ``--figure`` draws the distributions.

Threads: ``--threads 1`` by default. On this shared two-core machine two OpenMP threads made every
elementwise op ~50x slower whenever another process held a core.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _common import IMDB, ROOT, machine_info, print_table, summarize, utc_now, write_result

TARGETS_S = {"ig_50_steps_p50": 1.0, "occlusion_p50": 0.5}
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _setup(a: argparse.Namespace) -> Any:

    import resources
    from engine.bundle import load_bundle

    return load_bundle(a.model or resources.model_dir(), a.device)


def _text_of_words(path: Path, target: int) -> str:
    """IMDB reviews joined in file order, cut at the first sentence end with >= target model words."""
    from engine.analyze import read_document

    text = ""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            text += json.loads(line)["text"] + "<br /><br />"
            doc = read_document(text)
            if doc.n_tokens >= target:
                total = 0
                for s in doc.sentences:
                    total += len(s.tokens)
                    if total >= target:
                        return text[: s.end]
    raise SystemExit(f"{path} holds fewer than {target} words")


def _timed(fn: Any, n: int, warmup: int = 2) -> tuple[list[float], Any]:
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return times, result


def latency(a: argparse.Namespace) -> dict[str, Any]:
    from engine.explain import explain

    bundle = _setup(a)
    text = _text_of_words(Path(a.data), a.words)
    n = 3 if a.quick else 7
    ig_times, ig = _timed(lambda: explain(bundle, text, "ig", steps=50), n)
    occ_times, _ = _timed(lambda: explain(bundle, text, "occlusion"), n)
    words = sum(len(s) for s in ig.words[0])
    sweep = []
    for steps in (8, 16, 32):
        times, r = _timed(lambda steps=steps: explain(bundle, text, "ig", steps=steps), 3, warmup=1)
        sweep.append(
            {"steps": steps, "seconds": summarize(times), "completeness_gap": max(r.completeness_gap)}
        )
    sweep.append({"steps": 50, "seconds": summarize(ig_times), "completeness_gap": max(ig.completeness_gap)})
    ig_p50 = summarize(ig_times)["p50"]
    occ_p50 = summarize(occ_times)["p50"]
    rows = [[f"IG, {s['steps']} steps", s["seconds"]["p50"], f"{s['completeness_gap']:.2e}"] for s in sweep]
    rows.append(["leave-one-out", occ_p50, "-"])
    print_table(rows, [f"{words}-word review, {a.device}, threads={a.threads}", "p50 s", "gap"])
    return {
        "text_words": words,
        "text_sentences": len(ig.words[0]),
        "ig_seconds": summarize(ig_times) | {"raw": [round(t, 4) for t in ig_times]},
        "occlusion_seconds": summarize(occ_times) | {"raw": [round(t, 4) for t in occ_times]},
        "ig_steps_sweep": sweep,
        "targets_s": TARGETS_S,
        "met": {"ig_50_steps_p50": ig_p50 < TARGETS_S["ig_50_steps_p50"], "occlusion_p50": occ_p50 < 0.5},
    }


def stratified_sample(path: Path, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` rows, half of each label, drawn with ``random.Random(seed)``, labels interleaved."""
    by_label: dict[str, list[dict[str, Any]]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            by_label.setdefault(str(row["label"]), []).append(row)
    rng = random.Random(seed)
    labels = sorted(by_label)
    per = -(-n // len(labels))
    picks = {k: rng.sample(by_label[k], per) for k in labels}
    return [picks[k][i] for i in range(per) for k in labels][:n]


def _one(bundle: Any, row: dict[str, Any], steps: int) -> dict[str, Any]:
    import numpy as np

    from engine.analyze import analyze
    from engine.explain import agreement, explain, spearman

    analysis = analyze(bundle, row["text"])
    label = analysis.label
    t = time.perf_counter()
    ig = explain(bundle, row["text"], "ig", steps=steps)
    t_ig = time.perf_counter() - t
    t = time.perf_counter()
    occ = explain(bundle, row["text"], "occlusion")
    t_occ = time.perf_counter() - t
    c = bundle.label_names.index(label)
    ig_words = np.abs(np.concatenate(ig.for_label(label)[0]))
    occ_words = np.abs(np.concatenate(occ.for_label(label)[0]))
    n_words = len(ig_words)
    return {
        "id": row["id"],
        "label": row["label"],
        "predicted": label,
        "p": analysis.probabilities[label],
        "words": n_words,
        "sentences": len(analysis.sentences),
        "ig_gap": ig.completeness_gap[c],
        "ig_seconds": round(t_ig, 4),
        "occlusion_seconds": round(t_occ, 4),
        "ig": agreement(analysis, ig, label).to_dict(),
        "occlusion": agreement(analysis, occ, label).to_dict(),
        "ig_vs_occlusion_spearman_words": _none_if_nan(spearman(ig_words, occ_words)),
        "chance_topk_words": min(5, n_words) / n_words,
    }


def _none_if_nan(x: float) -> float | None:
    return None if math.isnan(x) else x


def _quantiles(values: list[float]) -> dict[str, Any]:
    xs = sorted(v for v in values if v is not None)
    if not xs:
        return {"n": 0}

    def q(p: float) -> float:
        pos = (len(xs) - 1) * p
        lo, hi = math.floor(pos), math.ceil(pos)
        return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)

    return {"n": len(xs), "mean": statistics.fmean(xs), "max": xs[-1], "min": xs[0]} | {
        f"q{round(p * 100):02d}": q(p) for p in QUANTILES
    }


def summarize_study(records: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "reviews": len(records),
        "accuracy": statistics.fmean(r["predicted"] == r["label"] for r in records),
        "words": _quantiles([r["words"] for r in records]),
        "ig_completeness_gap": _quantiles([r["ig_gap"] for r in records]),
        "ig_seconds": _quantiles([r["ig_seconds"] for r in records]),
        "occlusion_seconds": _quantiles([r["occlusion_seconds"] for r in records]),
        "ig_vs_occlusion_spearman_words": _quantiles([r["ig_vs_occlusion_spearman_words"] for r in records]),
        "chance_topk_words": _quantiles([r["chance_topk_words"] for r in records]),
    }
    for method in ("ig", "occlusion"):
        out[f"attention_vs_{method}"] = {
            metric: _quantiles([r[method][metric] for r in records])
            for metric in ("spearman_words", "spearman_sentences", "topk_words")
        }
    return out


def study(a: argparse.Namespace) -> dict[str, Any]:
    bundle = _setup(a)
    sample = stratified_sample(Path(a.data), a.n, a.seed)[: a.limit]
    cache = Path(a.cache or ROOT / "runs" / f"explain-study-seed{a.seed}-{a.device}.jsonl")
    cache.parent.mkdir(parents=True, exist_ok=True)
    done: dict[str, dict[str, Any]] = {}
    if cache.exists():
        for line in cache.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a kill: that review runs again
                continue
            done[rec["id"]] = rec
    started = time.perf_counter()
    with cache.open("a", encoding="utf-8") as f:
        for k, row in enumerate(sample):
            if row["id"] in done:
                continue
            rec = _one(bundle, row, a.steps)
            done[row["id"]] = rec
            f.write(json.dumps(rec) + "\n")
            f.flush()
            if (k + 1) % 20 == 0:
                rate = (time.perf_counter() - started) / max(
                    1, sum(1 for r in sample[: k + 1] if r["id"] in done)
                )
                print(f"{k + 1}/{len(sample)} reviews ({rate:.2f} s each)", file=sys.stderr)
    records = [done[row["id"]] for row in sample]
    summary = summarize_study(records)
    for method in ("ig", "occlusion"):
        s = summary[f"attention_vs_{method}"]
        print(
            f"attention vs {method}: Spearman (words) median {s['spearman_words']['q50']:.3f}, "
            f"top-5 overlap mean {s['topk_words']['mean']:.3f}"
        )
    gap = summary["ig_completeness_gap"]
    print(f"IG completeness gap: median {gap['q50']:.2e}, q95 {gap['q95']:.2e}, max {gap['max']:.2e}")
    if a.figure:
        figure(records, Path(a.figure))
        print(f"wrote {a.figure}")
    return {
        "seed": a.seed,
        "steps": a.steps,
        "sample": f"first {len(sample)} of a stratified random sample of {a.n} IMDB test reviews",
        "summary": summary,
    }


def figure(records: list[dict[str, Any]], path: Path) -> None:
    """Distributions of the agreement, per document: rank correlation and top-5 overlap."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from engine.atomic import write_bytes

    # Okabe-Ito colours: distinguishable with every common colour-vision deficiency
    colours = {"ig": "#0072B2", "occlusion": "#E69F00", "both": "#009E73"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 3.8), dpi=110)
    bins = [x / 20 for x in range(-20, 21)]
    series = [
        ("attention vs IG", [r["ig"]["spearman_words"] for r in records], colours["ig"]),
        (
            "attention vs leave-one-out",
            [r["occlusion"]["spearman_words"] for r in records],
            colours["occlusion"],
        ),
        ("IG vs leave-one-out", [r["ig_vs_occlusion_spearman_words"] for r in records], colours["both"]),
    ]
    for name, values, colour in series:
        xs = [v for v in values if v is not None]
        left.hist(
            xs,
            bins=bins,
            histtype="step",
            linewidth=1.8,
            color=colour,
            label=f"{name} (median {statistics.median(xs):.2f})",
        )
    left.axvline(0, color="#555555", linewidth=0.8)
    left.set_xlabel("Spearman rank correlation over a review's words (|attribution|)")
    left.set_ylabel("reviews")
    left.legend(fontsize=8, loc="upper left", frameon=False)
    steps = [k / 5 for k in range(6)]
    width = 0.06
    for offset, (method, name) in zip(
        (-width / 2, width / 2), (("ig", "IG"), ("occlusion", "leave-one-out")), strict=True
    ):
        values = [r[method]["topk_words"] for r in records]
        counts = [sum(1 for v in values if abs(v - s) < 1e-9) for s in steps]
        right.bar(
            [s + offset for s in steps],
            counts,
            width=width,
            color=colours[method],
            label=f"{name} (mean {statistics.fmean(values):.2f})",
        )
    right.set_ylim(0, right.get_ylim()[1] * 1.25)  # room for the legend above the bars
    chance = statistics.fmean(r["chance_topk_words"] for r in records)
    right.axvline(chance, color="#555555", linestyle="--", linewidth=1)
    right.text(
        chance + 0.01, right.get_ylim()[1] * 0.92, f"chance ≈ {chance:.2f}", fontsize=8, color="#333333"
    )
    right.set_xticks(steps)
    right.set_xlabel("top-5 overlap: |top 5 by attention ∩ top 5 by |attribution|| / 5")
    right.set_ylabel("reviews")
    right.legend(fontsize=8, frameon=False, loc="upper right")
    fig.suptitle(
        f"What the shipped HAN's attention agrees with: {len(records)} IMDB test reviews", fontsize=11
    )
    fig.tight_layout()
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, buffer.getvalue())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["latency", "study"])
    p.add_argument(
        "--data",
        default=str(IMDB / "test.jsonl.gz"),
        help="IMDB test reviews, gzip JSON lines (default: %(default)s)",
    )
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads(N) (default 1, see above)")
    p.add_argument("--quick", action="store_true", help="latency: 3 timed calls instead of 7")
    p.add_argument("--words", type=int, default=500, help="latency: the review's length in model words")
    p.add_argument("--n", type=int, default=1000, help="study: reviews in the sample")
    p.add_argument(
        "--limit", type=int, default=None, help="study: only the first N of the sample (still stratified)"
    )
    p.add_argument("--seed", type=int, default=15, help="study: sampling seed")
    p.add_argument("--steps", type=int, default=50, help="study: IG steps")
    p.add_argument("--cache", default=None, help="study: JSON-lines file of finished reviews (resume)")
    p.add_argument("--figure", default=None, help="study: write the distributions as a PNG here")
    p.add_argument("--out", default=None, help="results folder (default bench/results)")
    a = p.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    started, machine = utc_now(), machine_info()
    payload = latency(a) if a.what == "latency" else study(a)
    payload = {"settings": {k: v for k, v in vars(a).items() if k != "out"}} | payload
    path = write_result(f"explain-{a.what}-{a.device}", payload, a.out, started, machine)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
