"""The user's own attributes: a direction from a few tagged latents, kept in the data folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from engine.semantics import user_attributes as ua


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_STUDIO_DATA_DIR", str(tmp_path / "userdata"))
    return tmp_path / "userdata"


def tagged(n_with=6, n_without=8, d=8, seed=0):
    rng = np.random.default_rng(seed)
    u = np.zeros(d, np.float32)
    u[3] = 2.0
    return rng.standard_normal((n_with, d)) * 0.5 + u, rng.standard_normal((n_without, d)) * 0.5


def test_direction_at_once_from_a_few_tags():
    pos, neg = tagged()
    attr = ua.make_user_attribute("Freckles", pos, neg, std=np.ones(8))
    assert int(np.argmax(np.abs(attr.direction))) == 3
    np.testing.assert_allclose(attr.direction, pos.mean(0) - neg.mean(0), atol=1e-5)
    assert attr.loo_accuracy == 1.0 and attr.gap_sigma > 2.0
    rng = np.random.default_rng(5)
    noise = ua.make_user_attribute("noise", rng.standard_normal((6, 8)), rng.standard_normal((6, 8)))
    assert noise.loo_accuracy < 0.9  # a made-up attribute shows as inconsistent


def test_round_trip_through_the_env_var_data_dir(data_dir, tmp_path):
    pos, neg = tagged()
    path = ua.save_user_attribute(ua.make_user_attribute("Red hair / curly", pos, neg))
    assert path.parent == data_dir / "attributes" and path.name == "Red-hair-curly.safetensors"
    assert path.stat().st_size < 8192
    back = ua.load_user_attribute("Red hair / curly", latent_dim=8)
    assert back.name == "Red hair / curly" and back.with_latents.shape == (6, 8) and back.without_latents.shape == (8, 8)
    np.testing.assert_allclose(back.direction, pos.mean(0) - neg.mean(0), atol=1e-5)
    exported = ua.export_user_attribute("Red hair / curly", tmp_path / "share" / "red.safetensors")
    ua.import_user_attribute(exported, name="Copper")
    assert [a.name for a in ua.list_user_attributes()] == ["Copper", "Red hair / curly"]
    assert ua.list_user_attributes(latent_dim=16) == []  # another model's latent size: none apply
    with pytest.raises(ValueError, match="already exists"):
        ua.import_user_attribute(exported, name="Copper")
    ua.delete_user_attribute("Copper")
    assert [a.name for a in ua.list_user_attributes()] == ["Red hair / curly"]
    (data_dir / "attributes" / "junk.safetensors").write_bytes(b"not a file")
    assert len(ua.list_user_attributes()) == 1  # broken files are skipped


def test_bad_tags_are_refused():
    pos, neg = tagged()
    with pytest.raises(ValueError, match="at least 2 examples on each side"):
        ua.make_user_attribute("x", pos[:1], neg)
    with pytest.raises(ValueError, match="dimensions"):
        ua.make_user_attribute("x", pos, neg[:, :4])
    with pytest.raises(ValueError, match="no usable characters"):
        ua.make_user_attribute("///", pos, neg)
    with pytest.raises(ValueError, match="NaN"):
        ua.make_user_attribute("x", np.full((3, 8), np.nan), neg)


def test_cli_user_attr(data_dir, tiny_ckpt, celeba_dir, capsys, tmp_path):
    imgs = sorted((celeba_dir / "img_align_celeba").glob("*.png"))
    bright, dark = [str(p) for p in imgs[0:12:2]], [str(p) for p in imgs[1:12:2]]  # even files are bright
    assert main(["user-attr", "create", "bright", "--model", str(tiny_ckpt), "--with", *bright, "--without", *dark, "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["n_with"] == 6 and made["n_without"] == 6 and made["loo_accuracy"] >= 0.9
    assert main(["user-attr", "export", "bright", "--out", str(tmp_path / "b.safetensors")]) == 0
    assert main(["directions-import", str(tiny_ckpt), str(tmp_path / "b.safetensors"), "--out", str(tmp_path / "m.safetensors")]) == 0
    capsys.readouterr()
    assert main(["user-attr", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [a["name"] for a in listed["attributes"]] == ["bright"]
    assert main(["user-attr", "show", "nope"]) == 2
