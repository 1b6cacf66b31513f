"""The painted mask that limits where an edit applies (local edits). Numpy only, no widgets.

The mask covers the whole photo at up to :data:`MASK_MAX_SIDE` pixels on its long side (the
photo's own resolution for photos that small; the engine resamples any resolution). It is
``uint8`` 0..255: 255 lets the edit through, 0 keeps the original pixels. No mask at all
(``array is None``, the start) means the edit applies wherever the face mask allows; the first
stroke creates an all-zero mask, so from then on the edit applies only where painted.

Strokes are soft round dabs swept along the pointer's path: each pointer move paints the
capsule of its segment (every pixel by its distance to the segment, in pieces of a few radii:
numpy over small boxes, not one Python call per dab — a fast flick across a 12 MP photo was
hundreds of dabs, ~100 ms on the GUI thread). ``radius`` in photo pixels, ``feather`` the
fraction of the radius that fades out (0 = hard edge). The brush raises the mask
(max), the eraser lowers it (min). ``end_stroke`` returns the changed rectangle before and after,
which is what :class:`editor.commands.MaskStrokeCommand` keeps for undo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

MASK_MAX_SIDE = 1536
SEGMENT_PIECE = 4.0  # a stroke segment is swept in pieces of this many radii (small boxes) …
MIN_PIECE = 32.0  # … but at least this many mask pixels long (a tiny brush: not thousands of pieces)


@dataclass(frozen=True)
class Stroke:
    rect: tuple[int, int, int, int]  # x0, y0, x1, y1 in mask pixels
    before: np.ndarray
    after: np.ndarray
    created: bool  # the stroke created the mask
    erase: bool


class MaskModel(QObject):
    changed = Signal(object)  # (x0, y0, x1, y1) mask pixels that changed, or None: all of it
    strokeActive = Signal(bool)  # a stroke began (True) / ended (False)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.photo_size: tuple[int, int] | None = None  # W, H
        self.shape: tuple[int, int] = (0, 0)  # mask H, W
        self.scale = 1.0  # mask pixels per photo pixel
        self.array: np.ndarray | None = None
        self.radius = 40.0  # photo pixels
        self.feather = 0.5
        self._stroke_before: np.ndarray | None = None
        self._stroke_created = False
        self._stroke_erase = False
        self._stroke_rect: list[int] | None = None
        self._last: tuple[float, float] | None = None
        self._snapshot: np.ndarray | None = None

    # ------------------------------------------------------------------ state

    @property
    def enabled(self) -> bool:
        """A photo is open, so there is something to paint on."""
        return self.photo_size is not None

    @property
    def active(self) -> bool:
        """A mask exists (something was painted): it limits the edit."""
        return self.array is not None

    @property
    def painting(self) -> bool:
        return self._stroke_before is not None

    def reset(self, photo_size: tuple[int, int] | None) -> None:
        """A new photo (W, H), or None: no mask."""
        self.photo_size = None if photo_size is None else (int(photo_size[0]), int(photo_size[1]))
        if self.photo_size is not None:
            w, h = self.photo_size
            self.scale = min(1.0, MASK_MAX_SIDE / max(w, h))
            self.shape = (max(1, round(h * self.scale)), max(1, round(w * self.scale)))
        else:
            self.scale, self.shape = 1.0, (0, 0)
        self._abandon_stroke()
        self.array = None
        self._touch(None)

    def _abandon_stroke(self) -> None:
        """The mask was replaced under a stroke still held (another photo; undo, Clear or Invert by
        key mid-drag): the stroke ends here, and whoever waits for it hears so."""
        if self._stroke_before is not None:
            self._stroke_before = None
            self.strokeActive.emit(False)

    def create(self) -> None:
        """An all-zero mask (the edit applies nowhere until painted)."""
        if self.photo_size is None:
            raise ValueError("no photo to paint a mask on")
        self.array = np.zeros(self.shape, np.uint8)
        self._touch(None)

    def set_array(self, array: np.ndarray | None) -> None:
        """Replace the mask (undo, clear, a session's mask at any resolution, bool/float/uint8)."""
        self._abandon_stroke()
        if array is None:
            self.array = None
        else:
            self.array = self._fit(np.asarray(array))
        self._touch(None)

    def apply_patch(self, rect: tuple[int, int, int, int], patch: np.ndarray) -> None:
        if self.array is None:
            self.create()
        x0, y0, x1, y1 = rect
        self.array[y0:y1, x0:x1] = patch
        self._touch(rect)

    def snapshot(self) -> np.ndarray | None:
        """A read-only copy for a request (the worker thread must never see a stroke half-painted)."""
        if self.array is None:
            return None
        if self._snapshot is None:
            self._snapshot = self.array.copy()
            self._snapshot.flags.writeable = False
        return self._snapshot

    def inverted(self) -> np.ndarray:
        return 255 - (self.array if self.array is not None else np.zeros(self.shape, np.uint8))

    # ------------------------------------------------------------------ strokes (photo coordinates)

    def begin_stroke(self, x: float, y: float, erase: bool = False) -> None:
        if self.photo_size is None:
            return
        self._stroke_created = self.array is None
        if self.array is None:
            self.array = np.zeros(self.shape, np.uint8)
        self._stroke_before = self.array.copy()
        self._stroke_erase = bool(erase)
        self._stroke_rect = None
        self._last = None
        self.strokeActive.emit(True)
        self.stroke_to(x, y)

    def stroke_to(self, x: float, y: float) -> None:
        if self._stroke_before is None:
            return
        cx, cy = x * self.scale, y * self.scale
        r = max(0.5, self.radius * self.scale)
        lx, ly = self._last if self._last is not None else (cx, cy)
        self._last = (cx, cy)
        n = max(1, math.ceil(math.hypot(cx - lx, cy - ly) / max(SEGMENT_PIECE * r, MIN_PIECE)))
        pieces = [(lx + (cx - lx) * i / n, ly + (cy - ly) * i / n) for i in range(n + 1)]
        box = None
        for (ax, ay), (bx, by) in zip(pieces[:-1], pieces[1:]):
            rect = self._sweep(ax, ay, bx, by, r)
            if rect is not None:
                box = rect if box is None else (min(box[0], rect[0]), min(box[1], rect[1]), max(box[2], rect[2]), max(box[3], rect[3]))
        if box is not None:
            s = self._stroke_rect
            self._stroke_rect = list(box) if s is None else [min(s[0], box[0]), min(s[1], box[1]), max(s[2], box[2]), max(s[3], box[3])]
            self._touch(box)

    def end_stroke(self) -> Stroke | None:
        """Finish the stroke: what changed (None if nothing did)."""
        before, self._stroke_before = self._stroke_before, None
        if before is None:
            return None
        self.strokeActive.emit(False)
        rect = self._stroke_rect
        if rect is None or self.array is None:
            if self._stroke_created:
                self.array = None
                self._touch(None)
            return None
        x0, y0, x1, y1 = rect
        old, new = before[y0:y1, x0:x1].copy(), self.array[y0:y1, x0:x1].copy()
        if np.array_equal(old, new) and not self._stroke_created:
            return None
        return Stroke(rect=(x0, y0, x1, y1), before=old, after=new, created=self._stroke_created, erase=self._stroke_erase)

    # ------------------------------------------------------------------ internals

    def _sweep(self, ax: float, ay: float, bx: float, by: float, r: float) -> tuple[int, int, int, int] | None:
        """Paint the dab swept from (ax, ay) to (bx, by) (a point when they are equal)."""
        h, w = self.shape
        x0, x1 = max(0, math.floor(min(ax, bx) - r)), min(w, math.ceil(max(ax, bx) + r))
        y0, y1 = max(0, math.floor(min(ay, by) - r)), min(h, math.ceil(max(ay, by) + r))
        if x0 >= x1 or y0 >= y1:
            return None
        ys = (np.arange(y0, y1, dtype=np.float32) + 0.5 - ay)[:, None]
        xs = (np.arange(x0, x1, dtype=np.float32) + 0.5 - ax)[None, :]
        dx, dy = np.float32(bx - ax), np.float32(by - ay)
        length2 = float(dx * dx + dy * dy)
        if length2 > 1e-12:  # distance to the segment: to its closest point
            t = np.clip((xs * dx + ys * dy) / np.float32(length2), 0.0, 1.0)
            xs, ys = xs - t * dx, ys - t * dy
        d = np.sqrt(xs * xs + ys * ys) / r
        feather = float(np.clip(self.feather, 0.0, 1.0))
        if feather <= 1e-3:
            v = (d <= 1.0).astype(np.float32)
        else:
            t = np.clip((1.0 - d) / feather, 0.0, 1.0)
            v = t * t * (3.0 - 2.0 * t)
        dab = np.rint(v * 255.0).astype(np.uint8)
        region = self.array[y0:y1, x0:x1]
        if self._stroke_erase:
            np.minimum(region, 255 - dab, out=region)
        else:
            np.maximum(region, dab, out=region)
        return x0, y0, x1, y1

    def _fit(self, array: np.ndarray) -> np.ndarray:
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        if array.ndim != 2:
            raise ValueError(f"a mask is H×W, got shape {array.shape}")
        if array.dtype == np.bool_:
            array = array.astype(np.uint8) * 255
        elif array.dtype != np.uint8:
            array = np.rint(np.clip(array.astype(np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)
        if array.shape != self.shape and self.photo_size is not None:  # nearest-neighbour resample
            h, w = self.shape
            rows = np.minimum((np.arange(h) + 0.5) * array.shape[0] / h, array.shape[0] - 1).astype(int)
            cols = np.minimum((np.arange(w) + 0.5) * array.shape[1] / w, array.shape[1] - 1).astype(int)
            array = array[rows][:, cols]
        return np.ascontiguousarray(array)

    def _touch(self, rect) -> None:
        self._snapshot = None
        self.changed.emit(rect)
