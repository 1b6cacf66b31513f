#!/usr/bin/env bash
# Rebuild the bundled default model (resources/models/default-faces-vae64.safetensors) from
# scratch, with the project's own commands. CPU only; about 90 minutes on 2 cores in all.
# Usage: bash scripts/reproduce_default_model.sh [WORKDIR]   (needs: bash scripts/setup.sh data,faces,metrics)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-data}"
ls=.venv/bin/latent-studio
model="$work/default-faces-vae64.safetensors"

# 1. The built-in face set (20,000 aligned 64×64 faces, CelebA layout; ~15 min).
[ -f "$work/faces/list_attr_celeba.txt" ] || OMP_NUM_THREADS=2 $ls data build-faces --n 20000 --out "$work/faces" --seed 0

# 2. Train (40 epochs; the time budget only caps the run on a slow machine and makes the cosine
#    learning-rate decay end with it). The shipped run: epoch 1 with 2 threads, then --resume with --threads 1.
$ls train --model vae --data "faces:$work/faces" --size 64 --latent-dim 64 --epochs 40 --batch-size 64 \
    --lr 1e-3 --time-budget-min 70 --seed 0 --threads 1 --amp off --out "$model"  # fp32, as shipped

# 3. Latent statistics + the aggregate prior, then mean-difference directions (with the classifiers the locks use,
#    held-out accuracy/AUC), and PCA axes.
$ls stats "$model" --data "faces:$work/faces"
$ls directions "$model" --data "faces:$work/faces" --method mean
$ls pca "$model" --data "faces:$work/faces"
# 3b. Landmark attributes (Smiling, MouthOpen, EyesOpen, HeadYaw, HeadRoll, LightDirection): the face set's continuous
#     labels (build-faces writes them; an older set gets them here), then ridge-regression directions for them and for
#     Age (the builder's age estimate in faces_meta.csv), all in one run.
[ -f "$work/faces/face_measures.csv" ] || OMP_NUM_THREADS=1 $ls data label-landmarks "$work/faces"
$ls measure-directions "$model" --data "faces:$work/faces" --threads 1
# 3c. Keeping the person and what the locks hold (docs/semantics.md "Keeping the person", "Lock read-outs from samples"):
#     EyesOpen and Age without what moves dlib's face descriptor; then the six measures' read-outs refitted on 12,000 of the
#     model's own samples (directions kept), Age's direction and read-out from the same samples, Smiling and Age identity-kept.
$ls keep-identity "$model" --names EyesOpen,Age --samples 2000 --seed 0 --threads 1
$ls measure-directions "$model" --data "faces:$work/faces" --samples 12000 --seed 0 --threads 1 \
    --names Smiling,MouthOpen,EyesOpen,HeadYaw,HeadRoll,LightDirection --readouts-only
$ls measure-directions "$model" --data "faces:$work/faces" --samples 12000 --seed 0 --threads 1 --names Age
$ls keep-identity "$model" --names Smiling,Age --samples 2000 --seed 0 --threads 1

# 4. Held-out metrics and the pictures of the model card.
$ls eval "$model" --data "faces:$work/faces" --json
$ls sample --model "$model" -n 64 --temperature 0.8 --seed 0 --out "$work/samples.png"
$ls traverse "$model" --axes dims --count 8 --out "$work/traversal-dims.png"
$ls traverse "$model" --axes attributes --out "$work/traversal-attributes.png"
