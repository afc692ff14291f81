#!/usr/bin/env bash
# Issue 17: one device call that runs a behaviour sweep, checks and picks its winner, and brings back
# every model (embedding in float16, so each fits the device's 16 MiB a file) and one results archive.
#
#   carry: .whl/sweep (wheels: syntok, regex, safetensors, tqdm, captum, vaderSentiment) and .data
#   (train.jsonl.gz, test.jsonl.gz, polarity.jsonl.gz; for sweep 11 also teachers/*.safetensors, README)
#   RUNS=retro_op40_t30_ema998_p10_i4,retro_op40_t30_ema998_p10_i5,retro_op40_t30_ema998_p10_i6,retro_op40_t30_ema998_p10_i7 \
#     RULE=targets SLACK=0 BUDGET=370 bash scripts/device_sweep_behaviour.sh
#
# BUDGET (seconds, default 380) stops runs still training; keep the whole call under 600 s.
set -x
python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/sweep/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
R=$OUT/r
mkdir -p "$R/sweep/checks" "$R/probe"
nvidia-smi --query-gpu=name,memory.total --format=csv > "$R/gpu.txt"
python3 scripts/sweep_behaviour.py --out "$R/sweep" --work runs/j --budget-s "${BUDGET:-380}" \
  --only "${RUNS:?name the runs}" > "$R/sweep.log" 2>&1
for d in runs/j/*/; do
  n=$(basename "$d"); [ -d "$d/model" ] || continue
  python3 -m app.cli check --model "$d/model" --device cuda --json > "$R/sweep/checks/$n.json" 2> "$R/sweep/checks/$n.err"
  cp "$d/model/model.json" "$R/probe/$n.model.json"
done
python3 scripts/pick_winner.py --sweep "$R/sweep" --work runs/j --out "$R" --rule "${RULE:-behaviour-all}" \
  --dev-slack "${SLACK:-0}" --baseline-dev "${BASELINE_DEV:-0.9264}" > "$R/pick.log" 2>&1
for d in runs/j/*/; do
  n=$(basename "$d"); [ -d "$d/model" ] || continue
  python3 -c "import sys; from engine.bundle import load_bundle, save_bundle; save_bundle(load_bundle(sys.argv[1]), sys.argv[2], 'float16')" \
    "$d/model" "/tmp/h/$n/model" && tar czf "$OUT/$n.tgz" -C "/tmp/h/$n" model
done
tail -5 "$R/sweep.log"; tail -5 "$R/pick.log"
tar czf "$OUT/res.tgz" --exclude='*.safetensors' -C "$OUT" r && rm -rf "$R"
ls -la "$OUT"
