"""Sampling between the model's S×S crop and the photo: a crop image read at the output pixels'
crop positions (``sample``), a crop image moved by a crop flow (``resample``), a crop flow as a
displacement of the output pixels (``output_displacement``) and the photo's own pixels moved by it
(``warp_patch``), band by band (``PhotoRows``). The grid (``engine.photo``'s sampling grid) is
affine in the output pixel: 1×H×W×2, normalised crop coordinates (align_corners=False).
"""

from __future__ import annotations

import numpy as np


def as_tensor(a: np.ndarray):
    """H×W×C (or H×W) → the 1×C×H×W float32 tensor torch's samplers read."""
    import torch

    a = np.asarray(a, np.float32)
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1) if a.ndim == 3 else a[None]))[None]


def identity_grid(s: int):
    """The S×S crop's own pixel centres as a sampling grid."""
    import torch

    c = (torch.arange(s, dtype=torch.float32) + 0.5) * (2.0 / s) - 1.0
    gy, gx = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([gx, gy], -1)[None]  # 1×S×S×2, normalised (align_corners=False)


def resample(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` (S×S×C) sampled at u + flow(u) (bilinear, edge pixels repeated): S×S×C float32."""
    import torch.nn.functional as F

    s = image.shape[0]
    g = identity_grid(s) + as_tensor(flow).permute(0, 2, 3, 1) * (2.0 / s)
    out = F.grid_sample(as_tensor(image), g, mode="bilinear", padding_mode="border", align_corners=False)
    return out[0].permute(1, 2, 0).numpy()


def sample(image: np.ndarray, grid, mode: str = "bicubic") -> np.ndarray:
    """A crop-space image (S×S×C) sampled at the output pixels' crop positions ``grid`` (0 outside)."""
    import torch.nn.functional as F

    out = F.grid_sample(as_tensor(image), grid, mode=mode, padding_mode="zeros", align_corners=False)
    return out[0].permute(1, 2, 0).numpy()


def output_jacobian_inverse(grid, s: int) -> np.ndarray:
    """J⁻¹ (2×2 float32): output px per crop px of the (affine) sampling ``grid`` into an S×S crop."""
    g = grid[0]  # only three corners are read: a 12 MP grid converted whole cost ~1 s
    corner = lambda y, x: np.asarray(g[y, x], np.float64)  # noqa: E731
    h, w = g.shape[:2]
    # the grid is affine in the output pixel: its step along x and y, in crop px, is J's columns
    jx = (corner(0, -1) - corner(0, 0)) / max(w - 1, 1) if w > 1 else np.array([2.0 / s, 0.0])
    jy = (corner(-1, 0) - corner(0, 0)) / max(h - 1, 1) if h > 1 else np.array([0.0, 2.0 / s])
    return np.linalg.inv(np.stack([jx, jy], 1) * (s / 2.0)).astype(np.float32)


def output_displacement(flow: np.ndarray, grid, inv: np.ndarray | None = None) -> np.ndarray:
    """The crop-space flow (S×S×2, crop px; already faded by the mask) as a displacement of the
    output pixels (H×W×2, output px): d = J⁻¹·F(A p), J the (affine) grid's crop px per output px
    (``inv``: J⁻¹ of the whole output, when ``grid`` is one band of it)."""
    inv = output_jacobian_inverse(grid, flow.shape[0]) if inv is None else inv
    return crop_to_output(sample(flow, grid, mode="bilinear"), inv)


def crop_to_output(f: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """Crop-px displacements at output pixels (H×W×2) in output px: J⁻¹·f per pixel."""
    # written out: numpy's stacked 2×2 matmul over H×W took ~2.6 s at 12 MP
    return np.stack([f[..., 0] * inv[0, 0] + f[..., 1] * inv[0, 1], f[..., 0] * inv[1, 0] + f[..., 1] * inv[1, 1]], -1)


def crop_px_to_output(cx, cy, grid, inv: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Crop positions (crop px of an S×S crop, pixel i spanning [i, i+1)) → output pixel indices
    (pixel centres at integers), through the affine ``grid`` (``inv``: its J⁻¹)."""
    c00 = (np.asarray(grid[0, 0, 0], np.float64) + 1.0) * s / 2.0  # output pixel (0, 0)'s centre, crop px
    inv = np.asarray(inv, np.float64)
    dx, dy = np.asarray(cx, np.float64) - c00[0], np.asarray(cy, np.float64) - c00[1]
    return inv[0, 0] * dx + inv[0, 1] * dy, inv[1, 0] * dx + inv[1, 1] * dy


def crop_scale(inv: np.ndarray) -> float:
    """Crop px per output px (the grid's scale; ``inv`` from :func:`output_jacobian_inverse`)."""
    return float(1.0 / np.sqrt(abs(np.linalg.det(np.asarray(inv, np.float64)))))


class PhotoRows:
    """A patch (H×W×C) as the 1×C×H×W float32 tensor the warp samples, its rows converted as the
    bands being warped first reach them: a 10+ MP patch converted whole is ~0.4-1 s (and 120 MB)
    before the first band, which a render that may be abandoned should not spend up front."""

    def __init__(self, original: np.ndarray) -> None:
        import torch

        h, w, c = original.shape
        self.original = original
        self.tensor = torch.empty((1, c, h, w), dtype=torch.float32)
        self._done = np.zeros(h, bool)

    def cover(self, top: int, bottom: int):
        """The tensor, with at least rows top:bottom converted (the others are never read)."""
        top, bottom = max(0, top), min(len(self._done), bottom)
        todo = np.flatnonzero(~self._done[top:bottom]) + top
        if todo.size:
            a, b = int(todo[0]), int(todo[-1]) + 1
            self.tensor[0, :, a:b].numpy()[...] = np.moveaxis(self.original[a:b], -1, 0)  # cast while copied
            self._done[a:b] = True
        return self.tensor


def warp_patch(original: np.ndarray, disp: np.ndarray, top: int = 0, source: PhotoRows | None = None) -> np.ndarray:
    """Rows ``top``… of ``original`` (H×W×C) sampled at p + disp(p) (bicubic, edges reflected;
    ``disp`` covers those rows), float32; pixels that do not move are copied exactly. ``source``:
    ``original``'s :class:`PhotoRows`, shared by the bands of one render."""
    import torch
    import torch.nn.functional as F

    h, w = original.shape[:2]
    bh = disp.shape[0]
    band = np.asarray(original[top : top + bh], np.float32)
    moved = np.maximum(np.abs(disp[..., 0]), np.abs(disp[..., 1])) > 1e-4  # (a max over the last axis of 2: ~0.7 s at 12 MP)
    if not moved.any():
        return band.copy()
    g = np.empty((1, bh, w, 2), np.float32)  # written in place: a full-resolution patch is 10+ MP, and each temporary ~100 MB
    g[0, :, :, 0] = (np.arange(w, dtype=np.float32)[None, :] + disp[..., 0] + 0.5) * (2.0 / w) - 1.0
    g[0, :, :, 1] = (np.arange(top, top + bh, dtype=np.float32)[:, None] + disp[..., 1] + 0.5) * (2.0 / h) - 1.0
    reach = int(np.ceil(np.abs(disp[..., 1]).max())) + 3  # the rows a bicubic tap can read (reflected at the edges)
    x = (source or PhotoRows(original)).cover(top - reach, top + bh + reach)
    out = F.grid_sample(x, torch.from_numpy(g), mode="bicubic", padding_mode="reflection", align_corners=False)
    out = out[0].permute(1, 2, 0).numpy()
    return np.where(moved[:, :, None], out, band)
