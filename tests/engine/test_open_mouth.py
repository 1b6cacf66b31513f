"""A mouth opened at the photo's resolution: the band and the lower lip cut at output pixels, not crop pixels."""

from __future__ import annotations

import numpy as np
import pytest

from engine import flow_composite as fc
from engine import step_parts as sp
from engine.crop_warp import output_jacobian_inverse
from engine.data.warp import sampling_grid
from engine.fit_composite import LUMA
from engine.open_mouth import lips_luma, pixel_noise

S, W, SCALE = 64, 512, 8  # a 64-px crop over a 512-px photo patch: 8 photo px per crop px


def _jaw(line: float = 29.5, opening: float = 4.0) -> np.ndarray:
    jaw = np.zeros((S, S, 4), np.float32)
    jaw[..., 0] = np.arange(S, dtype=np.float32)[:, None] - line  # crop px under a flat lips' line
    jaw[:, 12:52, 1] = opening
    jaw[..., 2] = 1.0
    return jaw


def _transition_rows(column: np.ndarray, a: int, b: int) -> int:
    """How many rows in a..b lie strictly between the two levels the column steps between there (10–90 %)."""
    v = column[a:b]
    lo, hi = float(v.min()), float(v.max())
    return int(((v > lo + 0.1 * (hi - lo)) & (v < hi - 0.1 * (hi - lo))).sum())


def test_the_opened_band_and_the_lower_lip_are_cut_at_the_photos_pixels():
    """At 8 photo px per crop px the band's edges and the moved lower lip's edge stay a pixel or two
    wide (on the crop's raster they were a crop px: 8 photo px of smear), and the lower lip moves
    down by the whole opening (4 crop px = 32 photo px) in one piece."""
    grid = sampling_grid(np.array([[1.0 / SCALE, 0.0, 0.0], [0.0, 1.0 / SCALE, 0.0]]), W, W, S, S)
    original = np.full((W, W, 3), 200.0, np.float32)
    original[216:240] = (180.0, 90.0, 90.0)  # the lips, crop rows 27–29
    original[250:] = 80.0  # a sharp edge under the lips' line (crop 31.25): the lower lip's
    lips = np.zeros((S, S), np.float32)
    lips[27:30, 12:52] = 1.0
    recon = np.full((S, S, 3), 120.0, np.float32)
    mask = np.ones((S, S), np.float32)
    mot = fc.Motion(np.zeros((S, S, 2), np.float32), 0.5, 1.0, _jaw(), None, 1.0, lips=lips)
    out = original + fc.flow_change(original, grid, recon, recon, np.zeros_like(recon), mask, mot=mot)[0]
    col = out[:, W // 2] @ LUMA
    # the band: crop 30–34 (below the line 0..4) = photo rows ~240–272, dark under the teeth, a lit tongue below
    lip_y = float(np.array([180.0, 90.0, 90.0]) @ LUMA)
    assert np.all(col[244:254] < 0.3 * lip_y)
    assert np.all((col[264:270] > 0.4 * lip_y) & (col[264:270] < 0.6 * lip_y))
    assert _transition_rows(col, 232, 250) <= 3  # its upper edge: ≤ 3 rows (SOFT = 0.3 crop px), not 8
    assert int(((col[262:280] > 60) & (col[262:280] < 180)).sum()) <= 2  # its lower edge, into the lip's 200
    assert col[276] == np.float32(200.0) and np.all(col[282:300] == np.float32(80.0))  # the lip's edge moved 32 rows,
    assert _transition_rows(col, 276, 290) == 0  # whole: as sharp as it was
    assert np.array_equal(out[:200], original[:200])  # above the lips nothing moves


def test_the_lips_brightness_is_read_from_a_few_hundred_photo_pixels():
    grid = sampling_grid(np.array([[1.0 / SCALE, 0.0, 0.0], [0.0, 1.0 / SCALE, 0.0]]), W, W, S, S)
    original = np.random.default_rng(0).uniform(150, 250, (W, W, 3)).astype(np.float32)
    original[216:240, 96:416] = (180.0, 90.0, 90.0)  # the lips: crop rows 27–29, columns 12–51
    lips = np.zeros((S, S), np.float32)
    lips[27:30, 12:52] = 1.0
    y, detail = lips_luma(original, grid, output_jacobian_inverse(grid, S), lips)
    assert y == pytest.approx(float(np.array([180.0, 90.0, 90.0]) @ LUMA), abs=1e-3)
    assert detail == pytest.approx(0.0, abs=1e-3)  # flat lips: no grain to match
    assert lips_luma(original, grid, output_jacobian_inverse(grid, S), np.zeros((S, S), np.float32)) is None
    rng = np.random.default_rng(1)
    original[216:240, 96:416] += rng.normal(0.0, 6.0, (24, 320, 1))  # grainy lips: the detail is read
    assert 4.0 < lips_luma(original, grid, output_jacobian_inverse(grid, S), lips)[1] < 10.0


def test_the_inside_has_the_photos_grain():
    """A painted inside of one flat colour read as painted at 100 %: it gets the grain the photo's lips
    have (scaled by its shade), fixed to each output pixel (any band draws the same), none on a flat photo."""
    n = pixel_noise((10, 20), (64, 80))
    assert abs(float(n.mean())) < 0.05 and 0.9 < float(n.std()) < 1.1
    assert np.array_equal(pixel_noise((10, 20), (64, 80))[30:40, 5:9], pixel_noise((40, 25), (10, 4)))
    assert abs(float(np.corrcoef(n[:, :-1].ravel(), n[:, 1:].ravel())[0, 1])) < 0.05  # no pattern between neighbours


def test_the_decodes_own_mouth_is_left_out_of_an_opened_one():
    """The decode's blurry mouth (here: everything from crop row 26 down darkened) is not added over
    the photo's teeth (up to the upper inner lip, 2 crop px above the line) nor under the painted
    band; elsewhere the change is added as ever."""
    grid = sampling_grid(np.array([[1.0 / SCALE, 0.0, 0.0], [0.0, 1.0 / SCALE, 0.0]]), W, W, S, S)
    original = np.full((W, W, 3), 200.0, np.float32)
    jaw = _jaw()
    jaw[:, 12:52, 3] = 2.0  # the upper inner lip 2 crop px above the line (crop row 27.5)
    recon = np.full((S, S, 3), 120.0, np.float32)
    face = recon.copy()
    face[26:40] -= 40.0  # the decode's own dark mouth, over teeth, band and lower lip
    mask = np.ones((S, S), np.float32)
    mot = fc.Motion(np.zeros((S, S, 2), np.float32), 0.5, 1.0, jaw, None, 1.0, lips=None)
    out = original + fc.flow_change(original, grid, recon, face, face - recon, mask, mot=mot)[0]
    col = out[:, W // 2] @ LUMA
    assert np.allclose(col[228:238], 200.0, atol=0.5)  # the teeth (crop 28.5–29.7): the photo's, not darkened
    assert np.allclose(col[273:277], 200.0, atol=5.0)  # right under the band (the lower teeth, moved down): neither
    assert np.all(col[300:310] < 200.0 - 20.0)  # a crop px beyond the mouth (crop 37.5+) the decode's change is added
    side = out[240:260, 40] @ LUMA  # beside the mouth (crop column 5): added too
    assert np.all(side < 200.0 - 20.0)


def test_the_mouth_is_read_over_its_box_only_and_the_composite_is_the_same(monkeypatch):
    """A frame reads the jaw's fields over the output box the drop can reach, not the whole face:
    the composite is bit for bit the one read everywhere (outside the box the drop is nothing)."""
    import engine.open_mouth as om

    grid = sampling_grid(np.array([[1.0 / SCALE, 0.0, 0.0], [0.0, 1.0 / SCALE, 0.0]]), W, W, S, S)
    original = np.random.default_rng(3).uniform(60, 200, (W, W, 3)).astype(np.float32)
    lips = np.zeros((S, S), np.float32)
    lips[27:30, 12:52] = 1.0
    jaw = _jaw()
    jaw[:, :, 1] = 0.0
    jaw[:, 20:44, 1] = 3.0  # the opening in columns 20–43 only
    jaw[..., 2] = np.clip(1.0 - (np.arange(S, dtype=np.float32)[:, None] - 40.0) / 4.0, 0.0, 1.0)  # the chin at row 40
    flow = np.random.default_rng(4).normal(0, 0.5, (S, S, 2)).astype(np.float32)
    recon = np.full((S, S, 3), 120.0, np.float32)
    mot = fc.Motion(flow, 0.5, 1.0, jaw, None, 0.8, lips=lips)
    args = (original, grid, recon, recon + 5.0, np.full((S, S, 3), 5.0, np.float32), np.ones((S, S), np.float32))
    boxed = fc.flow_change(*args, mot=mot)[0]
    box = om._output_box(jaw, grid, output_jacobian_inverse(grid, S))
    assert 0 < (box[2] - box[0]) * (box[3] - box[1]) < 0.3 * W * W  # the mouth, not the face
    monkeypatch.setattr(om, "_output_box", lambda *a, **k: (0, 0, W, W))
    everywhere = fc.flow_change(*args, mot=mot)[0]
    assert np.array_equal(boxed, everywhere) and np.abs(boxed).max() > 10.0


def test_an_edit_partly_an_opening_opens_the_mouth_less_not_fainter():
    """Half an opening's weight: a band half as tall, as dark as a full one (a faded band drew a grey mouth)."""
    grid = sampling_grid(np.array([[1.0 / SCALE, 0.0, 0.0], [0.0, 1.0 / SCALE, 0.0]]), W, W, S, S)
    original = np.full((W, W, 3), 200.0, np.float32)
    original[216:240] = (180.0, 90.0, 90.0)
    lips = np.zeros((S, S), np.float32)
    lips[27:30, 12:52] = 1.0
    recon = np.full((S, S, 3), 120.0, np.float32)
    mask = np.ones((S, S), np.float32)
    cols = {}
    for weight in (1.0, 0.5):
        mot = fc.Motion(np.zeros((S, S, 2), np.float32), 0.5, 1.0, _jaw(), None, weight, lips=lips)
        out = original + fc.flow_change(original, grid, recon, recon, np.zeros_like(recon), mask, mot=mot)[0]
        cols[weight] = out[:, W // 2] @ LUMA
    dark = lambda c: int((c[230:300] < 60.0).sum())  # noqa: E731 - rows of the painted inside
    assert dark(cols[0.5]) == pytest.approx(dark(cols[1.0]) / 2, abs=4)  # half the band's 32 rows
    assert cols[0.5][244] == pytest.approx(cols[1.0][244], abs=1.0)  # under the teeth, as dark


def test_an_opening_beside_another_slider_is_an_opening():
    """``opening_part``: MouthOpen +2σ with Smiling +2σ (or HeadYaw) is an opening in full; Smiling
    alone is none whatever it drags the mouth's read-out by; nor is a Smiling step whose mouth
    read-out is held (a lock), whatever MouthOpen direction the lock mixed in."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(16, 3)))
    attrs = {"Smiling": q[:, 0], "MouthOpen": q[:, 1], "HeadYaw": q[:, 2]}
    std = np.ones(16)
    s, m, h = q[:, 0], q[:, 1], q[:, 2]
    assert sp.opening_part(2 * m + 2 * s, attrs, std, None) == 1.0
    assert sp.opening_part(2 * m + 2 * h, attrs, std, None) == 1.0
    assert sp.opening_part(2 * s, attrs, std, {"MouthOpen": m + s}) == 0.0  # a read-out the smile drags: no coefficient
    readout = m + 0.8 * s  # the mouth's read-out moves with the smile …
    held = 2 * s - 2 * 0.8 * m  # … and a lock holds it: MouthOpen coefficient −1.6 σ, read-out unchanged
    assert abs(float(readout @ held)) < 1e-9 and sp.opening_part(held, attrs, std, {"MouthOpen": readout}) == 0.0
    assert sp.opening_part(0.3 * m, attrs, std, None) == 0.0 and 0 < sp.opening_part(0.75 * m, attrs, std, None) < 1
