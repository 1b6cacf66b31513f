"""The landmark measures (engine.data.landmarks) and the face set's continuous labels
(engine.data.face_measures): known geometry in, known numbers out; a missed face gets no label."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine.data import face_measures, landmarks
from engine.data.landmarks import MEASURES, measures_from_points


def template() -> np.ndarray:
    """A frontal, neutral 68-point face: eyes at y=40 (centres 30 and 70: IOD 40), nose tip on
    the jaw's midline, mouth closed with its corners level with the lips' centre."""
    p = np.zeros((68, 2))
    p[0:17] = [(10 + 80 * i / 16, 40 + 50 * math.sin(math.pi * i / 16)) for i in range(17)]  # jaw 10..90
    p[17:27] = [(18 + 64 * i / 9, 30) for i in range(10)]  # brows
    p[27:31] = [(50, 42 + 6 * i) for i in range(4)]  # nose bridge down to the tip (30) at x = 50
    p[31:36] = [(44 + 3 * i, 62) for i in range(5)]
    for cx, first in ((30, 36), (70, 42)):  # eyes: corners ±8, lids ±3 (EAR = 6/16)
        p[first : first + 6] = [(cx - 8, 40), (cx - 3, 37), (cx + 3, 37), (cx + 8, 40), (cx + 3, 43), (cx - 3, 43)]
    outer = [(38, 75), (42, 72), (46, 71), (50, 71), (54, 71), (58, 72), (62, 75), (58, 78), (54, 79), (50, 79), (46, 79), (42, 78)]
    p[48:60] = outer  # corners 48 (38, 75) and 54 (62, 75); top centre 51 (50, 71), bottom 57 (50, 79)
    p[60:68] = [(40, 75), (46, 75), (50, 75), (54, 75), (60, 75), (54, 75), (50, 75), (46, 75)]  # inner lips closed
    return p


def rotate(p: np.ndarray, degrees: float, centre=(50.0, 40.0)) -> np.ndarray:
    t = math.radians(degrees)
    r = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    return (p - centre) @ r.T + centre


def test_neutral_template_measures():
    m = measures_from_points(template())
    assert m["Smiling"] == pytest.approx(0.0, abs=1e-9)
    assert m["MouthOpen"] == pytest.approx(0.0, abs=1e-9)
    assert m["EyesOpen"] == pytest.approx(6 / 16)
    assert m["HeadYaw"] == pytest.approx(0.0, abs=1e-9)
    assert m["HeadRoll"] == pytest.approx(0.0, abs=1e-9)
    assert math.isnan(m["LightDirection"])  # no pixels given


def test_mouth_gap_is_read_over_the_inter_ocular_distance():
    p = template()
    p[65:68, 1] += 8.0  # lower inner lip 8 px down: gap 8, IOD 40
    assert measures_from_points(p)["MouthOpen"] == pytest.approx(0.2)


def test_smile_lifts_the_corners_and_a_frown_lowers_them():
    p = template()
    p[[48, 54], 1] -= 4.0
    assert measures_from_points(p)["Smiling"] == pytest.approx(0.1)
    p[[48, 54], 1] += 8.0
    assert measures_from_points(p)["Smiling"] == pytest.approx(-0.1)


def test_roll_is_the_eye_line_angle_and_leaves_the_other_measures_alone():
    p = template()
    p[65:68, 1] += 8.0
    p[[48, 54], 1] -= 4.0
    flat, tilted = measures_from_points(p), measures_from_points(rotate(p, 12.0))
    assert tilted["HeadRoll"] == pytest.approx(12.0)
    for k in ("Smiling", "MouthOpen", "EyesOpen", "HeadYaw"):
        assert tilted[k] == pytest.approx(flat[k], abs=1e-9)


def test_yaw_follows_the_nose_tip_and_closed_eyes_lower_the_aspect_ratio():
    p = template()
    p[30, 0] += 20.0  # half the jaw width is 40
    assert measures_from_points(p)["HeadYaw"] == pytest.approx(0.5)
    p = template()
    p[[37, 38, 43, 44], 1] += 2.0
    p[[40, 41, 46, 47], 1] -= 2.0
    assert measures_from_points(p)["EyesOpen"] == pytest.approx(2 / 16)


def test_light_direction_reads_which_side_of_the_face_is_brighter():
    p = template()
    gray = np.full((100, 100), 100.0)
    gray[:, 50:] = 150.0  # the image's right half brighter
    assert measures_from_points(p, gray)["LightDirection"] == pytest.approx(50 / 250, abs=0.02)
    assert measures_from_points(p, gray[:, ::-1])["LightDirection"] == pytest.approx(-50 / 250, abs=0.02)
    assert measures_from_points(p, np.full((100, 100), 80.0))["LightDirection"] == pytest.approx(0.0)


def test_bad_points_are_refused():
    with pytest.raises(ValueError, match="68"):
        measures_from_points(np.zeros((5, 2)))


def test_a_missed_face_gets_no_measures_not_zeros():
    images = np.zeros((3, 64, 64, 3), np.uint8)
    found = {0: template() * 0.64, 2: template() * 0.64}
    calls = iter(range(3))
    out = landmarks.measure_images(images, points=lambda img: found.get(next(calls)))
    assert np.isnan(out[1]).all()
    assert np.isfinite(out[0, :5]).all() and np.isfinite(out[2, :5]).all()


def test_dlib_finds_no_face_in_a_flat_image():
    pytest.importorskip("dlib")
    assert landmarks.measure_image(np.full((64, 64, 3), 128, np.uint8)) is None


def test_dlib_measures_a_real_face():
    skimage_data = pytest.importorskip("skimage.data")
    pytest.importorskip("dlib")
    crop = skimage_data.astronaut()[20:250, 110:340]  # her face, roughly centred
    m = landmarks.measure_image(np.ascontiguousarray(crop))
    assert m is not None
    assert 0.15 < m["EyesOpen"] < 0.45 and abs(m["HeadRoll"]) < 20 and abs(m["HeadYaw"]) < 0.6
    assert m["Smiling"] > 0  # she smiles


def test_label_face_set_writes_empty_cells_for_missed_faces(tmp_path):
    pytest.importorskip("dlib")
    from conftest import write_celeba_miniature

    root = write_celeba_miniature(tmp_path / "faces", n=6, size=32)  # noise: no faces
    (root / "summary.json").write_text(json.dumps({"n": 6}))
    out = face_measures.label_face_set(root, progress=False)
    assert out["miss_rate"] == 1.0 and out["faces_measured"] == 6
    text = (root / face_measures.FILE).read_text()
    assert text.splitlines()[0] == "image_id," + ",".join(MEASURES) + ",found"
    assert text.splitlines()[1] == "000001.png," + "," * len(MEASURES) + "0"
    ids, vals = face_measures.read_measures(root)
    assert len(ids) == 6 and np.isnan(vals).all()
    assert json.loads((root / "summary.json").read_text())["measures"]["stats"]["Smiling"]["labelled"] == 0
    assert face_measures.split_measures(root, "train").shape == (4, len(MEASURES))  # 70 % of 6


def test_measure_stats_and_card_section():
    vals = np.full((10, len(MEASURES)), np.nan)
    vals[:8] = np.arange(8)[:, None]
    stats = face_measures.measure_stats(vals)
    assert stats["MouthOpen"]["miss_rate"] == 0.2 and stats["MouthOpen"]["mean"] == 3.5
    card = face_measures.card_section({"faces_measured": 10, "stats": stats})
    assert "20.0 %" in card and "| Smiling |" in card


def test_missing_measures_file_is_a_one_line_error(tmp_path):
    with pytest.raises(ValueError, match="label-landmarks"):
        face_measures.read_measures(tmp_path)


def test_the_data_card_shows_the_measures(tmp_path):
    from engine.data.build_faces import write_data_card

    vals = np.full((4, len(MEASURES)), np.nan)
    vals[:3] = [[0.1, 0.05, 0.3, 0.0, 1.0, 0.02], [0.0, 0.1, 0.25, 0.2, -2.0, -0.1], [0.05, 0.0, 0.28, -0.1, 0.5, 0.0]]
    summary = {"n": 4, "seed": 0, "sampled": 8, "kept_rate": 0.5, "split_counts": {"train": 2, "val": 1, "test": 1},
               "positive_rate": {"Eyeglasses": 0.5}, "measures": {"faces_measured": 4, "stats": face_measures.measure_stats(vals)}}
    card = write_data_card(tmp_path, summary).read_text()
    assert "## Landmark measures" in card and "25.0 % of 4 faces" in card
    assert "| HeadRoll | angle of the eye line" in card
    without = write_data_card(tmp_path, {**summary, "measures": None}).read_text()
    assert "Landmark measures" not in without
