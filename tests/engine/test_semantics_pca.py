"""PCA axes of the aggregate posterior, stored in a checkpoint, as a traversal axis set."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import engine
from engine import checkpoint as ckpt_io
from engine.cli import main
from engine.semantics.pca import compute_pca, load_pca, pca_axes, pca_directions, store_pca
from engine.semantics.traverse import choose_axes
from tests.tiny_models import device_under_test


def test_pca_recovers_planted_axes_and_variances():
    rng = np.random.default_rng(0)
    rot, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    sd = np.array([4.0, 2.0, 1.0, 0.5, 0.1])
    mu = (rng.standard_normal((20000, 5)) * sd) @ rot.T + 3.0
    r = pca_directions(mu)
    np.testing.assert_allclose(np.abs(np.sum(r.axes * rot.T, 1)), 1.0, atol=2e-3)  # axis k ∥ rot[:, k]
    np.testing.assert_allclose(r.variance, sd**2, rtol=0.05)
    np.testing.assert_allclose(r.mean, 3.0, atol=0.1)
    np.testing.assert_allclose(r.explained_ratio.sum(), 1.0, atol=1e-5)
    assert np.all(np.diff(r.variance) <= 0)
    np.testing.assert_allclose(np.linalg.norm(r.axes, axis=1), 1.0, atol=1e-5)
    assert np.all(r.axes[np.arange(5), np.abs(r.axes).argmax(1)] > 0)  # sign convention
    np.testing.assert_allclose(np.linalg.norm(r.axis(0)), 4.0, rtol=0.05)  # 1σ offset
    assert pca_directions(mu, k=2).axes.shape == (2, 5)
    with pytest.raises(ValueError):
        pca_directions(mu[:1])


def test_pca_in_a_checkpoint_and_as_traversal_axes(tiny_ckpt, tmp_path):
    ck = ckpt_io.load(tiny_ckpt)
    rng = np.random.default_rng(1)
    store_pca(ck, pca_directions(rng.standard_normal((100, 8)) * np.arange(1, 9)), data="planted")
    path = ckpt_io.save(ck, tmp_path / "pca.safetensors")
    back = ckpt_io.load(path)
    assert back.extra["pca.axes"].shape == (8, 8) and back.extra["pca.variance"].shape == (8,)
    assert back.info["pca"]["k"] == 8 and len(back.info["pca"]["explained_variance_ratio"]) == 8
    m = engine.load_model(str(path), device=device_under_test())
    axes = choose_axes(m, "pca", count=3)
    assert list(axes) == ["pc1", "pc2", "pc3"]
    r = load_pca(back)
    np.testing.assert_allclose(np.linalg.norm(axes["pc1"]), np.sqrt(r.variance[0]), rtol=1e-5)
    assert pca_axes(r)["pc8"].shape == (8,)


def test_compute_pca_and_traverse_cli(tiny_ckpt, celeba_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LATENT_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "m.safetensors"
    report = compute_pca(tiny_ckpt, f"faces:{celeba_dir}", out=out, progress=False)
    assert report["n"] == 28 and report["k"] == 8
    grid = tmp_path / "grid.png"
    assert main(["traverse", str(out), "--axes", "pca", "--count", "2", "--steps", "5", "--out", str(grid), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["rows"] == ["pc1", "pc2"] and len(r["explained_variance_ratio"]) == 2
    assert np.asarray(Image.open(grid)).shape == (2 * 34 + 2, 5 * 34 + 2, 3)
    # a checkpoint without stored axes: a clear error, or computed on the fly from --data
    assert main(["traverse", str(tiny_ckpt), "--axes", "pca", "--out", str(grid)]) == 2
    assert "no PCA axes" in capsys.readouterr().err
    assert main(["traverse", str(tiny_ckpt), "--axes", "pca", "--count", "3", "--data", f"faces:{celeba_dir}", "--out", str(grid), "--quiet"]) == 0
    assert main(["pca", str(tiny_ckpt), "--data", f"faces:{celeba_dir}", "--out", str(tmp_path / "p2.safetensors"), "--k", "4", "--json", "--quiet"]) == 0
