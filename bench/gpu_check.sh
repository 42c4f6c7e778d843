#!/usr/bin/env bash
# One-shot CUDA check for a lent GPU machine: the CUDA tests and the throughput benchmarks.
# Usage (from the repository root): bash bench/gpu_check.sh [OUT_DIR]
# Wheels the GPU image lacks (PyAV, pympi-ling, dlib-bin, openpyxl) may be carried in .whl/.
set -uo pipefail
OUT=${1:-${OUT:-gpu-results}}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 MELDAE_CACHE_DIR=/tmp/meldae-cache
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch, timm; print('torch', torch.__version__, 'timm', timm.__version__, 'cuda', torch.cuda.get_device_name(0))"
  lscpu | grep 'Model name'
} 2>&1 | tee "$OUT/machine.txt"

step() {  # step NAME TIMEOUT_S COMMAND...: run one part, keep going when it fails
  local name=$1 limit=$2; shift 2
  echo "=== $name"
  timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
  echo "=== $name exit ${PIPESTATUS[0]}"
}
step gpu-tests 150 python3 -m pytest -q -m gpu -p no:cacheprovider tests/meldae
step model-throughput 120 python3 bench/model_throughput.py --device cuda --json "$OUT/model_throughput.json"
step train-throughput 120 python3 bench/train_throughput.py --device cuda --json "$OUT/train_throughput.json"
step infer-throughput 150 python3 bench/infer_throughput.py --device cuda --json "$OUT/infer_throughput.json"
# The real-face learning benchmark on the GPU (issue "MELDAE learns from real faces"): the CLI's
# lite defaults, then the paper preset (from scratch: the GPU machine is offline, so
# --no-pretrained unless a local ViT-B/16 file is carried as .whl/vit_base_patch16_224.safetensors).
# Needs the shared videos: carry them in shared/data/video or set MELDAE_SHARED_VIDEOS.
VIDEOS=${MELDAE_SHARED_VIDEOS:-shared/data/video}
if [ -f "$VIDEOS/single_face.mp4" ]; then
  step learns-real-lite 420 python3 bench/learns_real.py --videos "$VIDEOS" --out /tmp/lr-lite \
    --train-arg=--device --train-arg=cuda --json "$OUT/learns_real_lite.json"
  PAPER_START=(--train-arg=--no-pretrained)
  [ -f .whl/vit_base_patch16_224.safetensors ] && PAPER_START=(--train-arg=--weights --train-arg=.whl/vit_base_patch16_224.safetensors)
  step learns-real-paper 420 python3 bench/learns_real.py --videos "$VIDEOS" --out /tmp/lr-paper \
    --preset paper "${PAPER_START[@]}" --train-arg=--device --train-arg=cuda --json "$OUT/learns_real_paper.json"
else
  echo "=== learns-real skipped: no $VIDEOS/single_face.mp4"
fi
