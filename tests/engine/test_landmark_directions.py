"""Directions for the continuous landmark measures and the landmark judge of eval-edits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from engine.data.age import LABELS
from engine.data.landmarks import MEASURES
from engine.semantics import landmark_eval
from engine.semantics.measure_directions import fit_measure_directions, score


def synthetic(n=600, d=8, seed=0):
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal((n, d)).astype(np.float32)
    v = np.zeros(d)
    v[2] = 1.0
    y = np.full((n, len(MEASURES)), np.nan)
    y[:, 0] = 0.05 * (mu @ v) + 0.01 * rng.standard_normal(n)  # Smiling follows axis 2
    y[:, 3] = 0.3 * mu[:, 5]  # HeadYaw follows axis 5
    y[::7, 0] = np.nan  # faces the landmarker missed: no label
    return mu, y


@pytest.mark.parametrize("method", ["regression", "mean"])
def test_a_measure_that_follows_an_axis_gets_that_axis(method):
    mu, y = synthetic()
    fits = fit_measure_directions(method, mu, y)
    assert set(fits) == {"Smiling", "HeadYaw"}  # the others have no labels at all
    u = fits["Smiling"].direction / np.linalg.norm(fits["Smiling"].direction)
    assert u[2] > 0.95 and fits["Smiling"].gap_sigma > 1.0  # points towards more smile, gap-scaled
    assert fits["Smiling"].n_train == 600 - len(range(0, 600, 7))
    mu_te, y_te = synthetic(seed=1)
    s = score(fits, mu_te, y_te)
    assert s["Smiling"]["r"] > 0.95 and s["Smiling"]["r2"] > 0.9 and s["Smiling"]["auc"] > 0.95
    assert s["HeadYaw"]["r"] > 0.99


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="regression"):
        fit_measure_directions("pca", *synthetic())


class Brightness:
    """A stand-in model: decode(z) is a flat image whose brightness is 128 + 40·z[0]."""

    class stats:
        std = np.ones(4, np.float32)

    latent_stats = stats

    def decode(self, z):
        v = np.clip(128 + 40 * np.asarray(z)[:, 0], 0, 255).astype(np.uint8)
        return np.broadcast_to(v[:, None, None, None], (len(z), 8, 8, 3)).copy()


def fake_measures(images, **_):
    """Smiling = brightness / 100; a face is 'missed' when the image is very dark."""
    b = np.asarray(images, np.float64).mean((1, 2, 3))
    out = np.zeros((len(images), len(LABELS)))  # the measures and Age
    out[:, 0] = b / 100
    out[b < 20] = np.nan
    return out


def test_landmark_judge_reads_the_move_on_the_edited_pixels(monkeypatch):
    monkeypatch.setattr(landmark_eval, "measure_labels", fake_measures)
    mu = np.zeros((10, 4), np.float32)
    mu[:3, 0] = -3.0  # these three decode too dark at -2σ: missed, left out
    sd = {m: 0.1 for m in LABELS}
    dirs = {"raw": {"Smiling": np.array([1, 0, 0, 0], np.float32), "HeadYaw": np.array([-1, 0, 0, 0], np.float32)}}
    r = landmark_eval.evaluate_landmark_edits(Brightness(), mu, dirs, sd, strength=1.0, controls=1)
    smile, yaw, control = r["rows"]
    assert smile["measured"] == 7 and smile["missed"] == pytest.approx(0.3)
    assert smile["right_way"] == 1.0 and smile["own_move_sd"] == pytest.approx(8.0)  # 2σ·40 / 100 / 0.1
    assert smile["other_moves_sd"]["HeadYaw"] == 0.0 and smile["worst_other_sd"] == 0.0
    assert yaw["right_way"] == 0.0 and yaw["worst_other_sd"] == pytest.approx(8.0)  # it moves Smiling, not itself
    assert control["attribute"] == "(random)" and control["right_way"] is None
    table = landmark_eval.markdown_table(r)
    assert table.startswith("| edit (±1σ) |") and "| Smiling | raw | 7 of 10 | 100.0 % | +8.00 s.d." in table


def _with_measures(root, seed=0):
    """face_measures.csv for a CelebA miniature: Smiling = image brightness, every 5th face missed."""
    from PIL import Image

    ids = sorted(p.name for p in (root / "img_align_celeba").iterdir())
    lines = ["image_id," + ",".join(MEASURES) + ",found"]
    for i, f in enumerate(ids):
        b = np.asarray(Image.open(root / "img_align_celeba" / f)).mean() / 255
        cells = ["" for _ in MEASURES] if i % 5 == 4 else [f"{b:.4f}", "0.1", "0.3", f"{0.01 * i:.3f}", "0", "0"]
        lines.append(f"{f}," + ",".join(cells) + f",{int(i % 5 != 4)}")
    (root / "face_measures.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def measured_celeba(tmp_path):
    from conftest import write_celeba_miniature

    return _with_measures(write_celeba_miniature(tmp_path / "celeba", n=80))


def test_cli_measure_directions_store_beside_the_other_attributes(tiny_ckpt, measured_celeba, tmp_path, capsys, monkeypatch):
    import engine

    monkeypatch.setenv("LATENT_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "m.safetensors"
    argv = ["measure-directions", str(tiny_ckpt), "--data", f"faces:{measured_celeba}", "--names", "Smiling,HeadYaw", "--out", str(out),
            "--json", "--quiet", "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["train_labelled"] == 45 and set(r["attributes"]) == {"Smiling", "HeadYaw"}
    m = engine.load_model(str(out))
    assert {"Smiling", "HeadYaw", "Eyeglasses"} <= set(m.attributes)  # the old ones kept
    info = m.ckpt.info["attributes"]["Smiling"]
    assert info["method"] == "regression" and info["r"] > 0.5 and "classifier.Smiling" in m.ckpt.extra


def test_cli_errors_are_one_line(tiny_ckpt, tmp_path, capsys):
    from conftest import write_celeba_miniature

    bare = write_celeba_miniature(tmp_path / "bare", n=10)
    assert main(["measure-directions", str(tiny_ckpt), "--data", f"faces:{bare}", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "label-landmarks" in err
    assert main(["measure-directions", str(tiny_ckpt), "--data", f"celeba:{bare}/nowhere", "--quiet"]) == 2
    assert "nowhere" in capsys.readouterr().err
    assert main(["measure-directions", str(tiny_ckpt), "--data", f"folder:{bare}/img_align_celeba", "--quiet"]) == 2  # noise: no faces
    assert "8+ labelled" in capsys.readouterr().err
    assert main(["measure-directions", str(tiny_ckpt), "--data", f"faces:{bare}", "--names", "Grin"]) == 2
    assert "unknown name" in capsys.readouterr().err
    assert main(["data", "label-landmarks", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nowhere'}: not a folder"
    assert main(["data", "label-landmarks", str(bare), "--limit", "-1"]) == 2


def test_cli_eval_edits_landmarks_end_to_end(tiny_ckpt, measured_celeba, tmp_path, capsys, monkeypatch):
    pytest.importorskip("dlib")
    monkeypatch.setenv("LATENT_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    md = tmp_path / "lm.md"
    argv = ["eval-edits", "--landmarks", "--model", str(tiny_ckpt), "--data", f"faces:{measured_celeba}", "--limit", "4",
            "--identity", "none", "--controls", "1", "--markdown", str(md), "--json", "--quiet", "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    rows = {(x["attribute"], x["variant"]) for x in r["rows"]}
    assert ("Smiling", "regression raw") in rows and ("HeadYaw", "regression ⊥others") in rows
    assert all(x["measured"] == 0 for x in r["rows"])  # a tiny model's blobs hold no face: nothing is scored, nothing invented
    assert md.read_text().startswith("| edit (±2σ) |")


def test_data_label_landmarks_cli(tmp_path, capsys):
    pytest.importorskip("dlib")
    from conftest import write_celeba_miniature

    root = write_celeba_miniature(tmp_path / "faces", n=4, size=32)
    assert main(["data", "label-landmarks", str(root), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "missed 100.0 %" in out and (root / "face_measures.csv").exists()


@pytest.mark.slow  # ~4 s of CPU: 80 dlib detections at 256 px
def test_a_folder_is_measured_on_the_fly(tiny_ckpt, tmp_path, monkeypatch):
    """folder:DIR has no face_measures.csv: its images are measured when the directions are fitted."""
    skimage_data = pytest.importorskip("skimage.data")
    pytest.importorskip("dlib")
    from PIL import Image

    import engine
    from engine.semantics.measure_directions import compute_measure_directions, labelled_split

    monkeypatch.setenv("LATENT_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    photo = Image.fromarray(skimage_data.astronaut())
    folder = tmp_path / "portraits"
    folder.mkdir()
    angles = np.linspace(-12, 12, 40)  # names 000-039: 35 train, 1 test (035), by their hash
    for i, angle in enumerate(angles):  # her face turned in the picture plane: HeadRoll follows
        photo.rotate(angle, center=(225, 130), resample=Image.Resampling.BICUBIC).crop((115, 20, 335, 240)).save(folder / f"{i:03d}.png")
    m = engine.load_model(str(tiny_ckpt))
    mu, values = labelled_split(m, f"folder:{folder}", "train", None, False, True)
    roll = values[:, MEASURES.index("HeadRoll")]
    assert len(mu) == len(values) >= 15 and np.isfinite(roll).mean() > 0.8
    from engine.data.datasets import hash_split

    train_angles = [a for i, a in enumerate(angles) if hash_split(f"{i:03d}.png") == 0]
    ok = np.isfinite(roll)
    assert np.corrcoef(np.asarray(train_angles)[ok], roll[ok])[0, 1] < -0.95  # PIL turns counter-clockwise: the eye line's angle falls
    out = compute_measure_directions(tiny_ckpt, f"folder:{folder}", out=tmp_path / "f.safetensors", names=["HeadRoll"], progress=False)
    assert "HeadRoll" in engine.load_model(str(out["checkpoint"])).attributes


def test_directions_from_the_models_own_samples_and_the_judge_of_the_stored_ones(tiny_ckpt, measured_celeba, tmp_path, capsys, monkeypatch):
    """--samples N: the measures are read on N decoded prior draws (no encoder involved), the
    direction follows them; eval-edits --landmarks --stored judges exactly what was stored."""
    import engine
    import engine.data.age as age
    from engine import checkpoint as ckpt_io

    monkeypatch.setenv("LATENT_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(age, "measure_labels", fake_measures)  # Smiling = brightness of the generated pixels
    monkeypatch.setattr(landmark_eval, "measure_labels", fake_measures)
    out = tmp_path / "s.safetensors"
    argv = ["measure-directions", str(tiny_ckpt), "--data", f"faces:{measured_celeba}", "--names", "Smiling", "--samples", "300",
            "--out", str(out), "--json", "--quiet", "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["train"] == 300 and "per_label_setting" not in r  # an unconditional model: one label setting
    m = engine.load_model(str(out))
    assert "300 prior draws" in m.ckpt.info["attributes"]["Smiling"]["data"]
    d = np.asarray(m.attributes["Smiling"], np.float32)
    z = np.zeros((1, m.latent_dim), np.float32)
    brighter = m.decode(z + 2 * d / np.linalg.norm(d)).astype(float).mean() - m.decode(z - 2 * d / np.linalg.norm(d)).astype(float).mean()
    assert brighter > 0
    argv = ["eval-edits", "--landmarks", "--stored", "--model", str(out), "--data", f"faces:{measured_celeba}", "--limit", "6",
            "--identity", "none", "--controls", "0", "--json", "--quiet", "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    rows = {(x["attribute"], x["variant"]): x for x in json.loads(capsys.readouterr().out)["rows"]}
    row = rows["Smiling", "stored raw"]
    assert set(rows) == {("Smiling", "stored raw")} and row["right_way"] >= 0.5 and row["own_move_sd"] > 0
    bare = tmp_path / "bare.safetensors"
    ckpt = ckpt_io.load(tiny_ckpt)
    ckpt.attributes.pop("Smiling")  # the tiny model's only landmark label
    ckpt_io.save(ckpt, bare)
    assert main(["eval-edits", "--landmarks", "--stored", "--model", str(bare), "--data", f"faces:{measured_celeba}", "--quiet"]) == 2
    assert "measure-directions" in capsys.readouterr().err


def test_readouts_only_keeps_the_directions_and_replaces_what_the_locks_hold(tiny_ckpt, measured_celeba, tmp_path, capsys, monkeypatch):
    """--readouts-only: the stored direction (and what was recorded of it) stays bit for bit; the
    read-out the locks hold is the new fit's; a direction the checkpoint lacks is refused."""
    import engine
    import engine.data.age as age
    from engine import checkpoint as ckpt_io

    monkeypatch.setenv("LATENT_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(age, "measure_labels", fake_measures)
    before = ckpt_io.load(tiny_ckpt)
    out = tmp_path / "r.safetensors"
    argv = ["measure-directions", str(tiny_ckpt), "--data", f"faces:{measured_celeba}", "--names", "Smiling", "--samples", "300",
            "--readouts-only", "--out", str(out), "--json", "--quiet", "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    after = engine.load_model(str(out)).ckpt
    np.testing.assert_array_equal(after.attributes["Smiling"], before.attributes["Smiling"])
    assert not np.allclose(after.extra["classifier.Smiling"], before.extra.get("classifier.Smiling", np.zeros(1)))
    info = after.info["attributes"]["Smiling"]
    assert "300 prior draws" in info["readout"] and info.get("data") == before.info.get("attributes", {}).get("Smiling", {}).get("data")
    bare = tmp_path / "bare.safetensors"
    before.attributes.pop("Smiling")
    ckpt_io.save(before, bare)
    assert main([argv[0], str(bare), *argv[2:]]) == 2
    assert "no Smiling direction to keep" in capsys.readouterr().err
