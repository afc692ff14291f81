"""A model's accuracy on the challenge set (resources/challenge), by tag and by label, recorded.

    python bench/bench_challenge.py [--model DIR] [--split dev|test] [--device cpu|cuda] [--out DIR]

The default is the shipped model on the **dev** half. The test half is for the final model only,
once (resources/challenge/README.md); ``--split test`` says so in the record.
"""

from __future__ import annotations

import argparse
import time

from _common import machine_info, print_table, utc_now, write_result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--split", choices=["dev", "test"], default="dev")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default=None, help="results folder (default bench/results)")
    a = p.parse_args()
    started, machine = utc_now(), machine_info()

    import resources
    from engine.bundle import load_bundle
    from engine.challenge import SEED, default_path, load_challenge, score_challenge

    model = a.model or str(resources.model_dir())
    bundle = load_bundle(model, a.device)
    reviews = load_challenge(split=a.split)
    t0 = time.perf_counter()
    result = score_challenge(bundle, reviews).to_dict()
    seconds = time.perf_counter() - t0
    rows = [["all", f"{result['accuracy']:.3f}", f"{result['correct']}/{result['n']}"]]
    for group in ("by_tag", "by_label"):
        rows += [[k, f"{v['accuracy']:.3f}", f"{v['correct']}/{v['n']}"] for k, v in result[group].items()]
    print_table(rows, ["reviews", "accuracy", "right"])
    path = write_result(
        f"challenge-{a.split}",
        {
            "settings": {"model": model, "split": a.split, "device": a.device, "split_seed": SEED},
            "model_command": bundle.metadata.get("command"),
            "challenge_file": str(default_path().relative_to(resources.path(".").parent)),
            "note": "test half: the final model's one evaluation" if a.split == "test" else "dev half",
            "score_s": round(seconds, 3),
            "result": result,
        },
        a.out,
        started,
        machine,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
