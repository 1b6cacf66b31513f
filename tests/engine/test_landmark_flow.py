"""engine.landmark_flow: the motion of a geometric edit read from dlib's landmarks on the decodes,
and flow_composite.motion using it where the landmarks reach."""

from __future__ import annotations

import numpy as np
import pytest

from engine import flow_composite as fc
from engine import landmark_flow as lf
from engine.data import align

skimage_data = pytest.importorskip("skimage.data")
pytestmark = pytest.mark.skipif(not align.dlib_available(), reason="needs dlib")

SHIFT = np.array([1.5, -1.0])  # (x, y) crop px the edited face moves by


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    """A real face at the model's framing (the astronaut, aligned to 64 px) and the same face moved by SHIFT."""
    crop = align.align_face(skimage_data.astronaut(), 64).crop.astype(np.float32)
    moved = fc.resample(crop, np.broadcast_to(-SHIFT, (64, 64, 2)).astype(np.float32))  # moved(u) = crop(u − SHIFT)
    return crop, moved


def test_the_landmark_flow_carries_a_moved_face(face):
    crop, moved = face
    flow, cover = lf.landmark_flow(crop, moved)
    near = cover > 0.9  # where the landmarks decide: eyes, brows, nose, mouth, jaw
    assert 300 < near.sum() < 64 * 64 * 0.8 and cover.min() >= 0.0 and cover.max() <= 1.0
    # the convention of flow_composite: moved(u) ≈ crop(u + F(u)), so F ≈ −SHIFT on the face
    assert np.allclose(np.median(flow[near], 0), -SHIFT, atol=0.35)
    err = lambda f: np.abs(fc.resample(crop, f) - moved)[near].mean()  # noqa: E731
    assert err(flow) < 0.5 * err(np.zeros_like(flow))


def test_no_move_and_no_face_give_no_landmark_flow(face):
    crop, _ = face
    assert lf.landmark_flow(crop, crop) is None  # the landmarks did not move: the optical flow alone
    noise = np.random.default_rng(0).uniform(0, 255, (64, 64, 3)).astype(np.float32)
    assert lf.landmark_flow(noise, noise[::-1].copy()) is None  # dlib finds no face


def test_motion_uses_the_landmarks_where_they_reach_and_the_optical_flow_elsewhere(face):
    crop, moved = face
    mask = np.ones((64, 64), np.float32)
    with_landmarks = fc.motion(crop, moved, mask)
    optical = fc.motion(crop, moved, mask, landmarks=False)
    _, cover = lf.landmark_flow(crop, moved)
    far = cover < 1e-6
    assert far.sum() > 100 and np.allclose(with_landmarks.flow[far], optical.flow[far], atol=1e-4)
    assert not np.array_equal(with_landmarks.flow, optical.flow)
    assert np.allclose(np.median(with_landmarks.flow[cover > 0.9], 0), -SHIFT, atol=0.35)
    assert with_landmarks.head is None  # a head turn's field only when asked (an edit that is one)
    turned = fc.motion(crop, moved, mask, head=True)
    assert np.array_equal(turned.flow, with_landmarks.flow) and turned.head is not None


def test_the_warp_never_opens_or_closes_the_mouth():
    """A decode's grin reads as the lips parting; warped, that stretched a closed mouth's lips into a
    swollen blur. closed_mouth keeps the gap and moves the mouth's middle line as read."""
    rng = np.random.default_rng(0)
    before = rng.uniform(10, 54, (68, 2))
    after = before + np.array([0.5, 0.0])  # the whole face moves right ...
    after[lf.UPPER_LIP, 1] -= 1.0  # ... the upper lip goes up by 1, the lower lip down by 2: a mouth opening by 3
    after[lf.LOWER_LIP, 1] += 2.0
    after[[48, 54, 60, 64], 1] -= 1.5  # the corners rise
    out = lf.closed_mouth(before, after)
    gap = lambda p: p[lf.LOWER_INNER, 1].mean() - p[lf.UPPER_INNER, 1].mean()  # noqa: E731
    assert gap(out) == pytest.approx(gap(before))
    assert np.allclose(out[lf.UPPER_LIP, 1] - before[lf.UPPER_LIP, 1], 0.5)  # the middle line: (−1 + 2) / 2
    assert np.allclose(out[lf.LOWER_LIP, 1] - before[lf.LOWER_LIP, 1], 0.5)
    rest = np.setdiff1d(np.arange(68), np.r_[lf.UPPER_LIP, lf.LOWER_LIP])
    assert np.array_equal(out[rest], after[rest]) and np.array_equal(out[:, 0], after[:, 0])  # corners, jaw, x: as read
    assert np.array_equal(lf.closed_mouth(before, before + 0.7), before + 0.7)  # a face moved as a whole: unchanged


def test_a_mouth_that_opens_is_a_jaw_drop_with_a_drawn_gap(face):
    """The astronaut with everything below her lips' line moved down by DROP crop px (an opening mouth):
    mouth_opening moves that part down, leaves the upper lip, and marks the band it opens."""
    crop, _ = face
    before = lf.landmark_points(crop, crop)[0]
    xs = np.r_[before[60, 0], (before[lf.UPPER_INNER, 0] + before[lf.LOWER_INNER, 0]) / 2, before[64, 0]]
    line = np.r_[before[60, 1], (before[lf.UPPER_INNER, 1] + before[lf.LOWER_INNER, 1]) / 2, before[64, 1]]
    ys, xg = np.mgrid[0:64, 0:64].astype(np.float64)
    lower = (ys > np.interp(xg, xs, line)) & (xg > before[48, 0] - 1) & (xg < before[54, 0] + 1) & (ys < before[8, 1] + 2)
    drop = np.zeros((64, 64, 2), np.float32)
    drop[..., 1] = -DROP * lower  # opened(u) = crop(u − DROP) below the line
    opened = fc.resample(crop, drop)
    jaw, around, lips = lf.mouth_opening(crop, opened)
    dy, gap = lf.jaw_drop(jaw)  # read on the crop's own raster
    mid = int(round(before[66, 0]))
    lip = int(round(before[57, 1]))  # the lower lip's outer edge
    assert dy[lip + int(DROP) + 1, mid] == pytest.approx(-DROP, abs=0.8)  # moved down with the jaw
    assert np.all(dy[: int(before[51, 1])] == 0)  # nothing above the upper lip moves
    assert gap.max() == 1.0 and gap[:, mid].sum() == pytest.approx(DROP, abs=1.0)  # the band is as tall as the drop
    ys = np.arange(64)
    centre = lambda band: (band[:, mid] * ys).sum() / band[:, mid].sum()  # noqa: E731
    assert around[:, mid].sum() == pytest.approx(gap[:, mid].sum(), abs=0.2)  # the same band, half a drop higher:
    assert centre(gap) - centre(around) == pytest.approx(DROP / 2, abs=0.3)  # centred on the closed lips' line
    assert lf.mouth_opening(crop, crop) is None  # no opening, no jaw drop
    lower_lip = np.round((before[57] + before[66]) / 2).astype(int)  # between the lower lip's outer and inner edges
    assert lips[lower_lip[1], lower_lip[0]] > 0.5 and lips.max() <= 1.0  # the photo's lips, whose colour the band's paint takes
    assert 5 < lips.sum() < 100


def test_a_contour_moves_as_one_band_not_as_beads(monkeypatch):
    """A jaw moved as a whole is moved everywhere along it, between the landmarks too: the jaw's 17
    points lie 3–5 crop px apart, and separate Gaussians left gaps where the optical flow decided (a
    head turn's jaw came out wavy). The points between fill only the gaps: a landmark near the jaw
    (a mouth corner rising) moves as it did without them."""
    t = np.linspace(0.0, np.pi, 17)
    before = np.zeros((68, 2))
    before[:17] = np.c_[32 - 22 * np.cos(t), 28 + 24 * np.sin(t)]  # a jaw, ~4.3 crop px between points
    before[17:] = np.c_[np.linspace(18, 46, 51), np.full(51, 30.0)]  # the rest, far from the jaw's sides
    after = before.copy()
    after[:17, 0] += 1.5
    flow, cover = lf.landmark_flow(np.zeros((64, 64, 3), np.float32), None, (before, after))
    mids = np.round((before[:8] + before[1:9]) / 2).astype(int)  # halfway between neighbours, on the left side
    assert np.all(cover[mids[:, 1], mids[:, 0]] > 0.99)
    assert np.allclose(flow[mids[:, 1], mids[:, 0], 0], -1.5, atol=0.05)
    before[48] = before[4] + (3.0, -1.0)  # a mouth corner beside the jaw, rising by 2 px
    after[48] = before[48] + (0.0, -2.0)
    corner = tuple(np.round(after[48][::-1]).astype(int))
    with_between = lf.landmark_flow(np.zeros((64, 64, 3), np.float32), None, (before, after))[0][corner]
    monkeypatch.setattr(lf, "BETWEEN", 0)
    without = lf.landmark_flow(np.zeros((64, 64, 3), np.float32), None, (before, after))[0][corner]
    assert np.allclose(with_between, without, atol=0.02)


DROP = 2.0


def test_a_head_turn_moves_hair_and_ears_with_the_landmarks_in_one_piece():
    """Beyond the landmarks a head turn's field is their moves spread smoothly, fading out away from
    the face: where the optical flow decided, the cGAN's turned decodes swirled the hair beside the
    cheek. Where the landmarks decide it is their field exactly."""
    t = np.linspace(0.0, np.pi, 17)
    before = np.zeros((68, 2))
    before[:17] = np.c_[32 - 16 * np.cos(t), 30 + 18 * np.sin(t)]  # a jaw
    before[17:] = np.c_[np.linspace(20, 44, 51), np.linspace(24, 44, 51)]  # brows, nose, mouth inside it
    after = before + (1.5, 0.0)  # the whole face moves right: F = −1.5 along x
    points = (before, after)
    found = lf.landmark_flow(np.zeros((64, 64, 3), np.float32), None, points)
    head = lf.head_field(points, found)
    lm, cover = found
    near = cover > 0.999
    assert near.sum() > 200 and np.allclose(head[near], lm[near], atol=1e-5)
    for y, x in ((20, 32), (30, 12)):  # 4 px above the brows' row, 4 px beside the jaw: the landmarks' own reach ends
        assert cover[y, x] < 0.1 and -1.5 <= head[y, x, 0] < -0.7 * 1.5 and abs(head[y, x, 1]) < 0.05
    side = -head[30, :13, 0]  # from the crop's edge in to the jaw: fading in smoothly, no swirl
    assert np.all(np.diff(side) > 0) and side[0] < 0.1
    assert np.abs(head[:3, :3]).max() < 0.05  # a far corner: the background stays
