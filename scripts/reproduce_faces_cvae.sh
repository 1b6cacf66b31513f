#!/usr/bin/env bash
# Rebuild the bundled face cVAE (resources/models/faces-cvae64.safetensors) with the project's own
# commands, as its model card says. CPU only; about 25 minutes of training plus ~15 for the directions.
# Usage: bash scripts/reproduce_faces_cvae.sh [WORKDIR]   (needs: bash scripts/setup.sh data,faces,metrics)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-data}"
ls=.venv/bin/latent-studio
model="$work/faces-cvae64.safetensors"

# 1. The built-in face set (as in reproduce_default_model.sh; its landmark labels come with it).
[ -f "$work/faces/list_attr_celeba.txt" ] || OMP_NUM_THREADS=2 $ls data build-faces --n 20000 --out "$work/faces" --seed 0
[ -f "$work/faces/face_measures.csv" ] || OMP_NUM_THREADS=1 $ls data label-landmarks "$work/faces"

# 2. Train (labels Eyeglasses, Male, Young; the run ends with the realism and reject calibrations).
$ls train --model cvae --data "faces:$work/faces" --size 64 --latent-dim 64 --base-width 32 \
    --batch-size 64 --epochs 20 --time-budget-min 20 --threads 1 --out "$model"

# 3. Directions for the landmark attributes (Smiling, MouthOpen, EyesOpen, HeadYaw, HeadRoll, LightDirection) and Age:
#    ridge regressions on the model's own samples (12,000 prior draws decoded with random training faces' labels,
#    measured by dlib and the age network on the generated pixels), the read-outs the locks use; then EyesOpen
#    identity-keeping (what moves dlib's face descriptor taken out).
$ls measure-directions "$model" --data "faces:$work/faces" --samples 12000 --seed 0 --threads 1
$ls keep-identity "$model" --names EyesOpen --samples 2000 --seed 0 --threads 1

# 4. The landmark judge of the model card (each face decoded with its estimated labels; ~11 minutes on one busy core).
$ls eval-edits --landmarks --stored --model "$model" --data "faces:$work/faces" --split test --limit 500 \
    --identity dlib --identity-n 30 --controls 0 --threads 1 --markdown "$work/faces-cvae64-landmarks.md"
