"""A head turn beside another slider (engine.step_parts.turn_step / turn_field / flow_layer's
``turn``): the rest of the step is composited as any edit, then turned — the turned decode's ghost
is never pasted, and what the rest drew moves with the head."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine import flow_composite as fc
from engine import step_parts as sp
from engine.data.warp import sampling_grid
from tests.engine.test_flow_composite import Moving, blobs, moving  # noqa: F401 - the fixture

S, W = 64, 128


def _grid():
    return sampling_grid(np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]), W, W, S, S)  # 2 output px per crop px


def test_the_turn_step_is_the_head_turn_a_step_holds_in_its_own_right():
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(16, 3)))
    attrs = {"Smiling": q[:, 0], "HeadYaw": q[:, 1], "Eyeglasses": q[:, 2]}
    std = np.ones(16)
    s, h, g = q[:, 0], q[:, 1], q[:, 2]
    assert np.allclose(sp.turn_step(-2 * h, attrs, std, None), -2 * h)
    assert np.allclose(sp.turn_step(3 * h + 2 * s, attrs, std, None), 3 * h)  # beside a smile: the turn alone
    assert np.allclose(sp.turn_step(2 * h + 2 * g, attrs, std, None), 2 * h)
    assert sp.turn_step(2 * s, attrs, std, {"HeadYaw": h + s}) is None  # a smile that drags the yaw read-out: no turn
    readout = h + 0.5 * s
    held = 2 * s - h  # a lock holds the yaw read-out: HeadYaw coefficient −1 σ, read-out unchanged
    assert abs(float(readout @ held)) < 1e-9 and sp.turn_step(held, attrs, std, {"HeadYaw": readout}) is None
    assert sp.turn_step(0.3 * h, attrs, std, None) is None
    part = sp.turn_step(0.75 * h, attrs, std, None)  # between PART_LO and PART_HI: a part of it
    assert 0 < float(part @ h) < 0.75
    assert sp.turn_step(2 * s, {"Smiling": s}, std, None) is None  # a model without HeadYaw
    assert np.allclose(sp.turn_step(2 * h + 0.2 * s, attrs, std, None), 2 * h + 0.2 * s * (1 - sp._held(0.2)))  # a little smile: mostly its own


def test_a_locked_turn_keeps_its_lock_corrections():
    """The editor's locks add read-out corrections to a turn: they belong to the turn (HeadYaw alone,
    locked, is the warp alone as before); a smile beside it, or a latent dimension's slider, does not."""
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.normal(size=(16, 5)))
    attrs = {"Smiling": q[:, 0], "HeadYaw": q[:, 1], "Eyeglasses": q[:, 2]}
    std = np.ones(16)
    s, h, off = q[:, 0], q[:, 1], q[:, 3]
    smile_readout = s + 0.5 * off + 0.3 * h  # a turn drags the smile's read-out …
    readouts = {"Smiling": smile_readout, "HeadYaw": h, "Eyeglasses": q[:, 2]}
    locked_turn = 2 * h - (2 * h @ smile_readout) / (smile_readout @ smile_readout) * smile_readout  # … which a lock holds
    assert abs(float(locked_turn @ smile_readout)) < 1e-9
    assert np.allclose(sp.turn_step(locked_turn, attrs, std, readouts), locked_turn)
    beside = q[:, 4]  # off every step and read-out: a latent dimension's slider
    assert np.allclose(sp.turn_step(locked_turn + beside, attrs, std, readouts), locked_turn)  # is not part of the turn
    with_smile = sp.turn_step(locked_turn + 2 * s, attrs, std, readouts)
    assert np.allclose(with_smile - (with_smile @ s) * s, locked_turn - (locked_turn @ s) * s)  # the smile is not either


def test_what_the_rest_drew_moves_with_the_head():
    """flow_layer's ``turn``: output pixel p shows the rest's composite at p + turn(p) — a change the
    rest added (a dark patch) appears shifted by the turn, and the photo is moved by it too."""
    grid = _grid()
    recon = blobs()
    delta = np.zeros((S, S, 3), np.float32)
    delta[28:36, 28:36] = -40.0  # what the rest added: a dark patch at crop px 28..36
    mask = np.ones((S, S), np.float32)
    flat = np.full((W, W, 3), 120.0, np.float32)
    turn = np.zeros((S, S, 2), np.float32)
    turn[..., 0] = 2.0  # every pixel shows what was 2 crop px to its right
    change, _ = fc.flow_change(flat, grid, recon, recon, delta, mask, mot=fc.STILL, turn=turn)
    unturned, _ = fc.flow_change(flat, grid, recon, recon, delta, mask, mot=fc.STILL)
    cols = lambda c: np.flatnonzero(c[64, :, 0] < -20)  # noqa: E731 - output columns of the dark patch
    assert cols(unturned).min() == pytest.approx(56, abs=1) and cols(change).min() == pytest.approx(cols(unturned).min() - 4, abs=1)
    original = flat.copy()
    original[:, ::8] = 200.0  # vertical stripes: a turn moves them
    change, _ = fc.flow_change(original, grid, recon, recon, delta, mask, mot=fc.STILL, turn=turn)
    stripes = np.flatnonzero((original + change)[10, :, 0] > 190)
    assert np.array_equal(stripes, np.flatnonzero(original[10, :, 0] > 190)[1:] - 4)  # the photo moved 4 output px left
    # a smile (a motion of its own) then turned: the photo moved by both
    face = blobs(shift=(0.0, 1.0))
    mot = fc.motion(recon, face, mask, landmarks=False)
    smiled, _ = fc.flow_change(original, grid, recon, face, face - recon, mask, mot=mot)
    both, _ = fc.flow_change(original, grid, recon, face, face - recon, mask, mot=mot, turn=turn)
    assert np.abs(both - smiled).max() > 50  # the stripes moved
    inner = np.s_[2:-2, 40:80]  # (at the crop's edge the fields fade, read against zero padding)
    assert np.allclose((original + both)[inner], np.roll(original + smiled, -4, axis=1)[inner], atol=1.5)  # the smiled photo, 4 px left


class Turning(Moving):
    """Moving, with ``HeadYaw`` (latent 3): the face moves down 2 crop px per unit and, like the
    64-px decode's turned face, ``ghost`` draws a pale bar no motion explains."""

    ghost = 40.0
    attributes = {**Moving.attributes, "HeadYaw": np.eye(8, dtype=np.float32)[3]}

    def decode(self, z, labels=None):
        z = np.asarray(z, np.float32)
        out = []
        for v, im in zip(z, super().decode(z * np.r_[1, 1, 1, 0, 1, 1, 1, 1].astype(np.float32))):
            moved = np.roll(im.astype(np.float32), int(round(float(v[3]))), axis=0)
            moved[8:11, 6:26] += self.ghost * abs(float(v[3]))
            out.append(np.clip(np.rint(moved), 0, 255).astype(np.uint8))
        return np.stack(out)


class Clean(Turning):
    ghost = 0.0


def test_a_turn_beside_a_smile_pastes_no_ghost(moving, monkeypatch):
    """HeadYaw +2σ with Smiling: half the step is a turn, so the share rule pasted the turned decode's
    ghost; now the smile is composited and then turned, and the ghost is nowhere."""
    pe, _ = moving
    # the turn's field as dlib's landmarks give it on a face (this stand-in has none, and no optical
    # flow explains a bar that appears): 2 crop px down
    asked = []
    monkeypatch.setattr(fc, "turn_field", lambda r, turned, mask, quick=False: asked.append(turned) or np.broadcast_to(np.float32([0.0, -2.0]), (*mask.shape, 2)))
    step = np.zeros(8, np.float32)
    step[0], step[3] = 0.5, 2.0  # Smiling 0.5 (1 crop px right), HeadYaw 2 (2 crop px down, and the ghost)

    def edited(model):
        m = model()
        p = replace(pe, model=m, reconstruction=m.decode(np.zeros((1, 8)))[0], _previews={})
        return p.composite(step).astype(np.float32)

    ghosted, clean = edited(Turning), edited(Clean)
    assert np.abs(ghosted - clean).mean() < 0.5  # the bar the turned decode draws is not pasted
    assert np.abs(clean - pe.photo).mean() > 2.0  # the edit did move the photo
    alone = replace(pe, model=Turning(), reconstruction=Turning().decode(np.zeros((1, 8)))[0], _previews={})
    turn = np.zeros(8, np.float32)
    turn[3] = 2.0
    assert np.abs(alone.composite(turn).astype(np.float32) - edited(Clean)).mean() > 0.5  # and the smile is there
    # the turn is the slider alone's, whatever else the step holds: its motion is read between the
    # reconstruction and the turn alone's decode (the same beside a smile of any size)
    asked.clear()
    for smile in (0.0, 0.5, 1.0):
        step[0] = smile
        alone.composite(step)
    assert len(asked) == 3 and all(np.array_equal(a, asked[0]) for a in asked)
    assert np.array_equal(asked[0], alone.model.decode(turn[None])[0])


def test_a_turned_opened_mouth_moves_whole_with_the_head():
    """The opened mouth is read where the turn sends each pixel, beyond its box's own pad
    (``OpenMouth``'s reach): the painted band moves with the head, not cut at the box."""
    from tests.engine.test_flow_composite import opened_mouth

    original, grid, recon, face, mask, mot = opened_mouth(1.0)
    turn = np.zeros((S, S, 2), np.float32)
    turn[..., 0] = -3.0  # every pixel shows what was 3 crop px to its left
    whole, _ = fc.flow_change(original, grid, recon, face, face - recon, mask, mot=mot, turn=turn)
    unturned, _ = fc.flow_change(original, grid, recon, face, face - recon, mask, mot=mot)
    dark = lambda c: np.flatnonzero(((original + c) @ np.float32([0.299, 0.587, 0.114]))[62] < 40)  # noqa: E731 - the painted band's columns
    assert dark(unturned).size > 20 and dark(whole).min() == dark(unturned).min() + 6  # the whole band moved with the head, not cut at a box
    assert dark(whole).size == dark(unturned).size
