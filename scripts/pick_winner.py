"""Issue 17: pick the sweep's winner by a rule fixed before its results were seen, then evaluate
that one model, once, on the held-out data.

    PYTHONPATH=$PWD python3 scripts/pick_winner.py --sweep "$OUT" --work runs/sweep_behaviour --out "$OUT"

The rule (dev data only): among the runs of ``scripts/sweep_behaviour.py`` that saved a model, keep
those whose IMDB dev accuracy is at least the baseline's minus ``--dev-slack`` (0.003: the shipped
command must not be traded for a worse IMDB model); the winner has the highest accuracy on the
challenge set's dev half, ties broken by IMDB dev accuracy. The baseline wins if nothing beats it.

Then, for the winner only (and the baseline, whose figures the winner is compared with): IMDB test
accuracy, the challenge test half by tag, and review polarity (transfer; never trained or tuned
on). The winner's model folder is copied to ``OUT/winner/`` with ``test_accuracy`` and
``test_evaluation`` written into its model.json, as the shipped model's are.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def choose(results: list[dict[str, Any]], slack: float) -> tuple[str, str]:
    """(winner, why) by the rule in this module's docstring."""
    scored = [r for r in results if r.get("challenge_dev") and r.get("imdb_dev_accuracy") is not None]
    base = next((r for r in scored if r["name"] == "baseline"), None)
    if base is None:
        raise SystemExit("the sweep has no scored baseline run: nothing to compare with")
    floor = base["imdb_dev_accuracy"] - slack
    eligible = [r for r in scored if r["imdb_dev_accuracy"] >= floor]
    best = max(eligible, key=lambda r: (r["challenge_dev"]["accuracy"], r["imdb_dev_accuracy"]))
    why = (
        f"IMDB dev >= {floor:.4f} (baseline {base['imdb_dev_accuracy']:.4f} - {slack}); "
        f"highest challenge dev {best['challenge_dev']['accuracy']:.3f} "
        f"(baseline {base['challenge_dev']['accuracy']:.3f}); "
        f"eligible: {', '.join(r['name'] for r in eligible)}"
    )
    return best["name"], why


def evaluate(model_dir: Path, device: str, imdb_test: Path, polarity: Path) -> dict[str, Any]:
    from engine.bundle import load_bundle
    from engine.challenge import load_challenge, score_challenge
    from engine.data import load_dataset
    from engine.evaluate import evaluate as evaluate_dataset

    bundle = load_bundle(model_dir, device)
    out: dict[str, Any] = {}
    t = time.perf_counter()
    ds = load_dataset(imdb_test, label_names=bundle.label_names)
    out["imdb_test"] = evaluate_dataset(bundle, ds, batch_size=512) | {"data": str(imdb_test)}
    out["imdb_test_seconds"] = round(time.perf_counter() - t, 1)
    out["challenge_test"] = score_challenge(bundle, load_challenge(split="test")).to_dict()
    if polarity.is_file():
        pol = load_dataset(polarity, label_names=bundle.label_names)
        out["review_polarity"] = evaluate_dataset(bundle, pol, batch_size=64) | {"data": str(polarity)}
    return out


def _runs(folder: Path) -> list[dict[str, Any]]:
    return [
        json.loads(f.read_text(encoding="utf-8"))
        for f in sorted(folder.glob("*.json"))
        if f.name not in ("summary.json", "winner.json")
    ]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sweep", type=Path, required=True, help="the sweep's output folder (<run>.json)")
    p.add_argument("--work", type=Path, default=Path("runs/sweep_behaviour"), help="the sweep's runs")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--device", default="cuda")
    p.add_argument("--dev-slack", type=float, default=0.003)
    p.add_argument("--imdb-test", type=Path, default=Path(".data/test.jsonl.gz"))
    p.add_argument("--polarity", type=Path, default=Path(".data/polarity.jsonl.gz"))
    p.add_argument(
        "--earlier",
        type=Path,
        action="append",
        default=[],
        help="an earlier sweep's output folder on the same dev split: its runs compete too (their models "
        "may be gone: an earlier winner is reported, not evaluated again); a baseline may come from here",
    )
    a = p.parse_args()
    sys.path.insert(0, str(ROOT))
    from engine.atomic import write_text

    results = _runs(a.sweep)
    names = {r["name"] for r in results}
    for folder in a.earlier:
        results += [r | {"earlier": str(folder)} for r in _runs(folder) if r["name"] not in names]
        names = {r["name"] for r in results}
    winner, why = choose(results, a.dev_slack)
    print(f"winner: {winner} ({why})", flush=True)
    report: dict[str, Any] = {"rule": __doc__.split("\n\n")[2], "winner": winner, "why": why, "runs": {}}
    report["earlier"] = [str(f) for f in a.earlier]
    if not (a.work / winner / "model").is_dir():
        print(f"{winner} is a run of an earlier sweep: its held-out figures are in that sweep's record")
        write_text(a.out / "winner.json", json.dumps(report, indent=1) + "\n")
        return 0
    for name in dict.fromkeys(["baseline", winner]):
        if not (a.work / name / "model").is_dir():
            continue  # a baseline from an earlier sweep: evaluated there
        report["runs"][name] = evaluate(a.work / name / "model", a.device, a.imdb_test, a.polarity)
        r = report["runs"][name]
        print(
            f"{name}: IMDB test {r['imdb_test']['accuracy']:.4f}, challenge test "
            f"{r['challenge_test']['accuracy']:.3f}, polarity "
            f"{r.get('review_polarity', {}).get('accuracy', float('nan')):.4f}",
            flush=True,
        )
    dest = a.out / "winner"
    shutil.copytree(a.work / winner / "model", dest, dirs_exist_ok=True)
    from engine.bundle import update_metadata

    test = report["runs"][winner]["imdb_test"]
    update_metadata(dest, test_accuracy=test["accuracy"], test_evaluation=test)
    write_text(a.out / "winner.json", json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
