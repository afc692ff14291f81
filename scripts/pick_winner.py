"""Issue 17: pick the sweep's winner by a rule fixed before its results were seen, then evaluate
that one model, once, on the held-out data.

    PYTHONPATH=$PWD python3 scripts/pick_winner.py --sweep "$OUT" --work runs/sweep_behaviour --out "$OUT"

The rule (dev data only; ``--rule challenge``, the default): among the runs of \
``scripts/sweep_behaviour.py`` that saved a model, keep
those whose IMDB dev accuracy is at least the baseline's minus ``--dev-slack`` (0.003: the shipped
command must not be traded for a worse IMDB model); the winner has the highest accuracy on the
challenge set's dev half, ties broken by IMDB dev accuracy. The baseline wins if nothing beats it.

``--rule behaviour`` (fixed before the fifth sweep): the same floor, then the highest sum of the
challenge dev accuracy and one minus the mean MFT failure rate of the capabilities the shipped model
fails (negation, verdict, temporal; ``han-explorer check --json`` of each run, in ``SWEEP/checks/
<run>.json``), ties broken by IMDB dev accuracy. The challenge dev half alone (82 reviews) moved by
0.2 between initialisations; the suite's 1,200 MFT cases weigh as much. ``--baseline-dev`` gives the
baseline's IMDB dev accuracy when the sweep did not retrain it (the shipped command, retrained on the
same dev split: 0.9264 in the first sweep).

``--rule behaviour-all`` (fixed before the eighth sweep, run with ``--dev-slack 0``): as
``behaviour``, but the MFT failure is the mean over all four MFT capabilities, vocabulary included
(since the seventh session the suite tests feeling verbs, "I loathe it.", which judgement training
made worse). The floor is the baseline's dev accuracy itself: judgement models 0.0015-0.003 under
it scored 0.0068-0.0138 under the shipped model on IMDB test.

``--rule targets`` (fixed before the tenth sweep, run with ``--dev-slack 0``): as ``behaviour-all``,
but a run must also meet, on the suite, every behaviour target the issue sets for the shipped model:
each MFT capability at most 10% failures (its cases pooled) and each INV test at most 5% flips. The
ninth sweep's winner missed two MFT targets and was still evaluated on held-out data; under this rule
only a run that could ship is.

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


BEHAVIOUR_CAPABILITIES = ("negation", "verdict", "temporal")
ALL_MFT_CAPABILITIES = ("vocabulary", *BEHAVIOUR_CAPABILITIES)
RULES = {
    "challenge": (),
    "behaviour": BEHAVIOUR_CAPABILITIES,
    "behaviour-all": ALL_MFT_CAPABILITIES,
    "targets": ALL_MFT_CAPABILITIES,
}
MFT_TARGET, INV_TARGET = 0.10, 0.05  # the targets for the shipped model


def missed_targets(check: dict[str, Any]) -> list[str]:
    """The behaviour targets ``check`` misses: each MFT capability over 10% failures (its tests'
    cases pooled), each INV test over 5% flips; as "capability MFT 0.123" or "capability: test INV 0.06"."""
    missed = []
    for cap in dict.fromkeys(t["capability"] for t in check["tests"] if t["type"] == "MFT"):
        rate = mft_failure(check, (cap,))
        if rate > MFT_TARGET:
            missed.append(f"{cap} MFT {rate:.3f}")
    missed += [
        f"{t['capability']}: {t['name']} INV {t['failure_rate']:.3f}"
        for t in check["tests"]
        if t["type"] == "INV" and t["failure_rate"] > INV_TARGET
    ]
    return missed


def mft_failure(check: dict[str, Any], capabilities: tuple[str, ...] = BEHAVIOUR_CAPABILITIES) -> float:
    """Mean over ``capabilities`` of each one's MFT failure rate (its failing cases over its cases)."""
    rates = []
    for cap in capabilities:
        tests = [t for t in check["tests"] if t["capability"] == cap and t["type"] == "MFT"]
        if not tests:
            raise SystemExit(f"the check has no MFT test of {cap}")
        rates.append(sum(t["failure_rate"] * t["n"] for t in tests) / sum(t["n"] for t in tests))
    return sum(rates) / len(rates)


def choose(
    results: list[dict[str, Any]], slack: float, rule: str = "challenge", baseline_dev: float | None = None
) -> tuple[str, str]:
    """(winner, why) by the rule in this module's docstring. A ``behaviour`` rule reads each run's
    ``check`` (its ``han-explorer check --json``); runs without one are not eligible."""
    scored = [r for r in results if r.get("challenge_dev") and r.get("imdb_dev_accuracy") is not None]
    base = next((r for r in scored if r["name"] == "baseline"), None)
    if base is None and baseline_dev is None:
        raise SystemExit("the sweep has no scored baseline run: nothing to compare with")
    base_dev = base["imdb_dev_accuracy"] if base is not None else baseline_dev
    assert base_dev is not None
    floor = base_dev - slack
    eligible = [r for r in scored if r["imdb_dev_accuracy"] >= floor]
    caps = RULES[rule]
    if caps:
        eligible = [r for r in eligible if r.get("check")]
    if rule == "targets":
        eligible = [r for r in eligible if not missed_targets(r["check"])]
    if not eligible:
        raise SystemExit(
            f"no run has IMDB dev >= {floor:.4f}"
            + (" and meets every behaviour target" if rule == "targets" else " and a check" if caps else "")
        )

    def score(r: dict[str, Any]) -> float:
        acc = float(r["challenge_dev"]["accuracy"])
        return acc + 1 - mft_failure(r["check"], caps) if caps else acc

    best = max(eligible, key=lambda r: (score(r), r["imdb_dev_accuracy"]))
    why = f"IMDB dev >= {floor:.4f} (baseline {base_dev:.4f} - {slack}); "
    if caps:
        why += (
            f"highest challenge dev + 1 - MFT failure ({', '.join(caps)}) {score(best):.3f} (challenge dev "
            f"{best['challenge_dev']['accuracy']:.3f}, MFT failure {mft_failure(best['check'], caps):.3f}); "
            + "; ".join(f"{r['name']} {score(r):.3f}" for r in eligible)
        )
    else:
        why += (
            f"highest challenge dev {best['challenge_dev']['accuracy']:.3f}"
            + (f" (baseline {base['challenge_dev']['accuracy']:.3f})" if base is not None else "")
            + f"; eligible: {', '.join(r['name'] for r in eligible)}"
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
    p.add_argument("--rule", choices=list(RULES), default="challenge")
    p.add_argument(
        "--baseline-dev", type=float, default=None, help="the baseline's IMDB dev, if not retrained"
    )
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
    for r in results:
        check = a.sweep / "checks" / f"{r['name']}.json"
        if check.is_file() and "earlier" not in r:
            r["check"] = json.loads(check.read_text(encoding="utf-8"))
    winner, why = choose(results, a.dev_slack, a.rule, a.baseline_dev)
    print(f"winner: {winner} ({why})", flush=True)
    rule = __doc__.split("\n\n")[2 + list(RULES).index(a.rule)]  # the docstring gives the rules in order
    report: dict[str, Any] = {"rule": rule, "winner": winner, "why": why, "runs": {}}
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
