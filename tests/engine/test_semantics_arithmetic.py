"""Latent arithmetic A − B + C over images, image sets and labelled groups."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import engine
from engine.cli import main
from engine.semantics.arithmetic import latent_arithmetic, parse_condition, resolve_term, select_group
from engine.semantics.encoded import EncodedSet
from tests.tiny_models import device_under_test


def planted_faces(n=4000, d=6, seed=0):
    """Glasses add g, being male adds m, independently: the notes' example in a latent space."""
    rng = np.random.default_rng(seed)
    glasses, male = rng.random(n) < 0.5, rng.random(n) < 0.6
    g, m = np.eye(d)[0] * 3, np.eye(d)[1] * 2
    mu = rng.standard_normal((n, d)) * 0.3 + glasses[:, None] * g + male[:, None] * m
    labels = np.stack([np.where(glasses, 1, -1), np.where(male, 1, -1)], 1).astype(np.int8)
    return EncodedSet(mu.astype(np.float32), labels, ["Eyeglasses", "Male"], "planted"), g, m


def test_man_with_glasses_minus_man_plus_woman_is_woman_with_glasses():
    enc, g, m = planted_faces()
    a = resolve_term("attr:Male=1,Eyeglasses=1", None, enc)
    b = resolve_term("attr:Male=1,Eyeglasses=-1", None, enc)
    c = resolve_term("attr: Male=0 , Eyeglasses=-1", None, enc)  # 0 means "without"
    result = latent_arithmetic(a.mean, b.mean, c.mean)
    women_with_glasses = enc.mu[select_group(enc, {"Male": -1, "Eyeglasses": 1})].mean(0)
    assert np.linalg.norm(result - women_with_glasses) < 0.1
    np.testing.assert_allclose(result, g, atol=0.1)  # glasses on, male off
    assert a.n + b.n + c.n < len(enc) and "items" in a.description


def test_term_specs(tmp_path, tiny_ckpt, celeba_dir):
    m = engine.load_model(str(tiny_ckpt), device=device_under_test())
    z = np.arange(24, dtype=np.float32).reshape(3, 8)
    np.save(tmp_path / "z.npy", z)
    np.testing.assert_allclose(resolve_term(f"z:{tmp_path / 'z.npy'}", m).mean, z.mean(0))
    np.testing.assert_allclose(resolve_term(f"z:{tmp_path / 'z.npy'}:2", m).mean, z[2])
    np.testing.assert_allclose(resolve_term("sample:7", m).mean, m.sample_latents(1, seed=7)[0])
    imgs = sorted((celeba_dir / "img_align_celeba").glob("*.png"))
    one = resolve_term(str(imgs[0]), m)
    two = resolve_term(f"{imgs[0]},{imgs[1]}", m)
    assert one.n == 1 and two.n == 2
    np.testing.assert_allclose(two.mean, m.encode(np.stack([np.asarray(Image.open(p)) for p in imgs[:2]])).mean(0), atol=1e-5)
    assert resolve_term(str(celeba_dir / "img_align_celeba" / "00000*.png"), m).n == 9
    with pytest.raises(ValueError, match="needs a labelled data set"):
        resolve_term("attr:Male=1", m, None)
    with pytest.raises(ValueError, match="N×8"):
        np.save(tmp_path / "bad.npy", np.zeros((2, 3)))
        resolve_term(f"z:{tmp_path / 'bad.npy'}", m)
    with pytest.raises(ValueError, match="bad value"):
        parse_condition("Male=2")
    with pytest.raises(ValueError, match="'Male' is not NAME=VALUE, e.g. Male=1"):
        parse_condition("Male")


def test_cli_arithmetic_on_a_labelled_set(tiny_ckpt, celeba_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LATENT_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "arith.png"
    argv = ["arithmetic", "--model", str(tiny_ckpt), "--data", f"faces:{celeba_dir}", "--a", "attr:Male=1,Eyeglasses=1",
            "--b", "attr:Male=1,Eyeglasses=-1", "--c", "attr:Male=-1,Eyeglasses=-1", "--per-item", "4", "--scale", "1",
            "--save-latent", str(tmp_path / "r.npy"), "--out", str(out), "--json", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert "Male=-1,Eyeglasses=-1" in report["c"]
    grid = np.asarray(Image.open(out))
    assert grid.shape == (3 * 34 + 2, 4 * 34 + 2, 3)  # rows: means + result, 4 members of C, each edited
    assert np.load(tmp_path / "r.npy").shape == (1, 8)
    assert main(["arithmetic", "--model", str(tiny_ckpt), "--a", "attr:Male=1", "--b", "x.png", "--c", "y.png", "--out", str(out)]) == 2
    assert "need --data" in capsys.readouterr().err


def test_amount_scales_a_minus_b():
    a, b, c = np.array([3.0, 1.0]), np.array([1.0, 1.0]), np.array([0.0, 5.0])
    np.testing.assert_allclose(latent_arithmetic(a, b, c), [2.0, 5.0])
    np.testing.assert_allclose(latent_arithmetic(a, b, c, amount=2.0), [4.0, 5.0])
