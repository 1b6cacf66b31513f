"""How the model's change is coloured before it enters the photo (the composite's colour mode).

The change D(z') − D(z) of a 64-pixel model carries two things: structure (frames, shadows,
wrinkles: mostly luminance) and colour shifts over whole regions (the grey-violet tint of the
Eyeglasses direction under the eyes, the red blotch of Young −3σ: a hue cast). Modes:

* ``rgb``    the change as the model makes it
* ``luma``   only its luminance (BT.601 luma added equally to R, G, B): the photo keeps its colours
* ``gated``  luminance, plus the chroma only where the luminance changes too (new structure
             brings its colour; a tint over unchanged shading is dropped)
"""

from __future__ import annotations

import numpy as np

COLOUR_MODES = ("rgb", "luma", "gated")
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
GATE_KNEE = 12.0  # grey levels of luma change at which chroma passes in full (gated)


def colour_change(delta: np.ndarray, mode: str = "rgb") -> np.ndarray:
    """``delta`` (S×S×3 float32, grey levels) in the colour ``mode``; its luma is never altered."""
    if mode == "rgb":
        return delta
    if mode not in COLOUR_MODES:
        raise ValueError(f"colour mode must be one of {', '.join(COLOUR_MODES)}, got {mode!r}")
    y = delta @ LUMA
    if mode == "luma":
        return np.repeat(y[:, :, None], 3, axis=2)
    gate = np.clip(np.abs(y) / GATE_KNEE, 0.0, 1.0)
    return y[:, :, None] + (delta - y[:, :, None]) * gate[:, :, None]
