"""Issue 17: mix a model with its fine-tuned copy (``engine.soup``, WiSE-FT) and score the mixes on dev.

    PYTHONPATH=$PWD python3 scripts/interpolate_models.py --start resources/model \\
        --tuned runs/cpu/ft_judge20/model --alpha 0.3,0.5,0.7 --out runs/soup

For each ``alpha`` it writes ``OUT/a<alpha>/`` (refused where a model is there already, unless
``--force``) (the mixed weights, float16 embedding as shipped) whose
model.json keeps both models' records (``interpolated``: their folders, weight hashes, commands) and
the command that made it, and scores it on the **IMDB dev split** the tuned model was trained and
chosen on (its ``train_config``: data, seed, dev fraction; tokenized through its cache folder), the
accuracy written as the mix's ``dev_accuracy``. IMDB test and the challenge test half are not read
here: they are for the one model a fixed rule picks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _origin(directory: Path, meta: dict[str, object]) -> dict[str, object]:
    weights = directory / "model.safetensors"
    return {
        "path": str(directory),
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "command": meta.get("command"),
        "dev_accuracy": meta.get("dev_accuracy"),
        "test_accuracy": meta.get("test_accuracy"),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--start", type=Path, required=True, help="the model the fine-tuning started from")
    p.add_argument("--tuned", type=Path, required=True, help="its fine-tuned copy (train --init-model)")
    p.add_argument("--alpha", default="0.5", help="comma-separated weights of the tuned model, in [0, 1]")
    p.add_argument("--out", type=Path, required=True, help="folder for the mixes (OUT/a<alpha>)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-dev", action="store_true", help="do not score the mixes on IMDB dev")
    p.add_argument("--force", action="store_true", help="replace mixes already in OUT")
    a = p.parse_args()
    sys.path.insert(0, str(ROOT))
    import torch

    from engine.atomic import write_text
    from engine.bundle import load_bundle, save_bundle
    from engine.runs import RunDirError, check_model_dir
    from engine.soup import interpolate
    from engine.train import TrainConfig, _prepare, evaluate_docs

    alphas = [float(x) for x in a.alpha.split(",") if x.strip()]
    try:  # never over a model without --force, never over anything that is not a model
        for alpha in alphas:
            check_model_dir(a.out / f"a{alpha:g}", a.force)
    except RunDirError as e:
        p.error(str(e))
    start, tuned = load_bundle(a.start), load_bundle(a.tuned)
    command = "python3 scripts/interpolate_models.py " + shlex.join(sys.argv[1:])
    prep = None
    if not a.no_dev:
        cfg = TrainConfig(**{**tuned.metadata["train_config"], "out": "unused", "resume": False})
        for item in _prepare(cfg, tuned.vocab, tuned.limits):
            if not hasattr(item, "kind"):
                prep = item
        assert prep is not None
    origins = {"start": _origin(a.start, start.metadata), "tuned": _origin(a.tuned, tuned.metadata)}
    for alpha in alphas:
        t = time.perf_counter()
        mix = interpolate(start, tuned, alpha)
        dev = None
        if prep is not None:
            device = torch.device(a.device)
            right, n = evaluate_docs(mix.model, prep.dev_docs, prep.dev_labels, device, prep.limits)
            dev = right / n
        dropped = ("history", "test_accuracy", "test_evaluation")
        mix.metadata = {
            **{k: v for k, v in tuned.metadata.items() if k not in dropped},
            "dev_accuracy": dev,
            "test_accuracy": None,
            "command": command,
            "interpolated": {"alpha": alpha, **origins},
        }
        out = save_bundle(mix, a.out / f"a{alpha:g}", "float16")
        print(f"alpha {alpha:g}: IMDB dev {dev if dev is None else round(dev, 4)} -> {out} "
              f"({time.perf_counter() - t:.1f}s)", flush=True)  # fmt: skip
        write_text(a.out / f"a{alpha:g}.json", json.dumps({"alpha": alpha, "dev_accuracy": dev}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
