"""Checkpoints: round trip, and every kind of bad file refused with a clear error, unpickled never."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from engine import checkpoint as ckpt_io
from engine.checkpoint import CheckpointError
from engine.models.vae import VAE
from tests.tiny_models import tiny_vae_config


def _ckpt(**kw):
    cfg = tiny_vae_config()
    return ckpt_io.Checkpoint(family="vae", config=cfg, state=VAE(cfg).state_dict(), **kw)


def test_round_trip(tmp_path):
    attrs = {"Eyeglasses": np.arange(8, dtype=np.float32)}
    stats = {"mean": np.zeros(8, np.float32), "std": np.ones(8, np.float32), "kl": np.full(8, 0.5, np.float32)}
    path = ckpt_io.save(_ckpt(attributes=attrs, stats=stats, info={"metrics": {"psnr_db": 20.0}}), tmp_path / "m.safetensors")
    back = ckpt_io.load(path)
    assert back.config == tiny_vae_config()
    np.testing.assert_array_equal(back.attributes["Eyeglasses"], attrs["Eyeglasses"])
    assert back.info["metrics"]["psnr_db"] == 20.0
    net = back.build()
    for k, v in VAE(back.config).state_dict().items():
        assert net.state_dict()[k].shape == v.shape


class _Payload:
    def __reduce__(self):
        import os

        return (os.system, ("touch PWNED_MARKER",))


def test_pickle_is_refused_and_never_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, dump in (("evil.pt", lambda f: torch.save({"x": _Payload()}, f)), ("evil.pkl", lambda f: pickle.dump(_Payload(), f))):
        with open(tmp_path / name, "wb") as f:
            dump(f)
        with pytest.raises(CheckpointError, match="pickle"):
            ckpt_io.load(tmp_path / name)
        # even disguised with our suffix
        (tmp_path / name).rename(tmp_path / "evil.safetensors")
        with pytest.raises(CheckpointError):
            ckpt_io.load(tmp_path / "evil.safetensors")
    assert not (tmp_path / "PWNED_MARKER").exists()


def test_truncated_file(tmp_path):
    path = ckpt_io.save(_ckpt(), tmp_path / "m.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        ckpt_io.load(path)


def test_foreign_safetensors_without_our_metadata(tmp_path):
    save_file({"w": torch.zeros(3)}, tmp_path / "f.safetensors")
    with pytest.raises(CheckpointError, match="without Latent Studio metadata"):
        ckpt_io.load(tmp_path / "f.safetensors")


def _rewrite(path, edit_meta=None, edit_tensors=None):
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["latent_studio"])
    tensors = load_file(str(path))
    if edit_meta:
        edit_meta(meta)
    if edit_tensors:
        edit_tensors(tensors)
    save_file(tensors, str(path), metadata={"latent_studio": json.dumps(meta)})


def test_config_not_matching_tensors(tmp_path):
    path = ckpt_io.save(_ckpt(), tmp_path / "m.safetensors")
    _rewrite(path, edit_meta=lambda m: m["config"].update(latent_dim=16))
    with pytest.raises(CheckpointError, match="weights do not match the vae config"):
        ckpt_io.load(path).build()


def test_missing_keys(tmp_path):
    path = ckpt_io.save(_ckpt(), tmp_path / "m.safetensors")
    _rewrite(path, edit_tensors=lambda t: t.pop("model.to_posterior.weight"))
    with pytest.raises(CheckpointError, match="lacks model.to_posterior.weight"):
        ckpt_io.load(path).build()


def test_wrong_attribute_shape_and_bad_config(tmp_path):
    path = ckpt_io.save(_ckpt(attributes={"Smiling": np.zeros(3, np.float32)}), tmp_path / "m.safetensors")
    with pytest.raises(CheckpointError, match=r"attr.Smiling has shape \(3,\), expected \(8,\)"):
        ckpt_io.load(path)
    path = ckpt_io.save(_ckpt(), tmp_path / "n.safetensors")
    _rewrite(path, edit_meta=lambda m: m["config"].update(image_size=4096))
    with pytest.raises(CheckpointError, match="bad config: image_size"):
        ckpt_io.load(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        ckpt_io.load(tmp_path / "none.safetensors")
    with pytest.raises(CheckpointError, match="is a folder"):
        ckpt_io.load(tmp_path)
