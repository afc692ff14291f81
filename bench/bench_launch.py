"""What a user waits for at launch: the window, the first review shaded, and ``--screenshot``.

    .venv/bin/python bench/bench_launch.py                          # this code only
    .venv/bin/python bench/bench_launch.py --base /tmp/base         # and an older commit, same run
    .venv/bin/python bench/bench_launch.py --quick --out /tmp/bench

Launch, under a real X server: an Xvfb (1920x1200) is started for the run and the app runs on
Qt's xcb platform, with an empty HOME (first launch: the shipped model, no saved window). Each
launch is a fresh process (``bench/_launch_probe.py``), timed from just before the process is
started (the parent's clock) to

* ``window_s``: the main window's first frame painted and flushed to the X server, after its
  first Expose event (what the user sees: not merely a mapped, empty window);
* ``scored_s``: the sample review scored and every word shaded in the Attention view.

One launch of each code first warms the file cache and is not counted; then ``--runs`` launches
alternate between the codes. Targets (warm): window < 0.8 s, scored < 2.0 s.

Screenshot: ``han-explorer --screenshot OUT.png --view V`` for every view, as a fresh process
(offscreen Qt), timed end to end. Target: < 2.5 s for each view.

``--base DIR`` runs the same measurements on the code in DIR (``git archive`` or a worktree of
an older commit), with the same interpreter, in the same run, so ratios compare like with like.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, machine_info, print_table, summarize, utc_now, write_result

TARGETS = {"window_s": 0.8, "scored_s": 2.0, "screenshot_s": 2.5}
PROBE = Path(__file__).with_name("_launch_probe.py")


def launch(code: Path, env: dict[str, str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        out = Path(home) / "times.json"
        run_env = {**env, "HOME": home, "XDG_CONFIG_HOME": home, "QT_QPA_PLATFORM": "xcb"}
        t0 = time.time()
        done = subprocess.run(
            [sys.executable, str(PROBE), str(code), str(out)],
            cwd=code,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"launch of {code} failed: {done.stderr.strip()[-500:]}")
        times = json.loads(out.read_text(encoding="utf-8"))
    if Path(times["code"]).resolve() != code.resolve():
        raise RuntimeError(f"the probe ran {times['code']}, not {code}")
    return {
        "interpreter_s": round(times["probe_start"] - t0, 3),
        "window_s": round(times["frame"] - t0, 3),
        "expose_s": round(times["expose"] - t0, 3),
        "scored_s": round(times["scored"] - t0, 3) if "scored" in times else float("nan"),
    }


def screenshot(code: Path, view: str, env: dict[str, str], folder: Path) -> float:
    out = folder / f"{view}.png"
    run_env = {**env, "HOME": str(folder), "XDG_CONFIG_HOME": str(folder), "PYTHONPATH": str(code)}
    run_env.pop("DISPLAY", None)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "--screenshot", str(out), "--view", view],
        cwd=code,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    seconds = time.perf_counter() - t0
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"screenshot of {view} with {code} failed: {done.stderr.strip()[-500:]}")
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="launches per code, after one to warm up")
    ap.add_argument("--shots", type=int, default=3, help="screenshots per view and code")
    ap.add_argument("--base", default=None, metavar="DIR", help="also measure the code in DIR")
    ap.add_argument("--quick", action="store_true", help="2 launches, 1 screenshot per view")
    ap.add_argument("--out", default=None, help="folder for the JSON (default bench/results)")
    a = ap.parse_args()
    runs, shots = (2, 1) if a.quick else (a.runs, a.shots)
    from app._platform import start_xvfb
    from app.explorers import explorer_names

    started, machine = utc_now(), machine_info()

    def _views(code: Path) -> str:
        explorers = code / "app" / "explorers.py"
        return explorers.read_text(encoding="utf-8") if explorers.exists() else ""

    codes = {"this": ROOT} | ({"base": Path(a.base).resolve()} if a.base else {})
    xvfb, display = start_xvfb(1920, 1200)
    env = {**os.environ, "DISPLAY": display}
    env.pop("QT_QPA_PLATFORM", None)
    launches: dict[str, list[dict[str, float]]] = {k: [] for k in codes}
    shot_s: dict[str, dict[str, list[float]]] = {k: {v: [] for v in explorer_names()} for k in codes}
    try:
        for code in codes.values():
            launch(code, env)  # warm the file cache
        for _ in range(runs):
            for name, code in codes.items():
                launches[name].append(launch(code, env))
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(shots):
                for name, code in codes.items():
                    for view in explorer_names():
                        if name != "this" and f'ExplorerSpec("{view}"' not in _views(code):
                            continue  # an older commit without this explorer
                        shot_s[name][view].append(round(screenshot(code, view, env, Path(tmp)), 3))
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    figures: dict[str, Any] = {}
    for name in codes:
        keys = ("interpreter_s", "expose_s", "window_s", "scored_s")
        figures[name] = {
            "launch": {k: summarize([r[k] for r in launches[name]]) for k in keys},
            "launch_raw": launches[name],
            "screenshot_s": {v: summarize(xs) for v, xs in shot_s[name].items()},
        }
    this = figures["this"]
    targets = {
        "window_s_p50": {"target": TARGETS["window_s"], "value": this["launch"]["window_s"]["p50"]},
        "scored_s_p50": {"target": TARGETS["scored_s"], "value": this["launch"]["scored_s"]["p50"]},
    } | {
        f"screenshot_{v}_s_p50": {"target": TARGETS["screenshot_s"], "value": s["p50"]}
        for v, s in this["screenshot_s"].items()
    }
    for t in targets.values():
        t["met"] = t["value"] is not None and t["value"] < t["target"]
    payload: dict[str, Any] = {
        "description": "launch to first frame and to the shaded review (xcb on Xvfb), and --screenshot "
        "per view (offscreen), as fresh processes; 'base' is the older code in the same run",
        "settings": {"runs": runs, "shots": shots, "quick": a.quick, "base": a.base},
        "figures": figures,
        "targets": targets,
    }
    if "base" in figures:
        b = figures["base"]
        payload["ratios_base_over_this"] = {
            "window_s_p50": round(b["launch"]["window_s"]["p50"] / this["launch"]["window_s"]["p50"], 2),
            "scored_s_p50": round(b["launch"]["scored_s"]["p50"] / this["launch"]["scored_s"]["p50"], 2),
        } | {
            f"screenshot_{v}_s_p50": round(b["screenshot_s"][v]["p50"] / s["p50"], 2)
            for v, s in this["screenshot_s"].items()
            if b["screenshot_s"][v]["p50"] is not None  # a view the older code does not have
        }
    if a.quick:
        payload["note"] = "--quick: checks that the script works; do not quote"
    path = write_result("launch", payload, a.out, started, machine)
    rows = []
    for name, f in figures.items():
        rows.append(
            [name, "window (first frame)", f["launch"]["window_s"]["p50"], f["launch"]["window_s"]["p90"]]
        )
        rows.append(
            [name, "review scored + shaded", f["launch"]["scored_s"]["p50"], f["launch"]["scored_s"]["p90"]]
        )
        for v, s in f["screenshot_s"].items():
            rows.append([name, f"--screenshot --view {v}", s["p50"], s["max"]])
    print_table(rows, ["code", "s", "p50", "p90/max"])
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
