"""Image grids (PNG contact sheets) for sample and reconstruction previews."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from engine.protocol.files import atomic_output


def make_grid(images: np.ndarray, ncol: int | None = None, pad: int = 2, fill: int = 255) -> np.ndarray:
    """uint8 N×H×W×3 → one uint8 image with the tiles in rows of ``ncol``."""
    images = np.asarray(images)
    n, h, w = images.shape[:3]
    ncol = ncol or math.ceil(math.sqrt(n))
    nrow = math.ceil(n / ncol)
    grid = np.full((nrow * (h + pad) + pad, ncol * (w + pad) + pad, 3), fill, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top : top + h, left : left + w] = im if im.ndim == 3 else im[..., None]
    return grid


def save_grid(images: np.ndarray, path: str | Path, ncol: int | None = None, scale: int = 1) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(make_grid(images, ncol))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    with atomic_output(path) as tmp:  # a sample grid or a training preview: never left half-written
        img.save(tmp, format=Image.registered_extensions().get(path.suffix.lower(), "PNG"))
    return path
