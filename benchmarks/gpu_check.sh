#!/usr/bin/env bash
# The checks a machine with an NVIDIA GPU runs, in one go (under 5 minutes on
# a recent GPU; docs/PERFORMANCE.md, "GPU and mixed precision"):
#   1. builds core, the runner and the benchmarks without Qt against the
#      machine's own PyTorch (its LibTorch with CUDA, from its wheel);
#   2. runs the test suite that builds there (the runner's smoke tests, the
#      Python checks) with CUDA present;
#   3. runs benchmarks/compare.py --device cuda, and again with --bf16;
#   4. runs the default experiment (fashion-mnist-quick) on CUDA in fp32, bf16
#      and fp16 (with its loss scale: summary.json has skipped_steps), and over two
#      processes (NCCL) where there are two GPUs;
# then prints the table for docs/PERFORMANCE.md. Needs cmake, ninja and a
# C++20 compiler; nothing from Debian's LibTorch or Qt.
#
#   bash benchmarks/gpu_check.sh [BUILD_DIR] [PYTHON]
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$repo/build-gpu}"
python="${2:-python3}"
out="$build/gpu_check"
mkdir -p "$out"
step() { echo; echo "== $*"; }
result=()

step "the machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || { echo "no nvidia-smi: not a GPU machine"; exit 77; }
torch_dir="$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')" || { echo "$python has no torch"; exit 1; }
"$python" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "devices", torch.cuda.device_count())'

step "build without Qt against that LibTorch"
start=$(date +%s)
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDISTILLERY_BUILD_UI=OFF \
  "-DCMAKE_PREFIX_PATH=$torch_dir;$torch_dir/Torch" >"$out/cmake.log" 2>&1 || { tail -30 "$out/cmake.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" >"$out/build.log" 2>&1 || { grep -m20 -B2 -A8 "error" "$out/build.log"; exit 1; }
result+=("build: $(($(date +%s) - start)) s")

step "the test suite"
start=$(date +%s)
(cd "$build" && ctest --output-on-failure -j "$(nproc)" --timeout 300) >"$out/ctest.log" 2>&1
rc=$?
tail -5 "$out/ctest.log"
result+=("tests: $(grep -E 'tests passed|tests failed' "$out/ctest.log" | tail -1) ($(($(date +%s) - start)) s)")
[ $rc -eq 0 ] || grep -B5 -A30 "Failed\|\*\*\*" "$out/ctest.log" | head -80

step "compare.py --device cuda, and --bf16"
"$python" "$repo/benchmarks/compare.py" --build "$build" --device cuda --repeats 3 --seconds 2 | tee "$out/compare-fp32.md"
"$python" "$repo/benchmarks/compare.py" --build "$build" --device cuda --bf16 --repeats 3 --seconds 2 | tee "$out/compare-bf16.md"

step "the default experiment on CUDA"
runner="$build/app/distillery-run"
for precision in fp32 bf16 fp16; do
  start=$(date +%s)
  "$runner" "$repo/resources/experiments/fashion-mnist-quick.json" -w "$out/ws-$precision" \
    --set device=cuda --set precision=$precision >"$out/quick-$precision.log" 2>&1
  rc=$?
  tail -8 "$out/quick-$precision.log"
  result+=("fashion-mnist-quick on CUDA, $precision: exit $rc, $(($(date +%s) - start)) s, $(grep -E '^(teacher|student) ' "$out/quick-$precision.log" | awk '{print $1, $2}' | tr '\n' ' ')")
done
if [ "$("$python" -c 'import torch; print(torch.cuda.device_count())')" -ge 2 ]; then
  start=$(date +%s)
  "$runner" "$repo/resources/experiments/fashion-mnist-quick.json" -w "$out/ws-nccl" --set device=cuda --nproc 2 \
    >"$out/quick-nccl.log" 2>&1
  rc=$?
  tail -4 "$out/quick-nccl.log"
  result+=("fashion-mnist-quick over 2 GPUs (NCCL): exit $rc, $(($(date +%s) - start)) s")
fi

step "for docs/PERFORMANCE.md"
echo "GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); $("$python" -c 'import torch; print("PyTorch", torch.__version__)')"
printf -- '- %s\n' "${result[@]}"
echo
echo "compare.py --device cuda:"; cat "$out/compare-fp32.md"
echo "compare.py --device cuda --bf16:"; cat "$out/compare-bf16.md"
