"""Geometric edits as a warp of the photo's own pixels (docs/photo.md, "Geometric edits").

Adding the 64-pixel model's change D(z') − D(z) to a sharp photo cannot *move* a feature: a smile
becomes a blurred ghost of the moved mouth corners laid over the photo's unmoved ones. Here the
motion part of the change is found as an optical flow between the two decodes and applied to the
photo's pixels; only what the motion does not explain is added, as before::

    F(u)   = argmin  Σ m·|D(z')(u) − D(z)(u + F(u))|² + λ·|∇F|²      crop px, a smooth control grid
    w      = smoothstep of the latent step's share on the warped attributes (1 for a Smiling/MouthOpen/
             EyesOpen/HeadYaw/HeadRoll edit, locked or not; 0 for Eyeglasses, Male, ...)
    out(p) = photo(p + w·J⁻¹·m·F(A p)) + warp⁻¹(m·(D(z') − D(z)∘(u + w·F)))

(A p: the output pixel's crop position; J = d crop / d output pixel, from the sampling grid; m:
the change's crop mask, so the flow fades out with it.) The gate is in the latent, not in the
pixels: new structure (Eyeglasses' frames) is not motion, but a smooth flow "explains" as much of
its energy as of a smile's (``explained_share``, kept as a diagnostic), so only geometric edits are
warped and every other edit composites exactly as before. A zero edit never gets here (the caller
returns the photo), and pixels the faded flow does not move are copied, not resampled.

Where dlib's landmarks reach (jaw, brows, nose, mouth), F is their displacement between the two
decodes instead (``engine.landmark_flow``): the optical flow above carried little of a smile, the
landmarks carry it (docs/photo.md, "The landmark flow"); the optical flow decides elsewhere and
whenever dlib is not sure of the face. The lips move there without the change of the mouth's
opening; for a MouthOpen edit (``OPENS``, its own weight) the opening is a jaw drop composed on top,
and the band it opens is painted as a mouth's inside: a deep red, shaded from the photo's lips'
brightness, both cut at the photo's own pixels (``engine.open_mouth``; docs/photo.md, "The mouth's
opening"). A head turn (``WARP_ONLY``) moves by the landmarks'
moves spread over hair and ears instead of the optical flow there (``Motion.head``; docs/photo.md,
"A head turn in one piece"). A step that holds a turn beside other edits is the rest of it, composited
as above, then turned as the turn alone moves the head: each output pixel shows the rest's result
where the turn moves it from (``turn_step``, ``turn_field``, ``flow_layer``'s ``turn``; docs/photo.md,
"A head turn beside another slider"); a roll moves in one piece too, its change added on the face
only. An expression edit (Smiling, MouthOpen, EyesOpen) changes the photo only within its feature's
landmarks (``edit_regions``; docs/photo.md, "An expression changes its feature, not the face").

Functions of numpy arrays (the last few flows cached); torch only for the small optimisation and the
resampling; ``photo_change`` is PhotoEdit.warped_change's hook.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from engine.crop_warp import PhotoRows, as_tensor, crop_to_output, identity_grid, output_displacement, output_jacobian_inverse, resample, sample, warp_patch
from engine.data.images import gaussian_blur
from engine.landmark_flow import jaw_drop, mouth_inside, scaled_opening
from engine.open_mouth import OpenMouth
from engine.step_parts import HEAD_MOVES, OPENS, WARP_ONLY, WARPED, edit_regions, geometric_weights, opening_part, readouts_of, turn_step
from engine.protocol import still_wanted
from engine.small_cache import SmallCache, array_key

CONTROL = 16  # control points per side of the flow (a 64-px crop: one per 4 px — features, not texture)
SMOOTH = 1e-2  # λ per squared crop px between neighbouring control points (data term ~1e-3): 1e-4..1e-3 fold lips and noses
STAGES = ((2.0, 20), (1.0, 20), (0.5, 20))  # (Gaussian blur σ in crop px, Adam steps): coarse to fine
QUICK_STAGES = ((1.0, 20),)  # a preview's flow: 2.5× cheaper; the default model's ±3σ geometric edits: within 0.2-0.5 crop px (p95)
LR = 0.1  # crop px per Adam step (3×20 steps land within 0.4 crop px of 3×40 at 0.05, in 40 % of the time)
MAX_FLOW = 6.0  # crop px: a larger motion is not an edit this model makes; clipped


@dataclass(frozen=True)
class Motion:
    """A change's motion part: the flow (S×S×2, crop px, dst(u) ≈ src(u + F)), the share of the
    change's energy it explains, and the weight w it is used with; the mouth's opening as a jaw drop
    (the fields ``landmark_flow.jaw_drop`` reads), the band around the closed lips and the lips
    (``landmark_flow.mouth_opening``; None without one) and the opening's weight; how far the edit is the warp alone (``WARP_ONLY``),
    which moves by ``head`` instead of ``flow`` as far (None: no landmarks, the flow)."""

    flow: np.ndarray
    share: float
    weight: float = 1.0
    jaw: np.ndarray | None = None  # landmark_flow.mouth_opening's fields (S×S×4), read by landmark_flow.jaw_drop
    around: np.ndarray | None = None
    opening_weight: float = 0.0
    lips: np.ndarray | None = None
    warp_only: float = 0.0
    head: np.ndarray | None = None  # a head turn's flow: the landmarks' moves spread over hair and ears (landmark_flow.head_field; motion(head=True))
    points: tuple | None = None  # landmark_flow.landmark_points' answer for the two decodes (None: no face)
    region: np.ndarray | None = None  # where the edit may move and change the photo (S×S, 0..1; None: anywhere; ``edit_regions``)
    change_region: np.ndarray | None = None  # where it may add its change (None: ``region``)
    in_one_piece: float = 0.0  # how far the edit moves the head in one piece (HEAD_MOVES): by ``head``, not the optical flow beyond the landmarks


def _dense(p, s: int):
    import torch.nn.functional as F

    return F.interpolate(p, size=(s, s), mode="bicubic", align_corners=False)  # 1×2×S×S, crop px


def crop_flow(src: np.ndarray, dst: np.ndarray, mask: np.ndarray | None = None, stages=None) -> np.ndarray:
    """The smooth flow F (S×S×2 float32, crop px) with dst(u) ≈ src(u + F(u)), inside ``mask``
    (S×S, weights; None: everywhere). Deterministic (Adam from F = 0, coarse to fine over
    ``stages``, default :data:`STAGES`)."""
    import torch
    import torch.nn.functional as F

    s = src.shape[0]
    a, b = as_tensor(src) / 255.0, as_tensor(dst) / 255.0
    m = torch.ones(1, 1, s, s) if mask is None else as_tensor(mask)
    m = m / m.sum().clamp_min(1e-6)
    base = identity_grid(s)
    p = torch.zeros(1, 2, CONTROL, CONTROL, requires_grad=True)
    opt = torch.optim.Adam([p], lr=LR)
    with torch.enable_grad():
        for sigma, steps in stages or STAGES:
            still_wanted()  # a render nobody waits for stops here too (the optimisation is ~0.1-0.6 s)
            ab, bb = gaussian_blur(a, sigma, truncate=3.0), gaussian_blur(b, sigma, truncate=3.0)
            for _ in range(steps):
                f = _dense(p, s)
                w = F.grid_sample(ab, base + f.permute(0, 2, 3, 1) * (2.0 / s), mode="bilinear", padding_mode="border", align_corners=False)
                data = (((w - bb) ** 2).sum(1, keepdim=True) * m).sum()
                smooth = ((p[:, :, 1:] - p[:, :, :-1]) ** 2).mean() + ((p[:, :, :, 1:] - p[:, :, :, :-1]) ** 2).mean()
                loss = data + SMOOTH * smooth
                opt.zero_grad()
                loss.backward()
                opt.step()
                with torch.no_grad():
                    p.clamp_(-MAX_FLOW, MAX_FLOW)
    with torch.no_grad():
        return _dense(p, s)[0].permute(1, 2, 0).numpy().astype(np.float32)


def min_jacobian(flow: np.ndarray) -> float:
    """The smallest det(I + ∇F) over the crop: ≤ 0 where the warp folds (a fold is a smear, not a motion)."""
    fx, fy = np.gradient(flow[..., 0]), np.gradient(flow[..., 1])  # each: (d/d row, d/d column)
    return float(((1.0 + fx[1]) * (1.0 + fy[0]) - fx[0] * fy[1]).min())


def explained_share(src: np.ndarray, dst: np.ndarray, flow: np.ndarray, mask: np.ndarray) -> float:
    """1 − (energy of dst − src∘(u+F)) / (energy of dst − src), both weighted by ``mask``; 0 for no change."""
    a, b, m = np.asarray(src, np.float32), np.asarray(dst, np.float32), np.asarray(mask, np.float32)[:, :, None]
    total = float((((b - a) ** 2) * m).sum())
    if total <= 0:
        return 0.0
    return float(1.0 - (((b - resample(a, flow)) ** 2) * m).sum() / total)


def motion(reconstruction: np.ndarray, face: np.ndarray, mask: np.ndarray, quick: bool = False, landmarks: bool = True,
           head: bool = False) -> Motion:  # fmt: skip
    """The motion part of the change from ``reconstruction`` to ``face`` (S×S×3 decodes) inside
    ``mask``; the last few are cached (the full-resolution render and the exports of an edit share
    one). ``quick``: the coarse flow of :data:`QUICK_STAGES`, for previews while a slider moves.
    ``landmarks``: where dlib's landmarks reach, their displacement decides the motion
    (``engine.landmark_flow``), the optical flow elsewhere; without a face on the decode, the
    optical flow alone. ``head``: with a head turn's field too (``Motion.head``, ~7 ms: only for an
    edit that is partly a head turn, not every geometric preview frame)."""
    return _CACHE.get_or_compute(array_key(reconstruction, face, mask, tag=bytes([quick, landmarks, head])),
                                 lambda: _motion(reconstruction, face, mask, quick, landmarks, head))


def _motion(reconstruction: np.ndarray, face: np.ndarray, mask: np.ndarray, quick: bool, landmarks: bool, with_head: bool) -> Motion:
    flow = crop_flow(reconstruction, face, mask, QUICK_STAGES if quick else STAGES)
    if landmarks:
        from engine.landmark_flow import head_field, landmark_flow, landmark_points, mouth_opening

        points = landmark_points(reconstruction, face)  # read once for all
        found = landmark_flow(reconstruction, face, points) if points is not None else None
        head = None
        if found is not None:
            lm, cover = found[0], found[1][:, :, None]
            flow = np.clip(cover * lm + (1.0 - cover) * flow, -MAX_FLOW, MAX_FLOW).astype(np.float32)
            head = np.clip(head_field(points, found), -MAX_FLOW, MAX_FLOW) if with_head else None
        opened = mouth_opening(reconstruction, face, points) if points is not None else None
        if opened is not None:
            jaw, around, lips = opened
            return Motion(flow, explained_share(reconstruction, face, flow, mask), 1.0, jaw, around, lips=lips, head=head, points=points)
        return Motion(flow=flow, share=explained_share(reconstruction, face, flow, mask), head=head, points=points)
    return Motion(flow=flow, share=explained_share(reconstruction, face, flow, mask))


_CACHE: SmallCache[Motion] = SmallCache(8)


def turn_field(reconstruction: np.ndarray, turned: np.ndarray, mask: np.ndarray, quick: bool = False) -> np.ndarray:
    """A head turn from the reconstruction to the decode ``turned`` (S×S×2 crop px, not yet faded by
    ``mask``): the landmarks' moves in one piece (``landmark_flow.head_field``), the optical flow
    without a face or a landmark move. Cached: dragging another slider beside it keeps it."""
    return _TURNS.get_or_compute(array_key(reconstruction, turned, mask, tag=bytes([quick])),
                                 lambda: _turn_field(reconstruction, turned, mask, quick))  # fmt: skip


def _turn_field(reconstruction: np.ndarray, turned: np.ndarray, mask: np.ndarray, quick: bool) -> np.ndarray:
    from engine.landmark_flow import head_field, landmark_flow, landmark_points

    points = landmark_points(reconstruction, turned)
    found = landmark_flow(reconstruction, turned, points) if points is not None else None
    if found is None:
        return crop_flow(reconstruction, turned, mask, QUICK_STAGES if quick else STAGES)
    return np.clip(head_field(points, found), -MAX_FLOW, MAX_FLOW)


_TURNS: SmallCache[np.ndarray] = SmallCache(4)
STILL = Motion(flow=np.zeros((1, 1, 2), np.float32), share=0.0, weight=0.0)  # no motion: the change is added as it is


Rows = Callable[[slice], np.ndarray]


def flow_layer(original: np.ndarray, grid, reconstruction: np.ndarray, face: np.ndarray, delta: np.ndarray, mask: np.ndarray,
               colour=lambda d: d, mot: Motion | None = None, turn: np.ndarray | None = None) -> tuple[Rows, Motion]:  # fmt: skip
    """(``rows(band)``: the change over those output rows, band×W×3 float32; the motion used): the
    photo warped by the weighted flow minus the photo, plus the part of ``delta`` (the masked,
    coloured crop change D(z') − D(z)) the flow does not explain. With weight 0 this is ``delta``
    sampled at ``grid``. ``turn``: a head turn after it (S×S×2 crop px, faded by the mask): each
    output pixel p shows what the rest made at p + turn(p) — one resampling of the photo, the
    residual and the opened mouth moved with the head. The crop-space work is done here, once;
    ``rows`` does the output's."""
    mot = mot or motion(reconstruction, face, mask)
    s = mask.shape[0]
    inv = output_jacobian_inverse(grid, s)
    source = PhotoRows(original)

    def turned(g):
        """(the crop positions the turn reads output pixels ``g`` from; its displacement there, output px, or None)"""
        if turn is None:
            return g, None
        import torch

        t = sample(turn, g, mode="bilinear")  # crop px at the output pixels
        return g + torch.from_numpy(t * (2.0 / s)), crop_to_output(t, inv)

    if mot.weight <= 0:
        if turn is None:
            return (lambda band: sample(delta, grid[:, band])), mot

        def still(band: slice) -> np.ndarray:
            g, d = turned(grid[:, band])
            return sample(delta, g) + (warp_patch(original, d, band.start or 0, source) - np.asarray(original[band], np.float32))

        return still, mot
    one = max(mot.in_one_piece, mot.warp_only)
    moves = mot.flow if mot.head is None or one <= 0 else mot.flow + one * (mot.head - mot.flow)  # a head turn or roll: in one piece
    where = mask if mot.region is None else mask * mot.region
    f = moves * (mot.weight * where)[:, :, None]
    opened, moved = None, f
    jaw = None
    if mot.jaw is not None and mot.opening_weight > 0:  # the mouth's opening: a jaw drop, cut at the photo's pixels
        jaw = scaled_opening(mot.jaw, mot.opening_weight * mask)  # partly an opening edit: a smaller opening, not a fainter one
        reach = 0.0 if turn is None else float(np.abs(turn).max())
        opened = OpenMouth(jaw, f, grid, inv, original, mot.lips, reach)
        drop = np.zeros_like(f)
        drop[..., 1] = jaw_drop(jaw)[0]
        moved = drop + resample(f, drop)  # on the crop's raster: what the motion explains of the change
    recon = np.asarray(reconstruction, np.float32)
    explained = colour((resample(recon, moved) - recon) * mask[:, :, None])
    residual = delta - explained
    if mot.around is not None and mot.opening_weight < 1:  # a mouth not opened: the decode's gap is not added either
        residual = residual * (1.0 - mot.weight * (1.0 - mot.opening_weight) * mot.around)[:, :, None]
    residual = residual * (1.0 - mot.weight * mot.warp_only)  # a head turn: the warp alone
    changes = mot.region if mot.change_region is None else mot.change_region
    if changes is not None:  # an expression edit changes its feature, not the rest of the face the decode dragged along
        residual = residual * (1.0 - mot.weight * (1.0 - changes))[:, :, None]
    if jaw is not None:  # the opened mouth is the photo's teeth and the painted band: the decode's own mouth is left out
        residual = residual * (1.0 - mask * mouth_inside(jaw))[:, :, None]
    still_wanted()  # the motion may have taken a while

    def rows(band: slice) -> np.ndarray:
        (g, d), here = turned(grid[:, band]), np.asarray(original[band], np.float32)
        if opened is None:
            disp = output_displacement(f, g, inv)
            warped = warp_patch(original, disp if d is None else disp + d, band.start or 0, source)
            return sample(residual, g) + (warped - here)
        disp, drawn, painted = opened.at(g, band.start or 0)
        warped = warp_patch(original, disp if d is None else disp + d, band.start or 0, source)
        change = sample(residual, g) + (warped - here)
        # the opened band shows what the photo does not have: a mouth's interior (without lips to take
        # a colour from, the decode in the colour mode of every change)
        if painted is None:
            painted = warped + colour(sample(np.asarray(face, np.float32), g) - warped)
        drawn = drawn[:, :, None]
        return (1.0 - drawn) * change + drawn * (painted - here)

    return rows, mot


def flow_change(original: np.ndarray, grid, reconstruction: np.ndarray, face: np.ndarray, delta: np.ndarray, mask: np.ndarray,
                colour=lambda d: d, mot: Motion | None = None, turn: np.ndarray | None = None) -> tuple[np.ndarray, Motion]:  # fmt: skip
    """:func:`flow_layer`'s change over all the output's rows at once (H×W×3 float32), and the motion."""
    rows, mot = flow_layer(original, grid, reconstruction, face, delta, mask, colour, mot, turn)
    return rows(slice(0, grid.shape[1])), mot


def photo_change(pe, z_edited: np.ndarray, labels, face: np.ndarray, delta: np.ndarray, original: np.ndarray, grid,
                 quick: bool = False) -> Rows | None:
    """PhotoEdit.warped_change's geometric path: the change over the output pixels, band by band
    (:func:`flow_layer`), when the edit is (partly) geometric, else None (the caller adds the plain
    change). A label edit is never warped. A step that holds a head turn in its own right
    (:func:`turn_step`) is the rest of it, composited as any edit, turned afterwards by the turn's own
    motion (``turn_field``: from the reconstruction to the turn alone's decode): two more 64-px decodes."""
    model = pe.model
    stats = getattr(model, "latent_stats", None)
    if not pe.same_labels(labels) or stats is None:
        return None
    step, attributes, readouts = np.asarray(z_edited, np.float64).reshape(-1) - pe.z, getattr(model, "attributes", None), readouts_of(model)
    turn = turn_step(step, attributes, stats.std, readouts)
    mask = pe.crop_mask(delta.shape[0])
    if turn is not None:
        rest = step - turn
        if float(rest @ rest) <= 1e-12 * float(step @ step):  # a head turn alone (least squares' rounding aside)
            rest, turned = np.zeros_like(step), face
        else:  # the turn as the slider alone makes it: the same beside any other, kept while another is dragged
            turned = pe.delta((pe.z + turn).astype(np.float32), labels)[1]
        turn = turn_field(pe.reconstruction, turned, mask, quick) * mask[:, :, None]
        rest_delta, rest_face = pe.delta((pe.z + rest).astype(np.float32), labels)
        step, face, delta = rest, rest_face, (np.zeros_like(delta) if rest_delta is None else rest_delta)
    w, opens, warp_only, one = geometric_weights(step, attributes, stats.std, readouts, (WARPED, OPENS, WARP_ONLY, HEAD_MOVES))
    if w <= 0 and turn is None:
        return None
    from engine.fit_composite import colour_change

    if w <= 0:
        mot = STILL
    else:
        opens = max(opens, opening_part(step, attributes, stats.std, readouts))  # MouthOpen beside another slider opens the mouth too
        mot = motion(pe.reconstruction, face, mask, quick, head=max(warp_only, one) > 0)
        region, change_region = edit_regions(step, attributes, stats.std, readouts, mot.points, mask.shape[0])
        mot = replace(mot, weight=w, opening_weight=opens if mot.jaw is not None else 0.0, warp_only=warp_only,
                      region=region, change_region=change_region, in_one_piece=one)  # fmt: skip
    rows, _ = flow_layer(original, grid, pe.reconstruction, face, delta, mask, lambda d: colour_change(d, pe.colour), mot, turn)
    return rows
