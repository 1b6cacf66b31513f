"""What a latent step is, for the geometric composite (engine.flow_composite): how far it is a warped
(geometric) edit, an opening of the mouth or a head turn (the share rules), which attributes it holds in
its own right (coefficient and read-out), the head turn it holds, and where on the face it may change
the photo (its attributes' feature regions). Functions of the step, the model's attribute directions,
their σ and the read-outs the editor's locks hold; numpy only (the regions: engine.landmark_flow).
"""

from __future__ import annotations

import numpy as np

from engine.fit_composite import smoothstep

#: The attributes whose edits are warped. Only an edit whose latent step lies in their span is: the
#: share of a change's energy a flow explains does not tell motion from new structure (0.22–0.39 for
#: Eyeglasses, 0.14–0.51 for the geometric edits on the real portraits), and warping Eyeglasses
#: weakens its frames. MouthOpen was left out while its opening could only be a stretch of the lips
#: (the plain composite drew a dark smudge over the lower lip and chin instead); it is warped since
#: its opening is a jaw drop with the gap drawn (docs/photo.md, "The mouth's opening").
WARPED = ("Smiling", "MouthOpen", "EyesOpen", "HeadYaw", "HeadRoll")
OPENS = ("MouthOpen",)  # edits whose mouth opening is warped as a jaw drop and drawn; the others' is left to the residual
#: Edits that are the warp alone, the change the flow does not explain left out: a head turn is motion,
#: and what the 64-px decode changes beyond it is the turned face's ghost (the decode itself draws a
#: transparent double of the cheek at HeadYaw +3σ), which the residual pasted beside the warped jaw and
#: hair on every real portrait; the warp alone moves the yaw measure nearly as far (docs/photo.md).
#: Not HeadRoll: its residual carries the eyes' tilt (the landmark field leaves the eyes out; as the
#: warp alone the roll weakened, +0.66 -> +0.30 s.d. at +2σ). Beside other sliders a turn is applied
#: last, to what the rest of the step made (``turn_step``).
WARP_ONLY = ("HeadYaw",)
#: Edits that move the head in one piece (``Motion.head``: the landmarks' moves spread over hair and
#: ears) instead of by the optical flow beyond the landmarks, which swirled the hair beside a turned
#: or rolled face. HeadRoll keeps its change (the eyes' tilt), on the face only (``edit_regions``).
HEAD_MOVES = ("HeadYaw", "HeadRoll")
PART_LO, PART_HI = 0.5, 1.0  # σ of an opening direction in a step: not opened below LO, in full from HI (``opening_part``)
HELD_LO, HELD_FULL = 0.05, 0.25  # σ of an attribute a step holds in its own right: not counted below LO, in full from FULL (``_held``)
SPAN_LO, SPAN_HI = 0.5, 0.9  # the step's share in that span: no warp below LO, in full from HI


def geometric_weight(step: np.ndarray, attributes: dict | None, std: np.ndarray, readouts: dict | None = None,
                     names: tuple[str, ...] = WARPED) -> float:  # fmt: skip
    """How far a latent step is a warped (geometric) edit, smoothstepped from SPAN_LO (0) to SPAN_HI (1);
    with ``names=OPENS``, how far it is an edit whose mouth opening is drawn as a jaw drop (and so on:
    ``geometric_weights`` for one group)."""
    return geometric_weights(step, attributes, std, readouts, (names,))[0]


def geometric_weights(step: np.ndarray, attributes: dict | None, std: np.ndarray, readouts: dict | None,
                      groups: tuple[tuple[str, ...], ...]) -> tuple[float, ...]:  # fmt: skip
    """For each group of attribute names (WARPED, OPENS, WARP_ONLY), how far ``step`` is an edit of
    that group, smoothstepped from SPAN_LO (0) to SPAN_HI (1). The share is the larger of (a) the
    step's energy share in the span of the group's attribute steps (a slider edit as the model stores
    it) and (b) the group's share of Σ r_a², r_a the change of attribute a's read-out (``readouts``:
    the vectors the editor's locks keep fixed, classifier normals where stored) in units of its own 1σ
    step. (b) is what a *locked* edit keeps: the editor projects the locked attributes' read-outs out
    of a step, which takes it out of the span of (a) (a locked Smiling step of the default model has
    0.37–0.48 of its energy there, and 0.89–1.0 of its read-out change on the warped attributes).
    0 for a group none of whose directions the model has."""
    from engine.protocol.edits import attribute_step_vector

    step = np.asarray(step, np.float64).reshape(-1)
    total = float(step @ step)
    attributes = attributes or {}
    if total <= 0:
        return tuple(0.0 for _ in groups)
    steps = {n: attribute_step_vector(d, std) for n, d in attributes.items()}
    r2 = {n: r * r for n, r in _readout_moves(step, steps, attributes, readouts).items()} if readouts else {}
    moved = sum(r2.values())
    weights = []
    for names in groups:
        if not any(n in steps for n in names):
            weights.append(0.0)
            continue
        q, _ = np.linalg.qr(np.stack([steps[n] for n in names if n in steps], 1))
        share = float(np.sum((q.T @ step) ** 2) / total)
        if moved > 0:
            share = max(share, sum(v for n, v in r2.items() if n in names) / moved)
        weights.append(float(smoothstep((share - SPAN_LO) / (SPAN_HI - SPAN_LO))))
    return tuple(weights)


def _readout_moves(step: np.ndarray, steps: dict, attributes: dict, readouts: dict | None) -> dict[str, float]:
    """For each attribute of ``steps`` (its 1σ latent steps), the change of its read-out (``readouts``,
    else its direction) along ``step``, in units of its own 1σ step."""
    out = {}
    for n, s in steps.items():
        c = np.asarray((readouts or {}).get(n, attributes[n]), np.float64).reshape(-1)[: step.size]
        unit = float(c @ s)
        out[n] = float(c @ step) / unit if abs(unit) > 1e-12 else 0.0
    return out


def _own_amounts(step: np.ndarray, attributes: dict, std: np.ndarray, readouts: dict | None, group: tuple[str, ...]) -> dict[str, tuple[float, float, np.ndarray]]:
    """For each attribute of ``group`` the model has: (how many σ of it ``step`` holds in its own right;
    its coefficient when ``step`` is written as a sum of the model's attribute steps (least squares, σ
    each); its 1σ latent step). "In its own right" is the smaller of that coefficient and the change of its read-out (``readouts``: what the
    editor's locks hold) in units of its own 1σ step: the coefficient is 0 for a Smiling step however
    it drags the mouth or the head, the read-out's change 0 when a lock holds it, whatever directions
    the lock mixed in."""
    from engine.protocol.edits import attribute_step_vector

    names = sorted(attributes)
    mine = [n for n in names if n in group]
    if not mine:
        return {}
    step = np.asarray(step, np.float64).reshape(-1)
    steps = {n: attribute_step_vector(attributes[n], std) for n in names}
    coef = dict(zip(names, np.linalg.lstsq(np.stack([steps[n] for n in names], 1), step, rcond=None)[0]))
    moved = _readout_moves(step, {n: steps[n] for n in mine}, attributes, readouts)
    return {n: (min(abs(float(coef[n])), abs(moved[n])), float(coef[n]), steps[n]) for n in mine}


def _own_parts(step: np.ndarray, attributes: dict, std: np.ndarray, readouts: dict | None, group: tuple[str, ...]) -> dict[str, tuple[float, float, np.ndarray]]:
    """:func:`_own_amounts` with each amount smoothstepped from PART_LO σ (0) to PART_HI σ (1): how far
    ``step`` holds the attribute in its own right."""
    return {n: (float(smoothstep((a - PART_LO) / (PART_HI - PART_LO))), c, s) for n, (a, c, s) in
            _own_amounts(step, attributes, std, readouts, group).items()}  # fmt: skip


def edit_regions(step: np.ndarray, attributes: dict | None, std: np.ndarray, readouts: dict | None, points: tuple | None,
                 size: int) -> tuple[np.ndarray | None, np.ndarray | None]:  # fmt: skip
    """(where a geometric ``step`` may move and change the photo, where it may add its change; S×S in
    0..1 each, None: anywhere): the largest, over what the step holds in its own right
    (:func:`_own_amounts`), of that part's region as far as the step holds it (:func:`_held`: in full
    from HELD_FULL σ, not at all under HELD_LO). An expression's region is its feature's
    (``landmark_flow.feature_region``), for both; a head edit moves the whole crop and adds its change
    on the face (``feature_region(change=True)``); anything else — Eyeglasses or Male beside a smile,
    a move no attribute or lock explains (a latent dimension's slider, :func:`_unexplained`) — may
    change the whole crop. The region of a step's largest part is always in full, however small the
    edit. (None, None) without landmarks (``points``) or attributes."""
    from engine.landmark_flow import CHANGE_REGIONS, feature_region

    attributes = attributes or {}
    amounts = {n: a for n, (a, _, _) in _own_amounts(step, attributes, std, readouts, tuple(attributes)).items()}
    amounts[None] = _unexplained(step, attributes, std, readouts)[0]
    if points is None or max(amounts.values()) <= 1e-6:  # (least squares leaves crumbs of 1e-16)
        return None, None
    held = {n: _held(a) for n, a in amounts.items()}
    top = max(held.values())
    if top <= 0:  # a small edit: its largest part's region
        held, top = {max(amounts, key=lambda n: amounts[n]): 1.0}, 1.0
    moves, changes = np.zeros((size, size), np.float32), np.zeros((size, size), np.float32)
    for name, h in held.items():
        if h > 0:
            r = None if name is None else feature_region(points, name, size)
            c = feature_region(points, name, size, change=True) if name in CHANGE_REGIONS else r
            moves = np.maximum(moves, (h / top) * (1.0 if r is None else r))
            changes = np.maximum(changes, (h / top) * (1.0 if c is None else c))
    return moves, changes


def _unexplained(step: np.ndarray, attributes: dict, std: np.ndarray, readouts: dict | None) -> tuple[float, np.ndarray]:
    """(how many σ of ``step`` no attribute step and no lock's read-out explains — a latent dimension's
    slider, an arithmetic or a blend —, that part of it): its component outside their span, its length
    in units of the attributes' mean 1σ step."""
    from engine.protocol.edits import attribute_step_vector

    step = np.asarray(step, np.float64).reshape(-1)
    if not attributes:
        return 0.0, np.zeros_like(step)
    steps = [attribute_step_vector(d, std) for d in attributes.values()]
    basis = steps + [np.asarray(v, np.float64).reshape(-1)[: step.size] for v in (readouts or {}).values()]
    u, sv, _ = np.linalg.svd(np.stack(basis, 1), full_matrices=False)
    q = u[:, sv > 1e-9 * sv.max()]  # their span (a read-out may be an attribute's own direction: QR would add spurious columns)
    outside = step - q @ (q.T @ step)
    return float(np.linalg.norm(outside) / np.mean([np.linalg.norm(s) for s in steps])), outside


def opening_part(step: np.ndarray, attributes: dict | None, std: np.ndarray, readouts: dict | None) -> float:
    """How far ``step`` holds an opening edit (OPENS) in its own right, whatever else it holds
    (:func:`_own_parts`). The share rule of :func:`geometric_weights` asks what *most* of a step is:
    MouthOpen +2σ with Smiling +2σ was 0.67 of an opening (a grey, half-drawn mouth), with HeadYaw
    +2σ none at all."""
    parts = _own_parts(step, attributes or {}, std, readouts, OPENS)
    return max((p for p, _, _ in parts.values()), default=0.0)


def turn_step(step: np.ndarray, attributes: dict | None, std: np.ndarray, readouts: dict | None) -> np.ndarray | None:
    """The head turn ``step`` holds in its own right, as a latent step, or None without one (a WARP_ONLY
    attribute's part, :func:`_own_parts`). It is the step less what the *other* attributes hold in
    their own right (:func:`_held`: each from HELD_LO σ, in full from HELD_FULL σ) and less a move no
    attribute or lock explains (:func:`_unexplained`: a latent dimension's slider beside it), times the
    turn's part: what a lock mixed into the turn (its read-out corrections) stays with it, a smile
    beside it does not. ``photo_change`` applies it last, as a turn of what the rest of the step made: HeadYaw
    beside Smiling was *mostly* not a turn, so the share rule pasted the turned decode's ghost (a pale
    double of the far cheek)."""
    attributes = attributes or {}
    turn = max((p for p, _, _ in _own_parts(step, attributes, std, readouts, WARP_ONLY).values()), default=0.0)
    if turn <= 0:
        return None
    step = np.asarray(step, np.float64).reshape(-1)
    others = _own_amounts(step, attributes, std, readouts, tuple(n for n in attributes if n not in WARP_ONLY))
    amount, outside = _unexplained(step, attributes, std, readouts)
    rest = sum((_held(a) * c * s for a, c, s in others.values()), _held(amount) * outside)
    return turn * (step - rest)


def _held(amount: float) -> float:
    """How far an attribute ``amount`` σ of which a step holds in its own right counts: 0 under HELD_LO
    (least squares' crumbs, what a lock mixes in), 1 from HELD_FULL, smoothstepped between."""
    return float(smoothstep((amount - HELD_LO) / (HELD_FULL - HELD_LO)))


def readouts_of(model) -> dict | None:
    """What the editor's locks keep fixed per attribute (classifier normals where the checkpoint stores them)."""
    ckpt = getattr(model, "ckpt", None)
    if ckpt is None or not getattr(model, "attributes", None):
        return None
    from engine.semantics.orthogonal import stored_lock_vectors

    return stored_lock_vectors(model)
