"""The aligned crop's geometry and resampling through it: :class:`Alignment` (crop ↔ photo
coordinates), the aligned crop of a face, and the grids that map crop coordinates back into a
photo (the composite pastes the model's change with them)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image


class AlignmentError(ValueError):
    """The photo cannot be aligned (e.g. a face index that does not exist); one line for a person."""


@dataclass(frozen=True)
class Alignment:
    """``photo = matrix @ [u, v, 1]`` for crop coordinates ``(u, v)`` in ``0..size``."""

    matrix: np.ndarray  # 2×3 float64
    size: int

    @property
    def scale(self) -> float:
        """Photo pixels per crop pixel."""
        return float(math.hypot(self.matrix[0, 0], self.matrix[1, 0]))

    @property
    def angle_deg(self) -> float:
        return float(math.degrees(math.atan2(self.matrix[1, 0], self.matrix[0, 0])))

    @property
    def inverse(self) -> np.ndarray:
        """2×3: crop = inverse @ [x, y, 1]."""
        a = np.vstack([self.matrix, [0.0, 0.0, 1.0]])
        return np.linalg.inv(a)[:2]

    def to_photo(self, points) -> np.ndarray:
        pts = np.asarray(points, np.float64).reshape(-1, 2)
        return pts @ self.matrix[:, :2].T + self.matrix[:, 2]

    def to_crop(self, points) -> np.ndarray:
        inv = self.inverse
        pts = np.asarray(points, np.float64).reshape(-1, 2)
        return pts @ inv[:, :2].T + inv[:, 2]

    def photo_box(self, width: int, height: int, margin: float = 0.0) -> tuple[int, int, int, int]:
        """Integer bounding box (x0, y0, x1, y1) of the crop square in the photo, clipped to it."""
        s = self.size
        corners = self.to_photo([(0, 0), (s, 0), (0, s), (s, s)])
        x0, y0 = corners.min(0) - margin
        x1, y1 = corners.max(0) + margin
        box = (max(0, math.floor(x0)), max(0, math.floor(y0)), min(width, math.ceil(x1)), min(height, math.ceil(y1)))
        if box[2] <= box[0] or box[3] <= box[1]:
            raise AlignmentError("the face lies outside the photo")
        return box

    def resized(self, size: int) -> Alignment:
        """The same framing for a crop of another size."""
        size = int(size)
        if size == self.size:
            return self
        m = self.matrix.copy()
        m[:, :2] *= self.size / size
        return Alignment(matrix=m, size=size)

    def to_list(self) -> list[list[float]]:
        return [[float(v) for v in row] for row in self.matrix]

    @classmethod
    def from_list(cls, rows, size: int) -> Alignment:
        m = np.asarray(rows, np.float64)
        if m.shape != (2, 3) or not np.isfinite(m).all():
            raise AlignmentError(f"an alignment is a finite 2×3 matrix, got shape {m.shape}")
        return cls(matrix=m, size=int(size))



def warp_crop(image: np.ndarray, alignment: Alignment) -> np.ndarray:
    """The aligned ``size``×``size``×3 uint8 crop of ``image`` (H×W×3 uint8).

    Works on the face's bounding region only: it is first box-filtered down by an integer factor
    (so the remaining scale is below 2 and bicubic sampling does not alias), then warped. Outside
    the photo, edge pixels are repeated (the face set has no black borders).
    """
    import torch
    import torch.nn.functional as F

    h, w = image.shape[:2]
    x0, y0, x1, y1 = alignment.photo_box(w, h, margin=3 * max(1.0, alignment.scale))
    region = np.ascontiguousarray(image[y0:y1, x0:x1, :3])
    factor = max(1, int(alignment.scale))
    if factor > 1:
        pil = Image.fromarray(region)
        rw, rh = pil.size
        # reduce() needs whole blocks: crop to a multiple of the factor (lose < factor px at the far edge)
        pil = pil.crop((0, 0, max(factor, rw - rw % factor), max(factor, rh - rh % factor))).reduce(factor)
        region = np.asarray(pil)
    # crop coords -> region coords: photo = M·c; region = (photo - (x0, y0)) / factor
    m = alignment.matrix.copy()
    m[:, 2] -= (x0, y0)
    m /= factor
    rh, rw = region.shape[:2]
    s = alignment.size
    grid = sampling_grid(m, s, s, rw, rh)
    src = torch.from_numpy(np.require(region, requirements="W")).permute(2, 0, 1)[None].float()
    out = F.grid_sample(src, grid, mode="bicubic", padding_mode="border", align_corners=False)
    return out[0].permute(1, 2, 0).round_().clamp_(0, 255).to(torch.uint8).numpy()


def sampling_grid(m: np.ndarray, out_w: int, out_h: int, src_w: int, src_h: int, ox: float = 0.0, oy: float = 0.0, sx: float = 1.0, sy: float = 1.0):
    """grid_sample grid (1×out_h×out_w×2) for output pixel centres mapped through 2×3 ``m``.

    Output pixel (j, i) sits at ``(ox + (j + 0.5) / sx, oy + (i + 0.5) / sy)`` before ``m``;
    the result is normalised to the source's ``[-1, 1]`` (align_corners=False).
    """
    import torch

    xs = torch.arange(out_w, dtype=torch.float64).add_(0.5).div_(sx).add_(ox)
    ys = torch.arange(out_h, dtype=torch.float64).add_(0.5).div_(sy).add_(oy)
    a, b, c = (float(v) for v in m[0])
    d, e, f = (float(v) for v in m[1])
    # separable: u = a x + b y + c, v = d x + e y + f
    u = (a * xs)[None, :] + (b * ys + c)[:, None]
    v = (d * xs)[None, :] + (e * ys + f)[:, None]
    grid = torch.stack([u.mul_(2.0 / src_w).sub_(1.0), v.mul_(2.0 / src_h).sub_(1.0)], dim=-1)
    return grid[None].float()
