"""The landmark gain of a fitted photo's geometric edits (engine.fit_landmarks): its arithmetic and
clipping with a stubbed measure, the pixel gain kept where dlib misses or the decode moves the wrong
way (the fit calls it for FitConfig.landmark_gain, off by default: docs/semantics.md, "Calibrating the geometric edits")."""

from __future__ import annotations

import numpy as np
import pytest

import engine.fit_gains as fit_gains
from engine.fit_landmarks import CAP, DATA_SD, LMAX, TARGET_SD, landmark_gains

NAMES = ("Smiling", "HeadYaw", "Male")  # two geometric attributes and one that is not


class Decoder:
    """A 'model' whose decode of z is z itself: dimension i answers attribute NAMES[i]."""

    attributes = {n: None for n in NAMES}
    latent_dim = len(NAMES)

    def decode(self, zs, labels=None):
        return np.asarray(zs, np.float32).copy()


@pytest.fixture(autouse=True)
def unit_steps(monkeypatch):
    real = fit_gains.attribute_step

    def step(model, name, amount):
        if not isinstance(model, Decoder):
            return real(model, name, amount)
        v = np.zeros(len(NAMES), np.float32)
        v[NAMES.index(name)] = amount
        return v

    monkeypatch.setattr(fit_gains, "attribute_step", step)


def linear(slopes: dict[str, float], miss=lambda img: False):
    """A measure whose reading of attribute n moves slopes[n] s.d. per unit of its dimension."""

    def measure(img):
        if miss(img):
            return None
        return {n: float(img[NAMES.index(n)]) * slopes.get(n, 0.0) * DATA_SD[n] for n in ("Smiling", "HeadYaw")} | {"MouthOpen": 0.0}

    return measure


GAINS = {"Smiling+": 1.2, "Smiling-": 1.5, "HeadYaw+": 2.0, "HeadYaw-": 1.0, "Male+": 1.3, "Male-": 1.1}


def test_the_gain_meets_the_in_distribution_move_and_is_clipped():
    z = np.array([0.3, -0.2, 0.0], np.float32)
    # Smiling: 0.2 s.d. per unit; ±2σ at gain g moves 0.4 g s.d.; the target per sign is TARGET_SD/2
    out = landmark_gains(Decoder(), z, None, GAINS, measure=linear({"Smiling": 0.2, "HeadYaw": 0.01}))
    for key in ("Smiling+", "Smiling-"):
        g = GAINS[key]
        want = g * np.clip(TARGET_SD["Smiling"] / 2 / (0.4 * g), 1.0, LMAX)
        assert out[key] == pytest.approx(min(want, CAP), abs=1e-3)
    assert out["Smiling+"] == pytest.approx(1.2 * 1.9133 / 2 / 0.48, abs=1e-3)  # 1.993: inside 1..3
    # HeadYaw: 0.01 s.d. per unit, far too little: the ratio clips at LMAX, the combined gain at CAP
    assert out["HeadYaw+"] == CAP and out["HeadYaw-"] == pytest.approx(min(1.0 * LMAX, CAP))
    assert {k: out[k] for k in ("Male+", "Male-")} == {"Male+": 1.3, "Male-": 1.1}  # not geometric: untouched
    assert set(out) == set(GAINS) and all(1.0 <= v <= 3.0 for v in out.values())


def test_a_step_that_moves_enough_or_the_wrong_way_keeps_its_pixel_gain():
    z = np.zeros(3, np.float32)
    out = landmark_gains(Decoder(), z, None, GAINS, measure=linear({"Smiling": 5.0, "HeadYaw": -0.3}))
    assert out == GAINS  # Smiling already moves 10+ s.d. (ratio < 1 → 1); HeadYaw moves backwards


def test_a_decode_dlib_misses_keeps_the_pixel_gain():
    z = np.zeros(3, np.float32)
    base_missed = linear({"Smiling": 0.2, "HeadYaw": 0.2}, miss=lambda img: not img.any())
    assert landmark_gains(Decoder(), z, None, GAINS, measure=base_missed) == GAINS
    one_missed = linear({"Smiling": 0.2, "HeadYaw": 0.05}, miss=lambda img: img[1] < 0)  # the HeadYaw− decode
    out = landmark_gains(Decoder(), z, None, GAINS, measure=one_missed)
    assert out["HeadYaw-"] == GAINS["HeadYaw-"] and out["HeadYaw+"] > GAINS["HeadYaw+"] and out["Smiling-"] > GAINS["Smiling-"]


def test_dlib_on_a_decode_without_a_face_keeps_the_pixel_gains():
    class Grey(Decoder):
        def decode(self, zs, labels=None):
            return np.full((len(zs), 64, 64, 3), 128, np.uint8)

    assert landmark_gains(Grey(), np.zeros(3, np.float32), None, GAINS) == GAINS  # the real measure (dlib)


def test_only_the_keys_and_attributes_there_are_are_touched():
    class NoYaw(Decoder):
        attributes = {"Smiling": None, "Male": None}

    gains = {"Smiling+": 1.0, "Male+": 1.0}
    out = landmark_gains(NoYaw(), np.zeros(3, np.float32), None, gains, measure=linear({"Smiling": 0.1, "HeadYaw": 0.1}))
    assert set(out) == set(gains) and out["Smiling+"] > 1.0 and out["Male+"] == 1.0
    assert landmark_gains(Decoder(), np.zeros(3, np.float32), None, {}, measure=linear({})) == {}


def test_the_targets_are_the_landmark_judges_locked_rows():
    import json
    from pathlib import Path

    d = json.loads((Path(__file__).parents[2] / "docs/semantics/landmark-eval-test500.json").read_text())
    locked = {r["attribute"]: r["own_move_sd"] for r in d["rows"] if r["variant"] == "regression ⊥others"}
    assert TARGET_SD == {n: locked[n] for n in TARGET_SD}
    assert all(abs(DATA_SD[n] - d["data_sd"][n]) < 1e-5 for n in DATA_SD)
