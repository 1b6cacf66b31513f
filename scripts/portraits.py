"""The real portraits the measurement scripts edit: photos that ship with the project or with
packages it installs, never fetched (licences in docs/photo.md).

* ``portrait``      resources/images/portrait.jpg (the project's bundled portrait)
* ``astronaut``     scikit-image's ``astronaut()`` (NASA, Eileen Collins; public domain)
* ``astronaut-x2``  the same face at twice the pixels (Lanczos): does an edit hold at another scale
* ``grace_hopper``  matplotlib's ``grace_hopper.jpg`` (US Navy; public domain)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("portrait", "astronaut", "astronaut-x2", "grace_hopper")


def portrait(name: str) -> np.ndarray:
    """One portrait, H×W×3 uint8."""
    if name == "portrait":
        return np.asarray(Image.open(ROOT / "resources" / "images" / "portrait.jpg").convert("RGB"))
    if name in ("astronaut", "astronaut-x2"):
        from skimage.data import astronaut

        if name == "astronaut":
            return astronaut()
        im = Image.fromarray(astronaut())
        return np.asarray(im.resize((im.width * 2, im.height * 2), Image.Resampling.LANCZOS))
    if name == "grace_hopper":
        import matplotlib.cbook as cbook

        return np.asarray(Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).convert("RGB"))
    raise SystemExit(f"unknown photo {name!r} (one of {', '.join(NAMES)})")


def portraits(names, optional: bool = False) -> dict[str, np.ndarray]:
    """{name: photo}; ``optional``: a photo whose package is missing is skipped, said on stderr."""
    out = {}
    for name in names:
        try:
            out[name] = portrait(name)
        except ImportError as exc:
            if not optional:
                raise
            print(f"{name} skipped: {exc}", file=sys.stderr)
    return out


def face_box(photo: np.ndarray, reach: float = 0.85) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the square the docs' pictures show of a portrait's face — dlib's first face
    box, ``reach`` times its larger side around its centre (clipped at the photo's top-left)."""
    import dlib

    r = dlib.get_frontal_face_detector()(np.asarray(photo), 1)[0]
    cx, cy, h = (r.left() + r.right()) // 2, (r.top() + r.bottom()) // 2, int(max(r.width(), r.height()) * reach)
    return max(cx - h, 0), max(cy - h, 0), cx + h, cy + h

