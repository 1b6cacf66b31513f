"""Real photographs for demonstrations and checks, cropped like the built-in face set.

The built-in faces (64×64) have the eye centre at about 45 % of the height and the eyes about
30 % of the width apart. :func:`face_crop` finds a face with dlib (HOG detector + 5-point
landmarks, the ``faces`` extra) and cuts the square that puts it there; without dlib, or when no
face is found, it falls back to the centre square. :func:`sample_photos` gives two real faces
that ship offline with scikit-image: the astronaut Eileen Collins (NASA, public domain) and the
first face of its LFW subset (Labeled Faces in the Wild, 25×25 grey).
"""

from __future__ import annotations

import numpy as np

EYE_HEIGHT = 0.45
EYE_DISTANCE = 0.30


def face_crop(image: np.ndarray, size: int = 64) -> np.ndarray:
    from PIL import Image

    from engine.data.images import to_model_input

    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, -1)
    box = _eye_box(image)
    if box is None:
        return to_model_input(image, size)
    im = Image.fromarray(image).crop(box)  # pads with black outside the photo
    return np.asarray(im.resize((size, size), Image.Resampling.LANCZOS))


def _eye_box(image: np.ndarray):
    try:
        import dlib
        import face_recognition_models as frm
    except ImportError:
        return None
    det = dlib.get_frontal_face_detector()
    faces = det(image, 1)
    if not len(faces):
        return None
    face = max(faces, key=lambda r: r.area())
    shape = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())(image, face)
    p = np.array([[shape.part(i).x, shape.part(i).y] for i in range(4)], np.float64)
    eye_a, eye_b = p[:2].mean(0), p[2:4].mean(0)  # 0,1 one eye's corners; 2,3 the other's
    centre, dist = (eye_a + eye_b) / 2, float(np.linalg.norm(eye_a - eye_b))
    side = dist / EYE_DISTANCE
    left, top = centre[0] - side / 2, centre[1] - EYE_HEIGHT * side
    return tuple(int(round(v)) for v in (left, top, left + side, top + side))


def sample_photos(size: int = 64) -> dict[str, np.ndarray]:
    """Two real face photos, cropped like the built-in set: ``astronaut`` and ``lfw0``."""
    from skimage import data as skdata

    astronaut = face_crop(skdata.astronaut(), size)
    lfw = (skdata.lfw_subset()[0] * 255).round().astype(np.uint8)
    from PIL import Image

    lfw = np.asarray(Image.fromarray(lfw).resize((size, size), Image.Resampling.BICUBIC))
    return {"astronaut": astronaut, "lfw0": np.repeat(lfw[..., None], 3, -1)}
