"""Identity-keeping directions (engine.semantics.keep_identity): the constrained solve keeps the
own read-out and drops what moves the descriptor; keep-identity rewrites only the named stored
directions, records how, refuses to do it twice and refuses bad arguments in one line."""

from __future__ import annotations

import numpy as np
import pytest

from engine import checkpoint as ckpt_io
from engine.cli import main
from engine.semantics.keep_identity import descriptor_jacobians, descriptor_map, keep_identity, store_identity_kept


def test_the_kept_direction_moves_its_readout_alike_and_the_descriptor_less():
    e = np.eye(4)
    gram = 100.0 * np.outer(e[0], e[0])  # only the first latent axis moves the descriptor
    d = (e[0] + e[1]) / np.sqrt(2)
    kept = keep_identity(d, e[1], gram, closeness=3.0).astype(np.float64)
    assert np.linalg.norm(kept) == pytest.approx(np.linalg.norm(d), rel=1e-5)  # the stored length
    u = kept / np.linalg.norm(kept)
    assert abs(u[0]) < 0.6 * abs(d[0]) and u[1] > d[1]  # less identity, more of its own read-out per unit (μ = 75: 0.39 against 0.71)
    assert kept @ gram @ kept < 0.4 * (d @ gram @ d)
    loose = keep_identity(d, e[1], gram, closeness=1e6)  # very close: nearly the stored direction
    np.testing.assert_allclose(loose, d, atol=1e-3)
    with pytest.raises(ValueError, match="closeness must be > 0"):
        keep_identity(d, e[1], gram, closeness=0.0)


def _describe(images):
    """A stand-in descriptor: the mean colour of each image quadrant (every 'face' found)."""
    h = images.shape[1] // 2
    q = [images[:, :h, :h], images[:, :h, h:], images[:, h:, :h], images[:, h:, h:]]
    return np.concatenate([x.reshape(len(images), -1, 3).mean(1) for x in q], 1) / 255.0, np.arange(len(images))


def test_keep_identity_rewrites_only_the_named_directions(tiny_ckpt, tmp_path):
    import engine

    model = engine.load_model(str(tiny_ckpt), device="cpu")
    dmap = descriptor_map(model, 120, seed=1, describe=_describe)
    assert dmap.n == 120 and 0.0 < dmap.r2 <= 1.0 and dmap.w.shape == (model.latent_dim, 12)
    out = tmp_path / "kept.safetensors"
    report = store_identity_kept(str(tiny_ckpt), ["Smiling"], samples=120, seed=1, out=str(out), describe=_describe)
    facts = report["attributes"]["Smiling"]
    assert facts["descriptor_change_after"] < facts["descriptor_change_before"] and facts["cosine_to_before"] < 1.0
    before, after = ckpt_io.load(tiny_ckpt), ckpt_io.load(out)
    assert not np.array_equal(before.attributes["Smiling"], after.attributes["Smiling"])
    np.testing.assert_array_equal(before.attributes["Eyeglasses"], after.attributes["Eyeglasses"])
    assert all(np.array_equal(before.state[k].numpy(), after.state[k].numpy()) for k in before.state)
    assert after.info["attributes"]["Smiling"]["identity_kept"]["samples"] == 120
    with pytest.raises(ValueError, match="Smiling is identity-kept already"):
        store_identity_kept(str(out), ["Smiling"], samples=120, describe=_describe)
    with pytest.raises(ValueError, match="no stored direction HeadYaw"):
        store_identity_kept(str(tiny_ckpt), ["HeadYaw"], samples=120, describe=_describe)


def _describe_at(center, images):
    """The stand-in descriptor read 'in the centre image's box' (every centre has a face)."""
    return _describe(images)[0].astype(np.float64)


def test_the_local_metric_is_the_mean_jacobian_gram_and_keeps_identity(tiny_ckpt, tmp_path):
    import engine

    model = engine.load_model(str(tiny_ckpt), device="cpu")
    local = descriptor_jacobians(model, faces=3, seed=1, describe_at=_describe_at)
    dim = model.latent_dim
    assert local.n == 3 and local.gram.shape == (dim, dim)
    np.testing.assert_allclose(local.gram, local.gram.T, atol=1e-9)
    assert np.linalg.eigvalsh(local.gram).min() > -1e-9 and np.trace(local.gram) > 0  # a sum of JᵀJ: positive semidefinite
    out = tmp_path / "local.safetensors"
    report = store_identity_kept(
        str(tiny_ckpt), seed=1, out=str(out), metric="local", faces=3, describe_at=_describe_at, closeness={"Smiling": 0.5}
    )  # one per name; the names default to these
    facts = report["attributes"]["Smiling"]
    assert set(report["attributes"]) == {"Smiling"} and facts["closeness"] == 0.5
    assert facts["metric"] == "local" and facts["faces"] == 3
    assert facts["descriptor_change_after"] < facts["descriptor_change_before"]
    with pytest.raises(ValueError, match="only 0 of 6 samples had a face"):
        descriptor_jacobians(model, faces=3, describe_at=lambda c, ims: None)
    with pytest.raises(ValueError, match="no closeness given for Smiling"):
        store_identity_kept(str(tiny_ckpt), ["Smiling"], closeness={"HeadRoll": 1.0}, metric="local", faces=3, describe_at=_describe_at)
    with pytest.raises(ValueError, match="unknown metric 'cosine'"):
        store_identity_kept(str(tiny_ckpt), ["Smiling"], metric="cosine", describe_at=_describe_at)


def test_the_local_metric_is_measured_once_per_model_and_kept_in_the_cache(tiny_ckpt, monkeypatch):
    import engine
    from engine.semantics import keep_identity as ki

    calls = []

    def counting(center, images):
        calls.append(len(images))
        return _describe_at(center, images)

    monkeypatch.setattr(ki, "dlib_describe_at", lambda: counting)  # the cache is for dlib's metric only
    model = engine.load_model(str(tiny_ckpt), device="cpu")
    first = descriptor_jacobians(model, faces=2, seed=3)
    assert len(calls) == 2
    again = descriptor_jacobians(model, faces=2, seed=3)
    assert len(calls) == 2 and again.n == 2  # read back, not measured again
    np.testing.assert_array_equal(first.gram, again.gram)
    descriptor_jacobians(model, faces=2, seed=4)  # another seed is another entry
    descriptor_jacobians(model, faces=2, seed=3, cache=False)
    assert len(calls) == 6


def test_keep_identity_refuses_bad_arguments_in_one_line(tiny_ckpt, capsys):
    for argv, message in (
        (["--closeness", "0"], "--closeness"),
        (["--samples", "10"], "--samples"),
        (["--names", "Grin"], "Grin"),
        (["--metric", "cosine"], "--metric"),
        (["--metric", "local", "--faces", "1"], "--faces"),
        (["--closeness", "Smiling=0"], "Smiling must be"),
        (["--closeness", "Grin=1"], "Grin"),
        (["--closeness", "=1"], "'=1' is not NAME=VALUE"),
    ):
        assert main(["keep-identity", str(tiny_ckpt), *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error:") and message in err[0]
