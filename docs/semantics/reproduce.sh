#!/usr/bin/env bash
# Reproduces every number and picture of docs/semantics.md.
#   docs/semantics/reproduce.sh [MODEL] [DATA] [WORK]
# MODEL: the checkpoint to study (default: the bundled default model)
# DATA:  the labelled face set (default: faces:/work/data/faces_v2)
# WORK:  where the model copy with directions + PCA, the judge and the JSON reports go
set -euo pipefail
MODEL=${1:-resources/models/default-faces-vae64.safetensors}
DATA=${2:-faces:/work/data/faces_v2}
WORK=${3:-/work/runs/semantics/final}
PICS=${PICS:-docs/semantics}
LS="latent-studio"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$WORK" "$PICS"
M="$WORK/model.safetensors"

$LS directions "$MODEL" --data "$DATA" --out "$M" --quiet --json > "$WORK/directions.json"
$LS pca "$M" --data "$DATA" --quiet --json > "$WORK/pca.json"
$LS entanglement "$M" --data "$DATA" --quiet --json > "$WORK/entanglement.json"
[ -f "$WORK/judge.safetensors" ] || $LS train-judge --data "$DATA" --epochs 8 --time-budget-min 8 --out "$WORK/judge.safetensors" --quiet --json > "$WORK/judge.json"
# choices (which locks) on the validation split; the reported table once on the test split
nice -n 10 $LS eval-edits --model "$M" --data "$DATA" --judge "$WORK/judge.safetensors" --split val --identity none --threads 1 \
    --markdown "$WORK/eval-val.md" --quiet --json > "$WORK/eval-val.json"
nice -n 10 $LS eval-edits --model "$M" --data "$DATA" --judge "$WORK/judge.safetensors" --split test --limit "${EVAL_LIMIT:-1000}" \
    --identity-n "${IDENTITY_N:-30}" --threads 1 --markdown "$WORK/eval.md" --quiet --json > "$WORK/eval.json"

$LS arithmetic --model "$M" --data "$DATA" --a attr:Male=1,Eyeglasses=1 --b attr:Male=1,Eyeglasses=-1 \
    --c attr:Male=-1,Eyeglasses=-1 --per-item 8 --scale 2 --judge "$WORK/judge.safetensors" \
    --out "$PICS/arithmetic.png" --quiet --json > "$WORK/arithmetic.json"
$LS arithmetic --model "$M" --data "$DATA" --a attr:Male=1,Eyeglasses=1 --b attr:Male=1,Eyeglasses=-1 \
    --c attr:Male=-1,Eyeglasses=-1 --amount 2 --per-item 8 --scale 2 --judge "$WORK/judge.safetensors" \
    --out "$PICS/arithmetic-x2.png" --quiet --json > "$WORK/arithmetic-x2.json"

python -c "
from PIL import Image
from engine.semantics.photos import sample_photos
for k, v in sample_photos(64).items():
    Image.fromarray(v).save('$WORK/' + k + '.png')
"
$LS interpolate "$WORK/astronaut.png" "$WORK/lfw0.png" --model "$M" --steps 16 --mode slerp --scale 2 \
    --out "$PICS/interpolate-photos.gif" --strip "$PICS/interpolate-photos.png" --json > "$WORK/interp-photos-slerp.json"
$LS interpolate "$WORK/astronaut.png" "$WORK/lfw0.png" --model "$M" --steps 16 --mode linear \
    --out "$WORK/interp-photos-linear.gif" --json > "$WORK/interp-photos-linear.json"
$LS interpolate "$WORK/astronaut.png" "$WORK/lfw0.png" --model "$M" --steps 16 --mode slerp --even \
    --out "$WORK/interp-photos-even.gif" --json > "$WORK/interp-photos-even.json"
DIR=${DATA#*:}
IMG=$DIR/img_align_celeba
A=$(awk '$2==2{n++; if (n==1) print $1}' "$DIR/list_eval_partition.txt")  # the first two test faces
B=$(awk '$2==2{n++; if (n==2) print $1}' "$DIR/list_eval_partition.txt")
$LS interpolate "$IMG/$A" "$IMG/$B" --model "$M" --steps 16 --mode slerp --scale 2 \
    --out "$PICS/interpolate-faces.gif" --strip "$PICS/interpolate-faces.png" --json > "$WORK/interp-faces-slerp.json"
$LS interpolate "$IMG/$A" "$IMG/$B" --model "$M" --steps 16 --mode linear \
    --out "$WORK/interp-faces-linear.gif" --json > "$WORK/interp-faces-linear.json"

$LS traverse "$M" --axes pca --count 6 --steps 9 --base "$IMG/$A" --out "$PICS/traverse-pca.png" --json > "$WORK/traverse-pca.json"
$LS traverse "$M" --axes attributes --steps 9 --base "$IMG/$A" --out "$PICS/traverse-attributes.png" --json > "$WORK/traverse-attributes.json"
echo "reports in $WORK, pictures in $PICS"
