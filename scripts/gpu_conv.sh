#!/usr/bin/env bash
# The CUDA convolution on an NVIDIA GPU machine, in one command from the repository root:
#
#     bash scripts/gpu_conv.sh [bench_conv.py options, e.g. --sizes 8192 --strategies register2d]
#
# 1. installs the wheels in .whl/ (PyCUDA and what it needs; the machine has no package index) into
#    /tmp/site, 2. prints versions and whether engine.conv_cuda finds the GPU, 3. runs the GPU tests
#    (tests/engine/test_conv_cuda.py, test_conv_bench.py, tests/app/test_cli_conv_bench.py, -m cuda)
#    into $OUT/gpu_tests.log, 4. runs `han-explorer conv-bench --quick --json` (into $OUT/cli_quick.*),
#    5. runs the benchmark (bench/bench_conv.py, the full run unless options are given) into
#    $OUT/conv_bench.json (+ $OUT/conv_bench.log). Steps 4 and 5 run even when tests fail. The exit
#    status is non-zero when any step failed. $OUT defaults to ./out.
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH="$PATH:/usr/local/cuda/bin"     # PyCUDA runs nvcc from PATH
fi
export HAN_REQUIRE_GPU=1          # the GPU tests fail, instead of skipping, if PyCUDA cannot reach the GPU
T0=$SECONDS

section() { printf '\n========== %s  [%ds] ==========\n' "$*" "$((SECONDS - T0))"; }

section "install wheels from .whl/ into /tmp/site"
install_rc=0
if compgen -G ".whl/*.whl" >/dev/null; then
    ls -1 .whl/*.whl
    python3 -m pip install -q --no-index --no-deps --upgrade --target /tmp/site .whl/*.whl || install_rc=$?
else
    echo "NO WHEELS in .whl/: carry .whl (PyCUDA 2026.1 and its pure-Python needs, syntok) with this run"
    install_rc=1
fi
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
echo "pip install status: $install_rc"
# PyCUDA's _driver links libcuda.so.1 and libcurand.so.10. If the loader cache lacks libcurand, look for
# it in the CUDA toolkit and in Python's site-packages (nvidia-curand wheels) and put it on the path.
if ! ldconfig -p 2>/dev/null | grep -q 'libcurand\.so\.10'; then
    for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
             $(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null); do
        f=$(find "$d" -maxdepth 5 -name 'libcurand.so.10*' 2>/dev/null | head -n 1)
        if [ -n "$f" ]; then
            export LD_LIBRARY_PATH="$(dirname "$f")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
            echo "libcurand.so.10 is not in the loader cache; using $(dirname "$f")"
            break
        fi
    done
fi

section "versions"
nvidia-smi -L || echo "nvidia-smi failed"
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv || true
nvcc --version | tail -n 2 || echo "nvcc NOT on PATH: PyCUDA cannot compile kernels"
python3 - <<'EOF'
import importlib, sys
print("python", sys.version.split()[0], sys.executable)
for name in ("numpy", "scipy", "torch", "cupy", "pycuda", "pytools", "pytest"):
    try:
        m = importlib.import_module(name)
        print(f"{name:8s}", getattr(m, "VERSION_TEXT", None) or getattr(m, "__version__", "?"), m.__file__)
    except Exception as e:
        print(f"{name:8s} MISSING: {type(e).__name__}: {e}")
try:
    import torch
    print("torch cuda", torch.version.cuda, "available", torch.cuda.is_available(),
          "cudnn", torch.backends.cudnn.version())
except Exception as e:
    print("torch check failed:", e)
from engine.conv_cuda import NoGPUError, cuda_available, describe_gpu
print("engine.conv_cuda.cuda_available():", cuda_available())
try:
    print("PyCUDA sees GPU 0:", describe_gpu())
except NoGPUError as e:
    print("NO GPU FOR PYCUDA:", e)
EOF

section "GPU tests: test_conv_cuda.py, test_conv_bench.py and test_cli_conv_bench.py, -m cuda"
# The GPU machine has no pytest-qt, so pyproject's qt_* options are unknown there; with
# filterwarnings = error that warning would stop pytest before it collects anything.
# (tests/app/conftest.py skips every app test where PySide6 is missing, as it is there: the CLI step below
# runs `han-explorer conv-bench` itself.)
python3 -m pytest tests/engine tests/app/test_cli_conv_bench.py \
    -m cuda -q \
    -p no:cacheprovider -W "ignore::pytest.PytestConfigWarning" --durations=10 2>&1 | tee "$OUT/gpu_tests.log"
tests_rc=$?
echo "pytest exit status: $tests_rc"

section "CLI: han-explorer conv-bench --quick --json"
python3 -m app.cli conv-bench --quick --json --out "$OUT/cli_quick.json" >/dev/null 2>"$OUT/cli_quick.log"
cli_rc=$?
tail -n 12 "$OUT/cli_quick.log"
echo "conv-bench exit status: $cli_rc"

section "benchmark: bench/bench_conv.py"
python3 bench/bench_conv.py --out "$OUT/conv_bench.json" "$@" 2>&1 | tee "$OUT/conv_bench.log"
bench_rc=$?
echo "benchmark exit status: $bench_rc"

section "done"
echo "install $install_rc, tests $tests_rc, conv-bench $cli_rc, benchmark $bench_rc; files in $OUT:"
ls -l "$OUT"
[ "$install_rc" -eq 0 ] && [ "$tests_rc" -eq 0 ] && [ "$cli_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
