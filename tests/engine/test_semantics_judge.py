"""The pixel judge and the edit evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from engine.data.datasets import load_dataset
from engine.semantics.edit_eval import direction_variants, evaluate_edits, markdown_table
from engine.semantics.identity import PixelIdentity
from engine.semantics.judge import evaluate_judge, gaussian_blur, load_judge, save_judge, train_judge


@pytest.fixture
def big_celeba(tmp_path):
    from conftest import write_celeba_miniature

    return write_celeba_miniature(tmp_path / "celeba", n=160)


def test_judge_learns_pixels_and_round_trips(big_celeba, tmp_path):
    train = load_dataset(f"faces:{big_celeba}", 32, split="train", progress=False)
    test = load_dataset(f"faces:{big_celeba}", 32, split="test", progress=False)
    judge = train_judge(train, test, epochs=6, batch_size=32, progress=False)
    held = judge.metrics["held_out"]
    assert held["Eyeglasses"]["accuracy"] >= 0.9 and held["Male"]["accuracy"] >= 0.8
    path = save_judge(judge, tmp_path / "j.safetensors")
    back = load_judge(path)
    imgs = test.images.permute(0, 2, 3, 1).numpy()  # N×H×W×3 works as well as N×C×H×W
    np.testing.assert_allclose(back.logits(imgs), judge.logits(test.images), atol=1e-4)
    assert back.names == ["Eyeglasses", "Male"] and back.metrics["held_out"] == held
    assert evaluate_judge(back, test.images, test.labels)["Eyeglasses"]["accuracy"] == held["Eyeglasses"]["accuracy"]
    with pytest.raises(ValueError, match="not a Latent Studio judge"):
        from engine.semantics.direction_files import write_directions

        load_judge(write_directions(tmp_path / "d.safetensors", {"a": np.ones(3)}))


def test_blur_keeps_mean_and_smooths():
    import torch

    x = torch.zeros(1, 3, 9, 9)
    x[..., 4, 4] = 1.0
    y = gaussian_blur(x, 1.0)
    assert float(y.sum()) == pytest.approx(3.0, rel=1e-4) and float(y.max()) < 0.25


class FakeJudge:
    """Judges 'A' by the mean brightness of the image."""

    names = ["A", "B"]

    def judge(self, images):
        m = images.reshape(len(images), -1).mean(1)
        return np.stack([m > 128, np.zeros(len(images), bool)], 1)


class FakeModel:
    class latent_stats:  # noqa: N801
        std = np.ones(2, np.float32)

    def decode(self, z):
        v = np.clip(128 + 40 * z[:, :1], 0, 255)
        return np.broadcast_to(v[:, :, None, None], (len(z), 4, 4, 3)).astype(np.uint8)


def test_evaluate_edits_counts_success_flips_and_identity():
    mu = np.array([[-1.0, 0.0], [-0.5, 0.0], [-3.0, 0.0], [1.0, 0.0]], np.float32)
    variants = direction_variants({"mean": {"A": np.array([1.0, 0.0]), "B": np.array([0.0, 1.0])}})
    assert set(variants) == {"mean raw", "mean ⊥others"}
    r = evaluate_edits(FakeModel(), FakeJudge(), mu, variants, strength=2.0, identity=PixelIdentity(), identity_n=4)
    row = next(x for x in r["rows"] if x["attribute"] == "A" and x["variant"] == "mean raw")
    assert row["n_negative_before"] == 3 and row["success"] == pytest.approx(2 / 3)  # −3 + 2 stays negative
    assert row["other_flipped"] == 0.0 and row["flipped"] == {"B": 0.0}
    assert "identity" in row and r["identity_faces"] == 4
    assert "| A | mean raw | 66.7 % (of 3) |" in markdown_table(r)


def test_cli_train_judge_and_eval_edits(tiny_ckpt, big_celeba, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LATENT_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    judge = tmp_path / "judge.safetensors"
    assert main(["train-judge", "--data", f"faces:{big_celeba}", "--size", "32", "--epochs", "2", "--out", str(judge), "--quiet", "--json"]) == 0
    assert "held_out" in json.loads(capsys.readouterr().out)
    md = tmp_path / "table.md"
    argv = ["eval-edits", "--model", str(tiny_ckpt), "--data", f"faces:{big_celeba}", "--judge", str(judge), "--identity", "pixel",
            "--identity-n", "8", "--markdown", str(md), "--json", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    assert {(x["attribute"], x["variant"]) for x in r["rows"]} >= {("Eyeglasses", "classifier raw"), ("Male", "mean ⊥others"), ("Male", "mean ⊥others+judge")}
    assert set(r["judge"]) >= {"held_out_real", "test_real", "test_reconstructions"}
    assert md.read_text().startswith("| attribute | direction | success")
    assert main([*argv[:-4], "--stored", "--controls", "0", "--json", "--quiet"]) == 0  # the checkpoint's own directions, the editor's lock
    r = json.loads(capsys.readouterr().out)
    assert {x["variant"] for x in r["rows"]} == {"stored raw", "stored ⊥all"} and {x["attribute"] for x in r["rows"]} <= {"Eyeglasses", "Male"}


def test_dlib_identity_distance_is_zero_for_the_same_face_and_larger_for_another():
    from engine.semantics.identity import dlib_available, identity_metric

    if not dlib_available():
        pytest.skip("dlib (faces extra) not installed")
    from engine.semantics.photos import sample_photos

    p = sample_photos(64)
    ident = identity_metric("auto")
    assert ident.kind == "dlib"
    a = np.stack([p["astronaut"], p["astronaut"]])
    b = np.stack([p["astronaut"], p["lfw0"]])
    d = ident.distances(a, b)
    assert d[0] == pytest.approx(0.0, abs=1e-5) and d[1] > 0.3


def test_stored_variants_lock_every_other_stored_attribute():
    """The editor's lock: every other stored attribute's read-out (its classifier normal where the
    checkpoint has one, else its direction) is held, not only the judge's attributes'."""
    from types import SimpleNamespace

    from engine.semantics.edit_eval import stored_variants

    rng = np.random.default_rng(0)
    dirs = {n: rng.standard_normal(6).astype(np.float32) for n in ("Eyeglasses", "Male", "Smiling")}
    w_smiling = np.append(rng.standard_normal(6), 0.3).astype(np.float32)
    model = SimpleNamespace(name="m", attributes=dirs, ckpt=SimpleNamespace(extra={"classifier.Smiling": w_smiling}, attributes=dirs, info={}))
    v = stored_variants(model, ["Eyeglasses", "Male", "Young"])
    assert set(v) == {"stored raw", "stored ⊥all"} and set(v["stored raw"]) == {"Eyeglasses", "Male"}
    np.testing.assert_array_equal(v["stored raw"]["Male"], dirs["Male"])
    locked = v["stored ⊥all"]["Eyeglasses"]
    assert abs(locked @ w_smiling[:-1]) < 1e-4 and abs(locked @ dirs["Male"]) < 1e-4 and abs(locked @ dirs["Eyeglasses"]) > 0.1
    with pytest.raises(ValueError, match="no stored direction for Young"):
        stored_variants(model, ["Young"])


def test_random_controls_give_the_noise_floor():
    mu = np.array([[-1.0, 0.0], [-0.5, 0.0], [-3.0, 0.0], [1.0, 0.0]], np.float32)
    r = evaluate_edits(FakeModel(), FakeJudge(), mu, {"x": {"A": np.array([1.0, 0.0])}}, controls=2)
    controls = [x for x in r["rows"] if x["attribute"] == "(random)"]
    assert [c["variant"] for c in controls] == ["control 1", "control 2"]
    assert set(controls[0]["flipped"]) == {"A", "B"} and controls[0]["success"] is None
    assert markdown_table(r).splitlines()[-1].startswith("| (random) | control 2 | – ")


def test_judge_locks_project_out_the_others_classifier_normals_and_judge_readouts():
    rng = np.random.default_rng(0)
    dirs = {n: rng.standard_normal(6).astype(np.float32) for n in ("A", "B", "C")}
    classifiers = {n: np.append(rng.standard_normal(6), 0.3).astype(np.float32) for n in dirs}
    readouts = {n: rng.standard_normal(6).astype(np.float32) for n in dirs}
    variants = direction_variants({"mean": dirs}, classifiers, readouts=readouts)
    assert set(variants) == {"mean raw", "mean ⊥others", "mean ⊥others+judge"}
    for a, d in variants["mean ⊥others+judge"].items():
        for b in dirs:
            if b != a:  # both of every other attribute's vectors are locked ...
                assert abs(float(d @ classifiers[b][:-1])) < 1e-4 and abs(float(d @ readouts[b])) < 1e-4
        assert abs(float(d @ readouts[a])) > 1e-3  # ... not the attribute's own read-out
        assert 0 < np.linalg.norm(d) < np.linalg.norm(dirs[a])
    assert not np.allclose(variants["mean ⊥others+judge"]["A"], variants["mean ⊥others"]["A"])


def test_judge_readouts_recover_the_direction_the_judge_reads():
    from engine.semantics.edit_eval import judge_readouts

    rng = np.random.default_rng(1)
    mu = rng.standard_normal((400, 2)).astype(np.float32)
    r = judge_readouts(FakeModel(), FakeJudge(), mu)
    # FakeJudge says A when brightness > 128, i.e. z0 > 0 in FakeModel: the read-out points along +z0
    u = r["A"] / np.linalg.norm(r["A"])
    assert u[0] > 0.95
    assert "B" not in r  # the judge never says B: nothing to fit
