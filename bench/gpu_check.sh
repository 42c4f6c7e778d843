#!/usr/bin/env bash
# One-shot CUDA check for a lent GPU machine: the CUDA tests and the throughput benchmarks.
# Usage (from the repository root): bash bench/gpu_check.sh [OUT_DIR]
# Wheels the GPU image lacks (PyAV, pympi-ling, dlib-bin, openpyxl) may be carried in .whl/.
#
# The issue-17 ("Scale") figures come first, each in its own step and JSON file:
#   gpu-tests         the CUDA tests (pytest -m gpu)
#   model-throughput  paper MELDAE inference vs the raw ViT-B/16, same precision (bf16), B=16
#   train-throughput  paper training frames/s vs the bare backbone's forward+backward, B=16
#   scale-e2e         `meldae infer FOLDER --workers N` on 1080p H.264 files vs the decode
#                     ceiling of N parallel decoders (N = cores - 1)
# then the older benchmarks (infer-throughput, learns-real; MELDAE_GPU_CHECK_SCALE_ONLY=1
# skips them so the whole check fits in about 10 minutes).
#
# Dry run on a CPU machine (every step, tiny sizes, --device cpu; the figures mean nothing,
# the point is that each step runs): MELDAE_GPU_CHECK_DRY=1 bash bench/gpu_check.sh /tmp/dry
set -uo pipefail
OUT=${1:-${OUT:-gpu-results}}
mkdir -p "$OUT"
DRY=${MELDAE_GPU_CHECK_DRY:-0}
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 MELDAE_CACHE_DIR=/tmp/meldae-cache
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
{
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  $PY -c "import torch, timm; print('torch', torch.__version__, 'timm', timm.__version__, 'cuda', torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)"
  lscpu | grep 'Model name'; nproc
} 2>&1 | tee "$OUT/machine.txt"

step() {  # step NAME TIMEOUT_S COMMAND...: run one part, keep going when it fails
  local name=$1 limit=$2; shift 2
  echo "=== $name"
  timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
  echo "=== $name exit ${PIPESTATUS[0]}"
}
if [ "$DRY" = 1 ]; then   # every step at toy sizes on the CPU
  DEV=cpu; MODEL=(--presets tiny --batch 2 --frames 4 --repeats 1 --no-train)
  TRAIN=(--presets tiny --batch-size 2 --steps 2 --num-workers 1 --clips 1 --frames 48)
  E2E=(--preset tiny --height 360 --copies 2 --frames 48 --workers 1)
else
  DEV=cuda; MODEL=(--presets paper --batch 16 --frames 32 --repeats 5 --warmup 2 --no-train)
  TRAIN=(--presets paper --batch-size 16 --steps 8 --num-workers 8 --clips 4 --frames 96)
  E2E=(--preset paper --height 1080 --copies 16 --frames 240)
fi
VIDEOS=${MELDAE_SHARED_VIDEOS:-shared/data/video}
step gpu-tests 150 $PY -m pytest -q -m gpu -p no:cacheprovider tests/meldae
step model-throughput 150 $PY bench/model_throughput.py --device $DEV "${MODEL[@]}" --json "$OUT/model_throughput.json"
step train-throughput 180 $PY bench/train_throughput.py --device $DEV "${TRAIN[@]}" --json "$OUT/train_throughput.json"
if [ -f "$VIDEOS/WolfgangLanger_Pexels.mp4" ]; then
  step scale-e2e 300 $PY bench/scale_e2e.py --device $DEV --video "$VIDEOS/WolfgangLanger_Pexels.mp4" "${E2E[@]}" --json "$OUT/scale_e2e.json"
else
  echo "=== scale-e2e skipped: no $VIDEOS/WolfgangLanger_Pexels.mp4 (carry shared/data/video)"
fi
[ "${MELDAE_GPU_CHECK_SCALE_ONLY:-0}" = 1 ] && exit 0
if [ "$DRY" = 1 ]; then
  step infer-throughput 300 $PY bench/infer_throughput.py --device cpu --preset tiny --repeat 2 --model-frames 64 --json "$OUT/infer_throughput.json"
  echo "=== learns-real skipped in a dry run (a training run)"
  exit 0
fi
step infer-throughput 150 $PY bench/infer_throughput.py --device cuda --json "$OUT/infer_throughput.json"
# The real-face learning benchmark on the GPU (issue "MELDAE learns from real faces"): the CLI's
# lite defaults (fine-tuning the bundled demo model, 6 epochs), then the paper preset (from scratch: the GPU machine is offline, so
# --no-pretrained unless a local ViT-B/16 file is carried as .whl/vit_base_patch16_224.safetensors).
# Needs the shared videos: carry them in shared/data/video or set MELDAE_SHARED_VIDEOS.
if [ -f "$VIDEOS/single_face.mp4" ]; then
  step learns-real-lite 420 $PY bench/learns_real.py --videos "$VIDEOS" --out /tmp/lr-lite \
    --train-arg=--device --train-arg=cuda --json "$OUT/learns_real_lite.json"
  PAPER_START=(--train-arg=--no-pretrained)
  [ -f .whl/vit_base_patch16_224.safetensors ] && PAPER_START=(--train-arg=--weights --train-arg=.whl/vit_base_patch16_224.safetensors)
  step learns-real-paper 420 $PY bench/learns_real.py --videos "$VIDEOS" --out /tmp/lr-paper \
    --preset paper "${PAPER_START[@]}" --train-arg=--device --train-arg=cuda --json "$OUT/learns_real_paper.json"
else
  echo "=== learns-real skipped: no $VIDEOS/single_face.mp4"
fi
