"""The motion of a geometric edit read from dlib's 68 landmarks on the two decodes.

The optical flow of ``flow_composite`` carries little of a smile: on the real portraits the fitted
decode moves the Smiling measure by +0.2 … +1.4 s.d. at ±2σ, the reconstruction warped by the flow
by −0.2 … +0.3 (docs/photo.md, "The landmark flow") — at 64 px a smile is a corner moving a pixel
or two inside a change that is mostly shading and teeth, and a smooth colour match prefers to
leave it. The landmarks say where the mouth corners, lids, nose and jaw *went*; this module turns
their displacements into a smooth field over the crop::

    d_i  = p_i(reconstruction) − p_i(edited)                       crop px, one face box for both
    F(u) = Σ_i k(u, p_i(edited)) d_i / Σ_i k(u, p_i(edited))         k: Gaussian of σ = SIGMA crop px
    c(u) = min(1, Σ_i k(u, p_i(edited)) / COVER)                    how far the landmarks speak for u

in the flow convention of ``flow_composite``: dst(u) ≈ src(u + F(u)). The lips' moves are taken
without the change of the mouth's opening (``closed_mouth``): a gap is drawn, not moved.
``flow_composite.motion`` uses F where the landmarks reach (c) and the optical flow elsewhere
(forehead, hair, background). The same
box is used for both decodes, as the landmark judge does, so that the points move with the face and
not with the detector. None when dlib finds no face on the reconstruction (or one it is not sure of:
its detector score under MIN_SCORE).
"""

from __future__ import annotations

import numpy as np

from engine.small_cache import SmallCache, array_key

SIGMA = 2.0  # crop px: one landmark's reach (a 64-px crop: the mouth is ~12 px wide, an eye ~7); 3 and 4.5 carried less of a smile (docs/photo.md)
COVER = 1.0  # Σ k at which the landmarks alone decide a pixel's motion (one landmark at its own place: 1)
MIN_MOVE = 0.05  # crop px: a mean landmark move below this is landmarker noise, not an edit
# The landmarks whose moves are used: jaw, brows, nose, mouth. Not the eyes (36-47): at 64 px a lid
# moves by less than dlib's quarter-pixel step (it reads a 4x upscale), so their moves are mostly
# noise; with them EyesOpen went the right way on 10 of 12 real-portrait edits, without on 12.
USED = np.r_[0:36, 48:68]
# dlib's jaw contour, in order: a field of separate Gaussians around its 17 points (3-5 crop px apart)
# left gaps where the optical flow decided, and a head turn's jaw came out beaded and wavy. Points
# between neighbours (moves interpolated) fill those gaps — only the gaps: where the landmarks already
# speak (Σ k ≥ COVER) they add nothing, since as equal voters the in-between points pulled Grace
# Hopper's smiling mouth corners towards the jaw's smaller move (Smiling +3σ +1.73 -> +0.53 s.d.).
# Only the jaw: the brows' in-between points reached over the lids, where the optical flow carries
# EyesOpen (right way 16 -> 12 of 16 with the brows and nose too, seed-2 fits).
CHAINS = (np.r_[0:17],)
BETWEEN = 2  # points added between neighbours on a contour
UPPER_INNER, LOWER_INNER = [61, 62, 63], [67, 66, 65]  # the inner lips' edges, paired column by column
UPPER_LIP, LOWER_LIP = np.r_[49:54, 61:64], np.r_[55:60, 65:68]  # outer and inner edges, without the corners
MIN_OPENING = 0.25  # crop px: dlib's step (it reads a 4x upscale); less is no opening
ROUND = 0.75  # crop px: the lips' line and the opening along it, their kinks rounded over this (``_rounded``)
FADE = 4.0  # crop px below the chin over which a jaw drop fades out (the neck stretches, the collar does not)
#: A head turn's field beyond the landmarks (``head_field``): their moves spread with a Gaussian this
#: wide (crop px), fading out where its summed weight falls under 1/HEAD_FADE of its peak (the hair
#: moves with the head, the background stays). Where the optical flow decided there instead, the
#: cGAN's turned decodes swirled the hair beside the turned cheek and bent the ears (docs/photo.md).
HEAD_SIGMA = 8.0
HEAD_FADE = 3.0
MIN_SCORE = 0.3  # dlib's detector score on the reconstruction below which its landmarks are not trusted
# (the fitted decodes of real portraits: 0.85-1.23; a drawing of three blobs it calls a face: 0.02)
#: What an expression edit may change on the photo: its feature's landmarks (dlib's 68), each reaching a
#: Gaussian of this σ (crop px). The fitted 64-px decoder's directions are entangled: on Grace Hopper
#: EyesOpen ±3σ moved the jaw by up to 4 crop px (the hair and flag beside it swirled) and −3σ drew a
#: smile. The head's own edits (HeadYaw, HeadRoll) move it all.
REGIONS = {
    "Smiling": (np.r_[31:36, 48:68], 5.0),  # the mouth, the nose's wings; the cheeks within reach
    "MouthOpen": (np.r_[5:12, 48:68], 4.0),  # the mouth and the chin it drops
    "EyesOpen": (np.r_[17:27, 36:48], 4.0),  # the eyes and brows
}
#: What a head edit may *change* (add) on the photo, where it moves the whole head: the face. HeadRoll's
#: change carries the eyes' tilt (the landmark field has no eye points), and beyond the face it was a
#: pale double of the hair beside the ear (Grace Hopper, −3σ).
CHANGE_REGIONS = {"HeadRoll": (np.r_[0:68], 4.0)}


def _u8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(image, np.float32)), 0, 255).astype(np.uint8)


def _reference(reconstruction: np.ndarray):
    """(upscale factor, box, points) of the reconstruction, cached: every edit of a photo shares
    them; None when dlib finds no face on it with a score of at least MIN_SCORE."""
    from engine.data.landmarks import detect, points_in

    img = _u8(reconstruction)

    def find():
        found = detect(img, MIN_SCORE)
        return None if found is None else (found[1], found[2], points_in(*found))

    return _REFS.get_or_compute(array_key(img), find)


_REFS: SmallCache[tuple | None] = SmallCache(4)


def landmark_points(reconstruction: np.ndarray, edited: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(68×2 points on the reconstruction, the same on the edited decode), crop px, read in the
    reconstruction's face box; None when dlib finds no face on the reconstruction (see MIN_SCORE)."""
    from engine.data.landmarks import points_in, upscaled

    ref = _reference(reconstruction)
    if ref is None:
        return None
    k, box, before = ref
    return before, points_in(upscaled(_u8(edited), k), k, box)


def closed_mouth(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """``after`` with the change of the mouth's opening taken out: each lip moved by half of it
    towards the other, so the mouth's middle line moves as read and the gap not at all. The gap
    between the lips is new structure (teeth, a dark mouth), not motion: warped, a 64-px decode's
    grin stretched the photo's lips into a swollen blur; the residual adds the gap's shading instead."""
    move = after - before
    opening = move[LOWER_INNER, 1].mean() - move[UPPER_INNER, 1].mean()
    out = after.copy()
    out[UPPER_LIP, 1] += opening / 2
    out[LOWER_LIP, 1] -= opening / 2
    return out


def between(points: np.ndarray) -> np.ndarray:
    """BETWEEN evenly spaced points between each two neighbours of CHAINS (k·links×2)."""
    t = (np.arange(1, BETWEEN + 1) / (BETWEEN + 1))[:, None, None]
    return np.concatenate([((1.0 - t) * points[c[:-1]] + t * points[c[1:]]).reshape(-1, 2) for c in CHAINS])


def mouth_opening(reconstruction: np.ndarray, edited: np.ndarray, points: tuple | None = None) -> tuple[np.ndarray, ...] | None:
    """(jaw: S×S×4 float32, around, lips: S×S float32 in 0..1) — the change of the mouth's opening that
    ``closed_mouth`` takes out of the landmark field, as a jaw drop: in the frame of the closed-mouth
    warp, everything below the lips' line (the lower lip, the chin; fading out over FADE px below the
    chin) moves down by the opening o(x) (largest mid-mouth, 0 at the corners), and the band it opens
    samples the line itself; that band is where the photo has nothing to show (the composite paints
    a mouth's interior there). ``jaw`` holds the smooth fields that say so (crop px below the line,
    o, the fade, and the upper inner lip's height above the line: ``mouth_inside``), which
    :func:`jaw_drop` turns into the drop and the band wherever they are read: on the crop's raster
    or at each pixel of the photo. ``around``: the same band centred on the lips' line —
    where the decode's opening lies when the mouth is *not* opened (every other edit), whose shading
    the composite then leaves out. ``lips``: the reconstruction's (so the photo's) lips, whose colour
    that interior is painted in. A mouth that closes (o < 0) moves the lower part up. None
    without a face or when the opening changes by less than MIN_OPENING. ``points``: landmark_points'
    answer when the caller has it already."""
    pts = points or landmark_points(reconstruction, edited)
    if pts is None:
        return None
    before, after = pts
    o = (after[LOWER_INNER, 1] - after[UPPER_INNER, 1]) - (before[LOWER_INNER, 1] - before[UPPER_INNER, 1])
    if float(np.abs(o).max()) < MIN_OPENING:
        return None
    closed = closed_mouth(before, after)
    lower, upper = closed[LOWER_INNER], closed[UPPER_INNER]
    xs = np.r_[closed[48, 0], closed[60, 0], (lower[:, 0] + upper[:, 0]) / 2, closed[64, 0], closed[54, 0]]
    line = np.r_[closed[48, 1], closed[60, 1], (lower[:, 1] + upper[:, 1]) / 2, closed[64, 1], closed[54, 1]]
    opening = np.r_[0.0, 0.0, o, 0.0, 0.0]
    up = np.r_[0.0, 0.0, (lower[:, 1] - upper[:, 1]) / 2, 0.0, 0.0]  # the upper inner lip above the line (the teeth a smile shows)
    order = np.argsort(xs)
    s = reconstruction.shape[0]
    ys, xg = np.mgrid[0:s, 0:s].astype(np.float64)
    ox = np.interp(xg, *_rounded(xs[order], opening[order], s, 0.0))
    below = ys - np.interp(xg, *_rounded(xs[order], line[order], s, None))  # crop px under the lips' line
    chin = max(closed[8, 1], closed[57, 1] + 1.0)
    fade = np.clip(1.0 - (ys - chin) / FADE, 0.0, 1.0)
    jaw = np.stack([below, ox, fade, np.maximum(np.interp(xg, *_rounded(xs[order], up[order], s, 0.0)), 0.0)], -1).astype(np.float32)
    around = band_cover(below, -ox / 2, ox / 2)  # the band, centred on the line
    return jaw, around.astype(np.float32), lips_mask(before, s)


def band_cover(below: np.ndarray, top, bottom, k: float = 1.0) -> np.ndarray:
    """The share of each pixel (``k`` crop px tall, at ``below`` crop px under the lips' line) that
    lies between ``top`` and ``bottom`` (crop px under the line): a band antialiased by its cover,
    so that one thinner than a pixel fades instead of drawing a half-grey hairline."""
    return np.clip((np.minimum(below + k / 2, bottom) - np.maximum(below - k / 2, top)) / k, 0.0, 1.0)


def mouth_inside(jaw: np.ndarray, reach: float = 1.0) -> np.ndarray:
    """Where an opened mouth is (0..1, on the fields' raster): from the upper inner lip (the teeth it
    shows) to the opened band's bottom, ``reach`` crop px beyond both, fading with the opening
    towards the corners. The composite draws it from the photo (the teeth, warped) and the painted
    band; the decode's change there — its own blurry mouth, which greyed the teeth and the lower
    lip — is left out."""
    below, ox, up = jaw[..., 0], jaw[..., 1], jaw[..., 3]
    return band_cover(below, -up - reach, ox + reach) * np.clip(ox / MIN_OPENING, 0.0, 1.0)


def scaled_opening(jaw: np.ndarray, weight) -> np.ndarray:
    """``jaw`` with its opening times ``weight`` (a number, or S×S): an edit that is only partly an
    opening opens the mouth less, its band still painted opaque (a faded band was a grey mouth)."""
    out = jaw.copy()
    out[..., 1] *= weight
    return out


def jaw_drop(jaw: np.ndarray, k: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(dy: crop px, gap: 0..1) where ``jaw``'s fields (…×4: crop px below the closed lips' line,
    the opening there, the fade below the chin, the upper inner lip above the line) were read — the
    crop's own raster, or the output pixels (``engine.open_mouth``). ``dy``: the jaw drop's flow (y; the band
    samples the line itself, below it the lower part moves down by the opening); ``gap``: the band
    it opens, its edges antialiased over ``k`` crop px (one pixel of where the fields were read). A
    mouth that closes (opening < 0) moves the lower part up, ramped in over a crop px under the line."""
    below, ox, fade = jaw[..., 0], jaw[..., 1], jaw[..., 2]
    opens = ox > 0
    # a closing mouth: the lower part slides up from a crop px ramp under the line (a seam one output px
    # wide drew a hard line where the lower lip met the upper teeth)
    along = np.where(opens, np.clip(below / np.where(opens, ox, 1.0), 0.0, 1.0), np.clip(below + 0.5, 0.0, 1.0))
    return (-ox * along * fade).astype(np.float32), band_cover(below, 0.0, ox, k).astype(np.float32)


def _rounded(xs: np.ndarray, ys: np.ndarray, size: int, outside: float | None, step: float = 0.125) -> tuple[np.ndarray, np.ndarray]:
    """The polyline through (xs, ys) on a fine grid over 0..size with its kinks rounded (a Gaussian
    of ROUND crop px), for np.interp: seven lip points joined by straight lines drew the opened band
    as a polygon, its corners plain at a photo's resolution. ``outside``: the value beyond the ends
    (None: the ends' own)."""
    fine = np.arange(-4 * ROUND, size + 4 * ROUND + step, step)
    left, right = (ys[0], ys[-1]) if outside is None else (outside, outside)
    v = np.interp(fine, xs, ys, left=left, right=right)
    r = np.arange(-4 * ROUND, 4 * ROUND + step / 2, step)
    kernel = np.exp(-0.5 * (r / ROUND) ** 2)
    pad = len(r) // 2
    smooth = np.convolve(np.r_[np.full(pad, v[0]), v, np.full(pad, v[-1])], kernel / kernel.sum(), mode="valid")
    return fine, smooth


def lips_mask(points: np.ndarray, size: int, supersample: int = 4) -> np.ndarray:
    """size×size float32 in 0..1: the lips (between dlib's outer and inner lip contours), antialiased."""
    from PIL import Image, ImageDraw

    big = Image.new("L", (size * supersample, size * supersample), 0)
    draw = ImageDraw.Draw(big)
    scaled = lambda idx: [tuple(p) for p in (points[idx] * supersample).tolist()]  # noqa: E731
    draw.polygon(scaled(np.r_[48:60]), fill=255)
    draw.polygon(scaled(np.r_[60:68]), fill=0)
    return np.asarray(big.resize((size, size), Image.BOX), np.float32) / 255.0


def _gaussians(points: np.ndarray, size: int, sigma: float) -> np.ndarray:
    """size×size×n: each point's Gaussian of ``sigma`` crop px, at the pixel centres' crop coordinates."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    return np.exp(-((xs[..., None] - points[:, 0]) ** 2 + (ys[..., None] - points[:, 1]) ** 2) / (2.0 * sigma**2))


def landmark_flow(reconstruction: np.ndarray, edited: np.ndarray, points: tuple | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(F: S×S×2 float32 crop px with edited(u) ≈ reconstruction(u + F(u)) near the landmarks,
    c: S×S float32 in 0..1, where the landmarks decide) — module doc; None without a face, or when
    the landmarks do not move (a zero field would only hide the optical flow). ``points``: as for
    mouth_opening."""
    pts = points or landmark_points(reconstruction, edited)
    if pts is None:
        return None
    before, after = pts[0], closed_mouth(*pts)
    d = before[USED] - after[USED]
    if float(np.linalg.norm(d, axis=1).mean()) < MIN_MOVE:
        return None
    s = reconstruction.shape[0]
    gaps_after = between(after)
    k, kb = _gaussians(after[USED], s, SIGMA), _gaussians(gaps_after, s, SIGMA)
    fill = np.clip(1.0 - k.sum(-1) / COVER, 0.0, 1.0)[..., None]  # the in-between points speak only in the gaps
    kb = kb * fill
    total = k.sum(-1) + kb.sum(-1)
    flow = (k @ d + kb @ (between(before) - gaps_after)) / np.maximum(total, 1e-12)[..., None]
    cover = np.minimum(total / COVER, 1.0)
    return flow.astype(np.float32), cover.astype(np.float32)


def feature_region(points: tuple, name: str, size: int, change: bool = False) -> np.ndarray | None:
    """size×size float32 in 0..1: where an edit of ``name`` may move and change the photo (REGIONS:
    its feature's landmarks before and after the edit, their Gaussians summed and clipped at 1); None
    for an edit that may change the whole head. ``change``: where it may add its change (a head edit
    moves the whole head but changes only the face: CHANGE_REGIONS). ``points``: landmark_points' answer."""
    regions = {**REGIONS, **CHANGE_REGIONS} if change else REGIONS
    if name not in regions:
        return None
    idx, sigma = regions[name]
    at = np.concatenate([points[0][idx], points[1][idx]])
    return np.minimum(_gaussians(at, size, sigma).sum(-1), 1.0).astype(np.float32)


def head_field(points: tuple, field: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """A head turn's motion over the whole crop (S×S×2 float32, crop px): ``landmark_flow``'s field
    ``(F, c)`` where the landmarks decide, elsewhere their moves spread smoothly (HEAD_SIGMA) and fading
    out away from the face (HEAD_FADE) — the hair and ears move with the head, in one piece.
    ``points``: landmark_points' answer for the same decodes."""
    lm, cover = field
    before, after = points[0], closed_mouth(*points)
    at = np.concatenate([after[USED], between(after)])
    moves = np.concatenate([before[USED] - after[USED], between(before) - between(after)])
    k = _gaussians(at, lm.shape[0], HEAD_SIGMA)
    total = k.sum(-1)
    spread = (k @ moves) / np.maximum(total, 1e-12)[..., None]
    reach = np.clip(HEAD_FADE * total / max(float(total.max()), 1e-12), 0.0, 1.0)[..., None]
    c = cover[..., None]
    return (c * lm + (1.0 - c) * reach * spread).astype(np.float32)
