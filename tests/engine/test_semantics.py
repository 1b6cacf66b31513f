"""Latent statistics, mean-difference directions and traversals."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.semantics.directions import mean_difference_directions
from engine.semantics.latent_stats import latent_statistics
from engine.semantics.traverse import attribute_axis, choose_axes, traversal_grid, traversal_latents
from tests.tiny_models import device_under_test


def test_mean_difference_recovers_a_planted_direction():
    rng = np.random.default_rng(0)
    labels = np.where(rng.random((500, 2)) < 0.5, 1, -1)
    mu = rng.standard_normal((500, 6)).astype(np.float32)
    mu[:, 2] += 2.0 * (labels[:, 0] > 0)  # attribute 0 lives on dimension 2
    dirs = mean_difference_directions(mu, labels, ["A", "B"])
    assert int(np.argmax(np.abs(dirs["A"]))) == 2 and dirs["A"][2] == pytest.approx(2.0, abs=0.25)
    assert np.abs(dirs["B"]).max() < 0.4
    one_sided = np.ones((500, 1), dtype=int)
    assert mean_difference_directions(mu, one_sided, ["C"]) == {}


def test_latent_statistics_mark_dead_dimensions():
    mu = np.zeros((100, 3), np.float32)
    mu[:, 0] = np.linspace(-2, 2, 100)
    logvar = np.zeros((100, 3), np.float32)
    logvar[:, 0] = -4.0
    s = latent_statistics(mu, logvar)
    assert s["kl"][0] > 1.0 and s["kl"][1] == pytest.approx(0.0, abs=1e-6)


def test_traversal_latents_and_attribute_axis():
    base = np.zeros(4, np.float32)
    lat = traversal_latents(base, np.array([1, 0, 0, 0], np.float32), steps=5, span=2.0)
    np.testing.assert_allclose(lat[:, 0], [-2, -1, 0, 1, 2])
    axis = attribute_axis(np.array([3.0, 4.0, 0, 0]), std=np.array([2.0, 2.0, 1.0, 1.0]))
    np.testing.assert_allclose(axis, [1.2, 1.6, 0, 0], atol=1e-6)  # unit (0.6, 0.8), σ = 2


def test_traversal_grid_rows_change_along_the_axis(tiny_ckpt):
    m = engine.load_model(str(tiny_ckpt), device=device_under_test())
    axes = choose_axes(m, "dims", count=2)
    grid = traversal_grid(m, axes, m.latent_stats.mean, steps=5)
    s, pad = m.image_size, 2
    assert grid.shape == (2 * (s + pad) + pad, 5 * (s + pad) + pad, 3)
    first = grid[pad : pad + s, pad : pad + s].astype(int)
    last = grid[pad : pad + s, -pad - s : -pad].astype(int)
    assert np.abs(first - last).mean() > 1.0
    assert set(choose_axes(m, "attributes")) == {"Eyeglasses", "Smiling"}
    with pytest.raises(ValueError, match="no PCA axes"):
        choose_axes(m, "pca")  # test_semantics_pca.py covers stored axes
    with pytest.raises(ValueError, match="unknown axes"):
        choose_axes(m, "eigen")


def test_aggregate_prior_matches_the_latents_and_sampling_uses_it(tiny_ckpt, tmp_path):
    from engine.semantics.latent_stats import aggregate_prior

    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    mu = (rng.standard_normal((4000, 3)) @ a.T + 5.0).astype(np.float32)
    prior = aggregate_prior(mu, np.full_like(mu, -20.0))
    np.testing.assert_allclose(prior["prior_mean"], mu.mean(0), atol=1e-4)
    np.testing.assert_allclose(prior["prior_chol"] @ prior["prior_chol"].T, np.cov(mu, rowvar=False), rtol=1e-3, atol=1e-3)

    m = engine.load_model(str(tiny_ckpt), device=device_under_test())
    assert m.priors == ["aggregate", "standard"]
    z_agg = m.sample_latents(2000, seed=0)
    z_std = m.sample_latents(2000, seed=0, prior="standard")
    np.testing.assert_allclose(z_agg.mean(0), m.ckpt.extra["prior_mean"], atol=0.15 * float(z_agg.std()))
    assert abs(float(z_std.std()) - 1.0) < 0.05
    np.testing.assert_allclose(m.sample_latents(2000, seed=0, temperature=0.0), np.broadcast_to(m.ckpt.extra["prior_mean"], (2000, 8)), atol=1e-6)
    with pytest.raises(ValueError, match="prior 'flow' is not available"):
        m.sample_latents(2, prior="flow")


def test_stats_command_refreshes_statistics_and_directions(celeba_dir, tmp_path):
    from engine import checkpoint as ckpt_io
    from engine.semantics.latent_stats import refresh_statistics
    from tests.tiny_models import tiny_checkpoint

    path = tiny_checkpoint(tmp_path / "t.safetensors")
    out = refresh_statistics(path, f"celeba:{celeba_dir}", device=device_under_test(), progress=False)
    assert out["images"] == 28 and out["attributes"] == ["Eyeglasses", "Male", "Smiling"]
    ck = ckpt_io.load(path)
    assert ck.info["data"]["statistics_from"]["images"] == 28 and ck.extra["prior_chol"].shape == (8, 8)
