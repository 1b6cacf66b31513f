#!/usr/bin/env bash
# One prepared run on a lent CUDA machine (the `device` tool): the engine's tests with their
# models on the GPU, a face cGAN trained on the GPU, a short fp16 VAE run and the benchmark.
# Small results (logs, JSON, the last sample grid) come back as one archive in $OUT, the cGAN
# checkpoint split into 15 MB parts (the tool returns at most 8 files of 16 MiB).
#
# Here, first:   python scripts/gpu/pack_faces.py /work/data/faces_v2 .gpu/faces_jpg --zip
#                pip download --no-deps -d .gpu/whl platformdirs
# Then:          device run, carry [".gpu"], command "bash scripts/gpu/run.sh"
#                (TRAIN_MIN=0: tests and bench only)
# There:         python3 is the image's own (torch with CUDA); no PySide6, so the editor's
#                tests and the editor part of the bench are not run.
set -u
TRAIN_MIN=${TRAIN_MIN:-5}           # minutes of cGAN training; 0 = no training runs
DEVICE=${DEVICE:-cuda}              # DEVICE=cpu TRAIN_MIN=0.2 TESTS=tests/engine/test_api.py: a dry run here
TESTS=${TESTS:-tests/engine}
BENCH=${BENCH:-}                    # extra bench options, e.g. --quick
FP16=${FP16:-1}                     # 0: skip the fp16 VAE run
GPU_DIR=${GPU_DIR:-.gpu}            # what pack_faces.py and pip download left (faces_jpg.zip, whl/)
OUT=${OUT:-/tmp/gpu-out}
RES=${RES:-/tmp/gpu-res}
rm -rf "$RES"; mkdir -p "$OUT" "$RES" runs/gpu
export PYTHONUNBUFFERED=1 PYTHONPATH=/tmp/site:$PWD
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$GPU_DIR"/whl/*.whl
LS="python3 -m engine.cli"
CGAN=runs/gpu/faces-cgan64.safetensors

{ nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0), 'cudnn', torch.backends.cudnn.version())"
  nproc; } 2>&1 | tee "$RES/machine.txt"

# 1. The face cGAN, in the background (the tests share the GPU for their few minutes).
if [ "$TRAIN_MIN" != 0 ]; then
  DATA=/tmp/faces_jpg
  [ -d "$DATA" ] || python3 -m zipfile -e "$GPU_DIR/faces_jpg.zip" /tmp
  $LS train --model cgan --data faces:$DATA --size 64 --latent-dim 100 --base-width 32 --batch-size 128 \
      --epochs 400 --time-budget-min "$TRAIN_MIN" --model-options enc_every=3 --device $DEVICE \
      --out $CGAN >"$RES/cgan-train.log" 2>&1 &
  TRAIN=$!
fi

# 2. The engine's tests with their models on the GPU.
timeout 300 python3 -m pytest $TESTS --device $DEVICE -q -p no:cacheprovider --timeout 120 -o addopts="" -rfEs --tb=short \
    >"$RES/pytest.txt" 2>&1
tail -25 "$RES/pytest.txt"

if [ "$TRAIN_MIN" != 0 ]; then
  # 3. fp16 mixed precision with loss scaling, end to end (bf16 is in the tests).
  [ "$FP16" = 0 ] || timeout 120 $LS train --model vae --data faces:$DATA --size 64 --latent-dim 64 --batch-size 128 --epochs 2 \
      --limit 4096 --amp fp16 --device $DEVICE --out runs/gpu/vae-fp16.safetensors 2>&1 \
      | tr '\r' '\n' | grep -v "batch/s\|img/s\]" | tail -15 >"$RES/vae-fp16.txt"
  tail -3 "$RES/vae-fp16.txt"
  wait $TRAIN
  tr '\r' '\n' <"$RES/cgan-train.log" | grep -v "batch/s\|img/s\]" | tail -60 >"$RES/cgan-train-tail.txt"
  rm "$RES/cgan-train.log"
  tail -8 "$RES/cgan-train-tail.txt"
  split -b 15M $CGAN "$OUT/faces-cgan64.safetensors."  # back first, whatever follows
  last=$(ls runs/gpu/faces-cgan64-train/*_samples.png | tail -1) && cp "$last" "$RES/"
fi

# 4. The benchmark (engine part) on the GPU, with nothing else running beside it.
timeout 200 $LS bench --device $DEVICE --no-editor $BENCH --out "$RES/bench.json" >"$RES/bench.txt" 2>&1
tail -30 "$RES/bench.txt"

tar czf "$OUT/gpu-results.tgz" -C "$(dirname "$RES")" "$(basename "$RES")"
ls -la "$OUT"
