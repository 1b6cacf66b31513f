"""Resampling a photo through an alignment: the aligned crop of a face, and the grids that map
crop coordinates back into a photo (the composite pastes the model's change with them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from engine.data.align import Alignment


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
