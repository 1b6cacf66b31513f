"""A mouth opened at the photo's resolution (docs/photo.md, "The mouth's opening").

``landmark_flow.mouth_opening`` describes a MouthOpen edit's jaw drop by smooth crop fields (how
far below the closed lips' line, the opening there, the fade under the chin); ``jaw_drop`` turns
them into the drop and the band it opens. Cut on the crop's own 64-px raster, that band's edges
and the lower lip's were a crop pixel wide — 4 photo px on a 256-px face, 20+ on a 12 MP
photo's: the inside was a soft dark smear over the teeth, the lower lip greyed. Here the fields
are read at each output pixel and cut there, the band's edges one output pixel (or SOFT crop px)
wide, and the lower lip moves as a whole. The band is painted as a mouth's inside: a deep red,
shaded from the photo's lips' brightness, darkest under the upper teeth, a tongue lit in the lower
part of a wide opening. (The decode's own mouth is left out of the change there:
``landmark_flow.mouth_inside``, used by ``flow_composite.flow_layer``.)
"""

from __future__ import annotations

import numpy as np

from engine.crop_warp import crop_px_to_output, crop_scale, crop_to_output, output_displacement, sample
from engine.fit_composite import LUMA, smoothstep
from engine.landmark_flow import jaw_drop

#: An open mouth's inside: a deep red (luma 1) at SHADE times the photo's lips' brightness: EDGE at the
#: band's lower edge, MIDDLE from DEPTH crop px above it up to the upper teeth (their shadow). The
#: decode's own opening is no model of it: on the
#: portrait its mean brightness is 0.89 of its lips' (a pale tongue at 64 px), drawn as a grey (luma
#: mode on white teeth) or blue (the cGAN's colours) soft blob.
INTERIOR_HUE = np.array([1.55, 0.75, 0.75], np.float32) / float(np.array([1.55, 0.75, 0.75], np.float32) @ LUMA)
SHADE = (0.40, 0.12)  # (EDGE, MIDDLE) of the lips' brightness
#: The tongue: over the band's lower part (from TONGUE[0] to TONGUE[1] of its height, smoothstepped) the
#: inside is lit to TONGUE_SHADE of the lips' brightness, where the opening is wide enough to show one
#: (none under TONGUE_OPENING[0] crop px, in full from [1]); without it a wide open mouth was one dark hole.
TONGUE = (0.45, 0.85)
TONGUE_SHADE = 0.5
TONGUE_OPENING = (1.0, 2.0)
DEPTH = 1.0  # crop px above the band's lower edge from which it is darkest (half the widest opening where that is less)
SOFT = 0.3  # crop px: the band's edges are antialiased over this or one output px, the wider (a photo's lips are not cut out)
SUPERSAMPLE = 4  # photo samples per crop px (each way) when reading the lips' brightness
#: The inside's grain: the photo's own fine detail as read on its lips (each sample against its four
#: neighbours), times the inside's shade (a darker inside, a fainter grain). One flat colour read as
#: painted at 100 % on a sharp photo; a grain fixed to each output pixel keeps renders and bands equal.
GRAIN = 1.0


class OpenMouth:
    """The jaw drop of one render, read at the output pixels: ``at(g)`` for a band of them."""

    def __init__(self, jaw: np.ndarray, flow: np.ndarray, grid, inv: np.ndarray, original: np.ndarray, lips: np.ndarray | None,
                 reach: float = 0.0) -> None:  # fmt: skip
        """``jaw``: mouth_opening's S×S×4 fields, the opening already weighted (``scaled_opening``:
        the opening's weight times the change's mask); ``flow``: the rest of the motion (S×S×2 crop px,
        weighted), in whose frame the drop is; ``grid``/``inv``: the whole output's sampling grid
        and J⁻¹; ``original``: the photo patch; ``lips``: its lips (S×S, 0..1) or None; ``reach``:
        crop px the positions :meth:`at` is asked for may lie from their pixels' own (a head turn after
        the opening moves the mouth by that much)."""
        self.s = jaw.shape[0]
        self.fields = np.ascontiguousarray(jaw[..., :3])
        self.flow, self.inv, self.k = flow, inv, crop_scale(inv)
        self.depth = max(min(DEPTH, 0.5 * float(jaw[..., 1].max())), 1e-3)
        read = lips_luma(original, grid, inv, lips)
        self.colour = None if read is None else read[0] * INTERIOR_HUE
        self.grain = 0.0 if read is None else GRAIN * read[1] / max(read[0], 1.0)  # detail per unit of brightness
        self.box = _output_box(jaw, grid, inv, 2.0 + reach)

    def at(self, g, top: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """For the output pixels at ``g`` (1×band×W×2 of the grid, its first row the output's ``top``):
        (the displacement, output px, band×W×2; the band it opens, 0..1; the mouth's inside painted
        there, band×W×3 — None without lips to take a brightness from). Outside :attr:`box` the drop
        is nothing: the rest of the motion alone, as ``output_displacement`` gives it."""
        disp = output_displacement(self.flow, g, self.inv)
        bh, w = disp.shape[:2]
        gap = np.zeros((bh, w), np.float32)
        paint = None if self.colour is None else np.zeros((bh, w, 3), np.float32)
        x0, y0, x1, y1 = self.box
        a, b = max(y0 - top, 0), min(y1 - top, bh)
        if a < b and x0 < x1:
            disp[a:b, x0:x1], gap[a:b, x0:x1], inside = self._at(g[:, a:b, x0:x1], (top + a, x0))
            if paint is not None:
                paint[a:b, x0:x1] = inside
        return disp, gap, paint

    def _at(self, g, corner: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """:meth:`at`'s answer for output pixels inside the box (``corner``: the first one's row, column)."""
        import torch

        v = sample(self.fields, g, mode="bilinear")
        dy, gap = jaw_drop(v, max(self.k, SOFT))
        moved = g.clone()
        moved[0, ..., 1] += torch.from_numpy(dy * (2.0 / self.s))
        f = sample(self.flow, moved, mode="bilinear")  # the drop in the frame of the closed-mouth motion
        f[..., 1] += dy
        if self.colour is None:
            return crop_to_output(f, self.inv), gap, None
        # darkest from under the upper edge (the teeth's shadow), lighter only towards the lower one
        below, ox = v[..., 0], v[..., 1]
        shade = SHADE[0] + (SHADE[1] - SHADE[0]) * np.clip((ox - below) / self.depth, 0.0, 1.0)
        # a tongue in the lower part of a wide opening: lit, where the rest is the mouth's shadow
        t = np.clip(below / np.maximum(ox, 1e-3), 0.0, 1.0)  # 0 at the band's top, 1 at its bottom
        tongue = smoothstep((t - TONGUE[0]) / (TONGUE[1] - TONGUE[0])) * np.clip((ox - TONGUE_OPENING[0]) / (TONGUE_OPENING[1] - TONGUE_OPENING[0]), 0.0, 1.0)
        shade = shade + (TONGUE_SHADE - shade) * tongue
        inside = shade[:, :, None] * self.colour
        if self.grain > 0:
            luma = float(self.colour @ LUMA)
            inside = inside + (self.grain * luma * shade * pixel_noise(corner, shade.shape))[:, :, None]
        return crop_to_output(f, self.inv), gap, inside


def _output_box(jaw: np.ndarray, grid, inv: np.ndarray, pad: float = 2.0) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the output pixels the jaw drop can reach — the crop pixels with an opening
    (or a closing) from just above the lips' line down to the chin's fade, ``pad`` crop px around
    (the bilinear reads), mapped through the affine grid. A preview frame then reads the mouth's
    fields over the mouth, not the whole face (~15 ms of a 1 MP frame)."""
    below, ox, fade = jaw[..., 0], jaw[..., 1], jaw[..., 2]
    rows, cols = np.nonzero((np.abs(ox) > 0) & (fade > 0) & (below > -2.0))
    h, w = grid.shape[1:3]
    if rows.size == 0:
        return 0, 0, 0, 0
    cx, cy = np.meshgrid([cols.min() - pad, cols.max() + 1 + pad], [rows.min() - pad, rows.max() + 1 + pad])  # the corners
    x, y = crop_px_to_output(cx, cy, grid, inv, jaw.shape[0])
    x0, y0, x1, y1 = int(np.floor(x.min())), int(np.floor(y.min())), int(np.ceil(x.max())) + 1, int(np.ceil(y.max())) + 1
    return max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)


def lips_luma(original: np.ndarray, grid, inv: np.ndarray, lips: np.ndarray | None) -> tuple[float, float] | None:
    """(the photo's mean luma under the crop's ``lips`` (S×S weights), its fine detail there: the
    median deviation of each sample's luma from its four neighbours', as a σ), read at SUPERSAMPLE² points per
    crop px mapped into the photo through the (affine) grid: a few hundred pixels, not the whole
    output. None without lips (or with none inside the photo)."""
    if lips is None or float(lips.sum()) < 1.0:
        return None
    h, w = original.shape[:2]
    rows, cols = np.nonzero(lips > 0)
    sub = (np.arange(SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    cx = (cols[:, None, None] + sub[None, None, :]).reshape(len(cols), -1)  # crop px (pixel i spans [i, i+1))
    cy = (rows[:, None, None] + sub[None, :, None]).reshape(len(rows), -1)
    x, y = crop_px_to_output(cx, cy, grid, inv, lips.shape[0])
    inside = (x > -0.5) & (x < w - 0.5) & (y > -0.5) & (y < h - 0.5)
    weight = np.broadcast_to(lips[rows, cols][:, None], x.shape) * inside
    if float(weight.sum()) < 1.0:
        return None
    xi, yi = np.clip(np.rint(x), 0, w - 1).astype(int), np.clip(np.rint(y), 0, h - 1).astype(int)
    luma = lambda r, c: np.asarray(original[np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)], np.float32) @ LUMA  # noqa: E731
    here = luma(yi, xi)
    around = (luma(yi - 1, xi) + luma(yi + 1, xi) + luma(yi, xi - 1) + luma(yi, xi + 1)) / 4.0
    detail = np.abs(here - around)[weight > 0]
    # a robust σ (the lips' edges against skin are a few outliers); one sample against four neighbours: √1.25 σ
    return float((here * weight).sum() / weight.sum()), float(1.4826 / np.sqrt(1.25) * np.median(detail))


def pixel_noise(corner: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """Zero-mean, unit-variance noise fixed to each output pixel (rows ``corner[0]``…, columns
    ``corner[1]``…): a hash of the pixel's row and column, so that any band of a render draws the same."""
    r = np.arange(corner[0], corner[0] + shape[0], dtype=np.uint64)[:, None]
    c = np.arange(corner[1], corner[1] + shape[1], dtype=np.uint64)[None, :]
    total = np.zeros(shape, np.float64)
    for k in range(4):  # the sum of four uniforms: near enough to normal for a grain
        v = (r * np.uint64(0x9E3779B1) + c * np.uint64(0x85EBCA77) + np.uint64(0xC2B2AE3D * (k + 1))) & np.uint64(0xFFFFFFFF)
        v ^= v >> np.uint64(15)
        v = (v * np.uint64(0x2C1B3C6D)) & np.uint64(0xFFFFFFFF)
        v ^= v >> np.uint64(12)
        v = (v * np.uint64(0x297A2D39)) & np.uint64(0xFFFFFFFF)
        v ^= v >> np.uint64(15)
        total += v.astype(np.float64) / 4294967296.0
    return ((total - 2.0) * np.sqrt(3.0)).astype(np.float32)
