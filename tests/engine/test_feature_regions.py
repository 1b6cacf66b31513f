"""An expression edit changes its feature, not the rest of the face the 64-px decode dragged along
(landmark_flow.feature_region, step_parts.edit_regions, Motion.region)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine import flow_composite as fc
from engine import step_parts as sp
from engine import landmark_flow as lf
from engine.data import align
from engine.data.warp import sampling_grid
from tests.engine.test_flow_composite import blobs

S = 64


@pytest.fixture(scope="module")
def points():
    """dlib's 68 landmarks on the astronaut aligned to the model's 64 px (before and after: the same)."""
    skimage_data = pytest.importorskip("skimage.data")
    if not align.dlib_available():
        pytest.skip("needs dlib")
    crop = align.align_face(skimage_data.astronaut(), S).crop
    pts = lf.landmark_points(crop, crop)
    assert pts is not None
    return pts


def _at(region: np.ndarray, xy) -> float:
    x, y = np.asarray(xy, float).round().astype(int)
    return float(region[y, x])


def test_each_expression_reaches_its_own_feature(points):
    before, _ = points
    eye, mouth, chin = before[36:42].mean(0), before[48:68].mean(0), (before[57] + before[8]) / 2  # one eye, the mouth, the chin (dlib's 8 is at the crop's edge)
    smile, opens, eyes = (lf.feature_region(points, n, S) for n in ("Smiling", "MouthOpen", "EyesOpen"))
    assert _at(smile, mouth) == 1.0 and _at(smile, eye) < 0.2  # (the cheeks it lifts reach the lower lids)
    assert _at(eyes, eye) == 1.0 and _at(eyes, mouth) < 0.05
    assert _at(opens, mouth) == 1.0 and _at(opens, chin) > 0.9 and _at(opens, eye) < 0.05
    assert lf.feature_region(points, "HeadYaw", S) is None and lf.feature_region(points, "HeadRoll", S) is None  # the whole head
    face = lf.feature_region(points, "HeadRoll", S, change=True)  # … which a roll changes only on the face
    assert _at(face, eye) == 1.0 and _at(face, mouth) == 1.0 and face[:4, :4].max() < 1e-3
    assert np.array_equal(lf.feature_region(points, "Smiling", S, change=True), smile)
    corner = smile[:4, :4]
    assert corner.max() < 1e-3  # hair and background: never an expression's


def fc_region(step, attrs, std, readouts, points):
    return sp.edit_regions(step, attrs, std, readouts, points, S)[0]


def test_a_steps_region_is_each_held_attributes_feature(points):
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(16, 4)))
    attrs = {"Smiling": q[:, 0], "EyesOpen": q[:, 1], "HeadRoll": q[:, 2], "Eyeglasses": q[:, 3]}
    std = np.ones(16)
    s, e, r = q[:, 0], q[:, 1], q[:, 2]
    region = lambda step: sp.edit_regions(step, attrs, std, None, points, S)[0]  # noqa: E731
    smile, eyes = lf.feature_region(points, "Smiling", S), lf.feature_region(points, "EyesOpen", S)
    assert np.array_equal(region(2 * s), smile) and np.array_equal(region(0.1 * s), smile)  # alone: in full, however small
    assert np.allclose(region(2 * s + 2 * e), np.maximum(smile, eyes))
    assert np.allclose(region(2 * s + 0.15 * e), np.maximum(smile, 0.5 * eyes))  # a little of another: its region that little
    assert np.array_equal(region(2 * s + 2 * r), np.ones((S, S), np.float32))  # with a roll: the whole head moves
    face = lf.feature_region(points, "HeadRoll", S, change=True)
    assert np.array_equal(sp.edit_regions(2 * s + 2 * r, attrs, std, None, points, S)[1], np.maximum(smile, face))  # … its change on the face
    ones = np.ones((S, S), np.float32)
    assert np.array_equal(region(2 * q[:, 3]), ones)  # Eyeglasses: anywhere (it is not warped at all)
    assert np.array_equal(region(3 * s + q[:, 3]), ones)  # a smile with glasses: the frames are not cut to the mouth
    assert np.allclose(region(2 * s + 0.15 * q[:, 3]), np.maximum(smile, 0.5))
    off = np.linalg.qr(np.c_[q, rng.normal(size=16)])[0][:, 4]  # outside every attribute step: a latent dimension's slider
    assert np.array_equal(region(2 * s + off), ones)
    held = q[:, 3] + 0.5 * off + 0.3 * s  # Eyeglasses' read-out, which a smile moves …
    readouts = {"Smiling": s, "EyesOpen": e, "HeadRoll": r, "Eyeglasses": held}
    locked = 2 * s - (2 * s @ held) / (held @ held) * held  # … held by a lock: the correction is the lock's, off every step
    assert abs(float(locked @ held)) < 1e-9
    assert np.array_equal(fc_region(locked, attrs, std, readouts, points), smile)
    assert sp.edit_regions(2 * s, attrs, std, None, None, S) == (None, None)  # no face: no region


def test_outside_its_region_an_expression_changes_nothing():
    """Motion.region fades the warp and the change it does not explain: outside it the photo stays."""
    w = 128
    grid = sampling_grid(np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]), w, w, S, S)
    recon, face = blobs(), blobs(shift=(1.0, 1.0))
    delta = face - recon + 10.0  # a motion, and a shading all over the crop
    mask = np.ones((S, S), np.float32)
    original = np.random.default_rng(6).uniform(60, 200, (w, w, 3)).astype(np.float32)
    mot = fc.motion(recon, face, mask, landmarks=False)
    region = np.zeros((S, S), np.float32)
    region[:, : S // 2] = 1.0  # the feature: the crop's left half
    everywhere, _ = fc.flow_change(original, grid, recon, face, delta, mask, mot=mot)
    limited, _ = fc.flow_change(original, grid, recon, face, delta, mask, mot=replace(mot, region=region))
    assert np.abs(limited[:, 70:]).max() < 1e-3 < np.abs(everywhere[:, 70:]).min()  # right of it: nothing (the bicubic reach aside)
    assert np.allclose(limited[:, :56], everywhere[:, :56], atol=1e-3)  # in it: as before
    # a head edit: moved everywhere, its change added only in its change region
    rolled, _ = fc.flow_change(original, grid, recon, face, delta, mask, mot=replace(mot, change_region=region))
    moved_only, _ = fc.flow_change(original, grid, recon, face, face - recon, mask, mot=replace(mot, change_region=np.zeros((S, S), np.float32)))
    assert np.allclose(rolled[:, 70:], moved_only[:, 70:], atol=1e-3)  # right of it: the warp alone
    assert np.allclose(rolled[:, :56], everywhere[:, :56], atol=1e-3)
