"""Draw synthetic eyeglasses onto a face at its eye positions.

Used by the built-in face data set (``engine.data.build_faces``) to make
``Eyeglasses`` a ground-truth attribute: the label is simply whether glasses
were drawn. Only numpy and Pillow are needed.

The glasses are drawn as an RGBA overlay at ``supersample`` times the image
resolution, box-filtered down (premultiplied alpha, so edges are
anti-aliased) and composited over the face. Pixels the overlay does not reach
are returned bit-for-bit unchanged.

Coordinates are ``(x, y)`` in pixels of the image passed in. ``eye_a`` and
``eye_b`` are the two eye centres in either order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["GlassesStyle", "draw_glasses", "random_style", "SHAPES"]

#: Lens outline families: superellipse exponent and an aviator-style droop.
SHAPES: dict[str, tuple[float, float]] = {
    # name: (superellipse exponent, outer-bottom droop)
    "round": (2.0, 0.0),
    "oval": (2.4, 0.0),
    "rect": (5.0, 0.0),
    "soft_rect": (3.2, 0.0),
    "aviator": (2.6, 0.45),
}

_FRAME_COLOURS: tuple[tuple[int, int, int], ...] = (
    (15, 15, 15),  # black
    (25, 20, 18),  # near black
    (60, 38, 22),  # dark brown
    (110, 70, 35),  # tortoise brown
    (180, 150, 70),  # gold
    (170, 170, 175),  # silver
    (120, 20, 25),  # dark red
    (25, 40, 110),  # navy
    (70, 70, 75),  # gunmetal
)


@dataclass(frozen=True, slots=True)
class GlassesStyle:
    """Everything that decides how one pair of glasses looks.

    Sizes are fractions of the distance between the eye centres, so a style
    fits any face size.
    """

    shape: str = "round"
    lens_width: float = 0.78  # lens width / eye distance
    lens_aspect: float = 0.8  # lens height / lens width
    frame_thickness: float = 0.07  # frame stroke / eye distance
    frame_colour: tuple[int, int, int] = (15, 15, 15)
    lens_colour: tuple[int, int, int] = (200, 220, 230)
    lens_alpha: float = 0.1  # 0 clear .. ~0.9 dark sunglasses
    vertical_offset: float = 0.04  # lens centre below the eye centre, / eye distance
    temple_length: float = 0.55  # temple arm length / eye distance
    bridge_lift: float = 0.12  # bridge height above the lens centre line, / eye distance

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"unknown glasses shape {self.shape!r}; choose from {sorted(SHAPES)}")
        if not 0.0 <= self.lens_alpha <= 1.0:
            raise ValueError("lens_alpha must be in [0, 1]")


def random_style(rng: np.random.Generator, sunglasses_rate: float = 0.3) -> GlassesStyle:
    """Draw a varied, plausible style from `rng` (a numpy Generator)."""
    shape = str(rng.choice(list(SHAPES)))
    sunglasses = bool(rng.random() < sunglasses_rate)
    frame = _FRAME_COLOURS[int(rng.integers(len(_FRAME_COLOURS)))]
    jitter = rng.integers(-12, 13, size=3)
    frame = tuple(int(np.clip(c + j, 0, 255)) for c, j in zip(frame, jitter))
    if sunglasses:
        base = int(rng.integers(5, 45))
        tint = rng.integers(0, 25, size=3)
        lens = (base + int(tint[0]), base + int(tint[1]), base + int(tint[2]))
        lens_alpha = float(rng.uniform(0.72, 0.95))
    else:
        lens = (int(rng.integers(190, 256)), int(rng.integers(200, 256)), int(rng.integers(210, 256)))
        lens_alpha = float(rng.uniform(0.0, 0.18))
    aspect = {"round": (0.85, 1.0), "oval": (0.62, 0.8), "rect": (0.5, 0.7),
              "soft_rect": (0.55, 0.75), "aviator": (0.72, 0.9)}[shape]
    return GlassesStyle(
        shape=shape,
        lens_width=float(rng.uniform(0.70, 0.88)),
        lens_aspect=float(rng.uniform(*aspect)),
        frame_thickness=float(rng.uniform(0.045, 0.11)),
        frame_colour=frame,  # type: ignore[arg-type]
        lens_colour=lens,
        lens_alpha=lens_alpha,
        vertical_offset=float(rng.uniform(0.0, 0.10)),
        temple_length=float(rng.uniform(0.35, 0.7)),
        bridge_lift=float(rng.uniform(0.0, 0.2)),
    )


def _lens_outline(style: GlassesStyle, half_w: float, half_h: float, outward: float,
                  n: int = 64) -> np.ndarray:
    """Lens outline around (0, 0) in eye-line coordinates; +x is away from the nose."""
    exponent, droop = SHAPES[style.shape]
    t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    x = np.sign(c) * np.abs(c) ** (2.0 / exponent) * half_w
    y = np.sign(s) * np.abs(s) ** (2.0 / exponent) * half_h
    if droop:
        # Aviator: a flat-ish top, the lower outer part hangs down (teardrop).
        below = y > 0
        xo = (x * outward / half_w + 1.0) / 2.0  # 0 at the nose side, 1 at the temple side
        y = np.where(below, y * (1.0 + droop * xo), y * 0.85)
    return np.stack([x * outward, y], axis=1)


def draw_glasses(image: np.ndarray, eye_a: tuple[float, float], eye_b: tuple[float, float],
                 style: GlassesStyle | None = None, supersample: int = 4) -> np.ndarray:
    """Return a copy of `image` (uint8 H×W×3) with glasses drawn at the two eye centres."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError("image must be a uint8 H×W×3 array")
    style = style or GlassesStyle()
    h, w = image.shape[:2]
    k = int(supersample)
    ea = np.asarray(eye_a, dtype=np.float64)
    eb = np.asarray(eye_b, dtype=np.float64)
    if ea[0] > eb[0]:
        ea, eb = eb, ea  # ea: image-left eye, eb: image-right eye
    d = float(np.linalg.norm(eb - ea))
    if d < 1e-3:
        raise ValueError("eye points coincide")
    ux = (eb - ea) / d  # along the eye line, left -> right
    uy = np.array([-ux[1], ux[0]])  # perpendicular, pointing down in image coordinates

    def to_px(local: np.ndarray, origin: np.ndarray) -> list[tuple[float, float]]:
        pts = origin + local[:, :1] * ux + local[:, 1:2] * uy
        # Pixel centres: pixel (i, j) covers [i, i+1) at scale 1 -> [k*i, k*i+k) at scale k.
        pts = (pts + 0.5) * k
        return [(float(px), float(py)) for px, py in pts]

    half_w = 0.5 * style.lens_width * d
    half_h = half_w * style.lens_aspect
    stroke = max(1, int(round(style.frame_thickness * d * k)))
    frame_rgba = (*style.frame_colour, 255)
    lens_rgba = (*style.lens_colour, int(round(style.lens_alpha * 255)))

    overlay = Image.new("RGBA", (w * k, h * k), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    drop = style.vertical_offset * d
    centres = {-1.0: ea + drop * uy, 1.0: eb + drop * uy}  # outward sign -> lens centre
    outlines = {}
    for outward, centre in centres.items():
        local = _lens_outline(style, half_w, half_h, outward)
        outlines[outward] = to_px(local, centre)
        if lens_rgba[3] > 0:
            draw.polygon(outlines[outward], fill=lens_rgba)
    for outward, centre in centres.items():
        pts = outlines[outward]
        draw.line(pts + pts[:1], fill=frame_rgba, width=stroke, joint="curve")
        # Temple arm: from the outer top of the lens toward the ear, slightly down.
        start = np.array([[half_w * 0.97, -half_h * 0.45]])
        end = np.array([[half_w + style.temple_length * d, -half_h * 0.2]])
        p0 = to_px(start * [outward, 1.0], centre)[0]
        p1 = to_px(end * [outward, 1.0], centre)[0]
        draw.line([p0, p1], fill=frame_rgba, width=max(1, int(stroke * 0.8)))
    # Bridge: a shallow arc between the inner edges of the two lenses.
    mid = (centres[-1.0] + centres[1.0]) / 2.0
    inner = 0.5 * d - half_w
    lift = style.bridge_lift * d + half_h * 0.2
    bridge_local = np.array([[-inner - half_w * 0.05, -lift * 0.6], [-inner * 0.5, -lift * 0.95],
                             [0.0, -lift], [inner * 0.5, -lift * 0.95],
                             [inner + half_w * 0.05, -lift * 0.6]])
    draw.line(to_px(bridge_local, mid), fill=frame_rgba, width=stroke, joint="curve")

    # Box-filter the supersampled overlay down with premultiplied alpha.
    ov = np.asarray(overlay, dtype=np.float32) / 255.0
    alpha = ov[..., 3:4]
    premult = ov[..., :3] * alpha
    premult = premult.reshape(h, k, w, k, 3).mean(axis=(1, 3))
    alpha = alpha.reshape(h, k, w, k, 1).mean(axis=(1, 3))
    base = image.astype(np.float32) / 255.0
    out = premult + (1.0 - alpha) * base
    out = np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)
    untouched = alpha[..., 0] <= 0.0
    out[untouched] = image[untouched]
    return out
