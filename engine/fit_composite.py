"""How the model's change enters the photo: its colour, the mask it is confined to, and where the
model's own decode replaces the photo's pixels instead of being added to them.

The change D(z') − D(z) of a 64-pixel model carries two things: structure (frames, shadows,
wrinkles: mostly luminance) and colour shifts over whole regions (the grey-violet tint of the
Eyeglasses direction under the eyes, the red blotch of Young −3σ: a hue cast). Colour modes:

* ``rgb``    the change as the model makes it
* ``luma``   only its luminance (BT.601 luma added equally to R, G, B): the photo keeps its colours
* ``gated``  luminance, plus the chroma only where the luminance changes too (new structure
             brings its colour; a tint over unchanged shading is dropped)

Masks (crop coordinates): ``face`` the feathered face ellipse (``engine.photo.face_mask``), for an
unfitted model whose decode is some other face; ``wide`` a larger, softer ellipse (face, hair, jaw
line); ``crop`` the whole aligned crop with a feathered edge, for a fitted model, which reproduces the whole crop (hair, jaw line and background included,
where much of an attribute's change lies after the fit).

Solid structure (``solid`` > 0, grey levels): adding a change to a sharp photo keeps the photo's
detail under it, so new dark frames read as a translucent shadow over the eyes. Where the change's
luminance is large the composite takes the model's decode itself instead::

    α   = smoothstep((|luma Δ| − solid/3) / (2·solid/3))          (0 for a zero edit)
    out = photo + m·Δ + m·α·(D(z) − photo)                         (= D(z') where m·α = 1)

Only meaningful for a fitted model, whose D(z) is this photo's face (elsewhere it pastes a
blurry other face).
"""

from __future__ import annotations

import numpy as np

COLOUR_MODES = ("rgb", "luma", "gated")
MASK_SHAPES = ("face", "wide", "crop")
WIDE_MASK = {"centre": (0.5, 0.5), "radii": (0.5, 0.5), "feather": 0.4}  # face, hair and jaw line; 0 at the crop edge
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
GATE_KNEE = 12.0  # grey levels of luma change at which chroma passes in full (gated)
CROP_FEATHER = 0.12  # the crop mask falls from 1 to 0 over this fraction of the side, at each edge


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


def smoothstep(t):
    """0 below 0, 1 above 1, 3t² − 2t³ between: the one smooth ramp of the composites."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def crop_mask(size: int, feather: float = CROP_FEATHER) -> np.ndarray:
    """size×size float32: 1 over the crop, falling smoothly to ~0 at its border (so the change never
    ends at the hard edge of the warped square), sampled at pixel centres."""
    c = (np.arange(size, dtype=np.float64) + 0.5) / size
    edge = smoothstep(np.minimum(c, 1.0 - c) / max(feather, 1e-6))
    return np.outer(edge, edge).astype(np.float32)


def solid_alpha(delta: np.ndarray, solid: float) -> np.ndarray | None:
    """S×S float32 in [0, 1]: where the model's decode replaces the photo (see the module doc);
    None when ``solid`` is 0 (add only). 0 wherever the change's luma is under ``solid``/3."""
    if solid <= 0:
        return None
    y = np.abs(delta @ LUMA)
    lo = solid / 3.0
    return smoothstep((y - lo) / (solid - lo)).astype(np.float32)


def method_fields(name: str) -> dict:
    """A composite method named ``MASK-COLOUR[-sSOLID]`` (``crop-luma-s30``: crop mask, luma change,
    solid from 30 grey levels) as PhotoEdit fields; the scripts that compare methods use these names."""
    parts = name.split("-")
    if len(parts) not in (2, 3) or parts[0] not in MASK_SHAPES or parts[1] not in COLOUR_MODES or (len(parts) == 3 and parts[2][:1] != "s"):
        raise ValueError(f"a composite method is MASK-COLOUR[-sSOLID] (MASK {'|'.join(MASK_SHAPES)}, COLOUR {'|'.join(COLOUR_MODES)}), got {name!r}")
    solid = float(parts[2][1:]) if len(parts) == 3 else 0.0
    if not (solid >= 0 and np.isfinite(solid)):
        raise ValueError(f"solid must be ≥ 0 grey levels, got {solid}")
    return {"mask_shape": parts[0], "colour": parts[1], "solid": solid}
