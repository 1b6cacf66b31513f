"""Classifier-normal directions (held-out accuracy / AUC), writing them into a checkpoint, and
the standalone directions file."""

from __future__ import annotations

import numpy as np
import pytest

from engine import checkpoint as ckpt_io
from engine.semantics.classifier_directions import (
    classifiers_of,
    compute_directions,
    export_directions,
    import_directions,
    logistic_fits,
    mean_difference_fits,
)
from engine.semantics.direction_files import DirectionsFileError, read_directions, write_directions


def planted(n=800, d=6, seed=0):
    """Attribute A lives on the diagonal (e0 + e1)/√2; B is pure noise."""
    rng = np.random.default_rng(seed)
    labels = np.where(rng.random((n, 2)) < 0.5, 1, -1).astype(np.int8)
    mu = rng.standard_normal((n, d)).astype(np.float32)
    u = np.zeros(d, np.float32)
    u[:2] = 1 / np.sqrt(2)
    mu += 3.0 * (labels[:, :1] > 0) * u
    return mu, labels, u


def test_classifier_normal_recovers_a_planted_direction_with_held_out_scores():
    mu, labels, u = planted()
    fits = logistic_fits(mu[:600], labels[:600], ["A", "B"], mu[600:], labels[600:])
    a, b = fits["A"], fits["B"]
    assert a.method == "classifier" and a.n_train == 600 and a.n_test == 200
    cos = a.direction @ u / np.linalg.norm(a.direction)
    assert cos > 0.97
    assert a.accuracy > 0.85 and a.auc > 0.95
    assert 0.3 < b.auc < 0.7 and b.accuracy < 0.65  # noise stays noise
    # length = the class-mean gap along the direction (≈ 3, the planted shift)
    assert np.linalg.norm(a.direction) == pytest.approx(3.0, abs=0.3)
    # the stored read-out is in latent units: logit = w·z + b classifies the held-out data
    w, bias = a.classifier[:-1], a.classifier[-1]
    acc = ((mu[600:] @ w + bias > 0) == (labels[600:, 0] > 0)).mean()
    assert acc == pytest.approx(a.accuracy)


def test_mean_difference_is_scored_the_same_way():
    mu, labels, u = planted()
    fits = mean_difference_fits(mu[:600], labels[:600], ["A", "B"], mu[600:], labels[600:])
    assert fits["A"].method == "mean" and fits["A"].auc > 0.95 and fits["A"].accuracy > 0.85
    np.testing.assert_allclose(fits["A"].direction, mu[:600][labels[:600, 0] > 0].mean(0) - mu[:600][labels[:600, 0] < 0].mean(0), atol=1e-4)


def test_classifier_beats_mean_difference_under_correlated_noise():
    """The mean difference is pulled by a correlated nuisance; the classifier's normal is not."""
    rng = np.random.default_rng(1)
    n = 3000
    y = np.where(rng.random(n) < 0.5, 1, -1)
    nuisance = rng.standard_normal(n) * 3
    mu = np.stack([y * 1.0 + nuisance, nuisance, rng.standard_normal(n)], 1).astype(np.float32)  # signal = x0 − x1
    labels = y[:, None].astype(np.int8)
    clf = logistic_fits(mu[:2000], labels[:2000], ["A"], mu[2000:], labels[2000:])["A"]
    mean = mean_difference_fits(mu[:2000], labels[:2000], ["A"], mu[2000:], labels[2000:])["A"]
    assert clf.auc > 0.99 and clf.auc > mean.auc + 0.1
    target = np.array([1, -1, 0]) / np.sqrt(2)
    assert clf.direction @ target / np.linalg.norm(clf.direction) > 0.99


def test_compute_directions_writes_checkpoint(tiny_ckpt, celeba_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "with-dirs.safetensors"
    report = compute_directions(tiny_ckpt, f"faces:{celeba_dir}", "classifier", out=out, progress=False)
    assert set(report["attributes"]) == {"Eyeglasses", "Male"}
    for scores in report["attributes"].values():
        assert set(scores) == {"classifier", "mean"} and 0.0 <= scores["classifier"]["auc"] <= 1.0
    ck = ckpt_io.load(out)
    assert {"Eyeglasses", "Male", "Smiling"} <= set(ck.attributes)  # tiny's Smiling is kept
    assert ck.info["attributes"]["Eyeglasses"]["method"] == "classifier"
    assert ck.info["attributes"]["Eyeglasses"]["n_test"] == 6
    assert set(classifiers_of(ck)) == {"Eyeglasses", "Male"} and classifiers_of(ck)["Male"].shape == (9,)
    assert ckpt_io.load(tiny_ckpt).info.get("attributes") is None  # the source is untouched
    assert list((tmp_path / "cache" / "encoded").glob("*.npz"))  # encodings cached


def test_export_import_round_trip(tiny_ckpt, tmp_path):
    f = tmp_path / "dirs.safetensors"
    report = export_directions(tiny_ckpt, f, ["Eyeglasses"])
    assert report["bytes"] < 4096  # small and standalone
    dirs, meta, _ = read_directions(f, latent_dim=8)
    np.testing.assert_array_equal(dirs["Eyeglasses"], ckpt_io.load(tiny_ckpt).attributes["Eyeglasses"])
    assert meta["model"]["fingerprint"]
    out = tmp_path / "copy.safetensors"
    r = import_directions(tiny_ckpt, f, out=out, rename={"Eyeglasses": "Glasses2"})
    assert r["added"] == ["Glasses2"] and r["same_model"] is True
    np.testing.assert_array_equal(ckpt_io.load(out).attributes["Glasses2"], dirs["Eyeglasses"])
    with pytest.raises(ValueError, match="no direction 'Nope'"):
        export_directions(tiny_ckpt, tmp_path / "x.safetensors", ["Nope"])


def test_directions_file_is_validated(tmp_path, tiny_ckpt):
    f = tmp_path / "d.safetensors"
    write_directions(f, {"a": np.ones(4)})
    with pytest.raises(DirectionsFileError, match="4-dimensional but the model's latent has 8"):
        read_directions(f, latent_dim=8)
    pickle = tmp_path / "p.safetensors"
    pickle.write_bytes(b"\x80\x04\x95" + b"\0" * 20)
    with pytest.raises(DirectionsFileError, match="pickle"):
        read_directions(pickle)
    with pytest.raises(DirectionsFileError, match="model checkpoint"):
        read_directions(tiny_ckpt)
    with pytest.raises(DirectionsFileError, match="NaN"):
        write_directions(f, {"a": np.array([1.0, np.nan])})
    with pytest.raises(DirectionsFileError, match="no such"):
        read_directions(tmp_path / "missing.safetensors")


def test_a_safetensors_header_length_starting_with_0x80_is_not_a_pickle(tmp_path):
    from engine.checkpoint import looks_like_pickle

    assert not looks_like_pickle(b"\x80\x17\0\0\0\0\0\0{", 10_000)  # header of 0x1780 bytes, then JSON
    assert looks_like_pickle(b"\x80\x04\x95\x10\0\0\0\0\0", 10_000)
    assert looks_like_pickle(b"PK\x03\x04\0\0\0\0\0", 10_000)
    # a real file whose header length has 0x80 as its low byte reads back
    for pad in range(256):
        f = write_directions(tmp_path / "d.safetensors", {"a": np.ones(3)}, info={"pad": "x" * pad})
        if f.read_bytes()[0] == 0x80:
            break
    assert f.read_bytes()[0] == 0x80
    assert set(read_directions(f)[0]) == {"a"}


def test_cli_directions_errors_are_one_line(tiny_ckpt, tmp_path, capsys, monkeypatch):
    from PIL import Image

    from engine.cli import main

    monkeypatch.setenv("LATENT_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "plain"
    folder.mkdir()
    for i in range(40):
        Image.fromarray(np.full((8, 8, 3), i * 5, np.uint8)).save(folder / f"{i}.png")
    assert main(["directions", str(tiny_ckpt), "--data", f"folder:{folder}", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "no attribute labels" in err and len(err.splitlines()) == 1
    assert main(["directions-import", str(tiny_ckpt), str(tiny_ckpt)]) == 2
    assert "model checkpoint" in capsys.readouterr().err
