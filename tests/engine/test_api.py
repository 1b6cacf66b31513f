"""The Python API and the engine service: numpy in, numpy out; errors as values."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import protocol as p
from engine.checkpoint import CheckpointError
from engine.service import Engine
from tests.tiny_models import device_under_test


def test_load_encode_decode_sample(tiny_ckpt):
    m = engine.load_model(str(tiny_ckpt), device=device_under_test())
    assert (m.image_size, m.latent_dim, m.labels, m.family) == (32, 8, [], "vae")
    photos = np.random.default_rng(0).integers(0, 255, (3, 50, 70, 3), dtype=np.uint8)
    z = m.encode(photos)
    assert z.shape == (3, 8) and z.dtype == np.float32
    x = m.decode(z)
    assert x.shape == (3, 32, 32, 3) and x.dtype == np.uint8
    a, b = m.sample(4, seed=1), m.sample(4, seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, m.sample(4, seed=2))
    assert m.attributes["Eyeglasses"].shape == (8,) and m.latent_stats.std.shape == (8,)


def test_fingerprint_is_the_weights_hash_computed_once(tiny_ckpt, monkeypatch):
    from engine.semantics import direction_files

    m = engine.load_model(str(tiny_ckpt), device=device_under_test())
    fp = m.fingerprint
    assert fp == direction_files.model_fingerprint(m.ckpt) and len(fp) == 16
    monkeypatch.setattr(direction_files, "model_fingerprint", lambda ckpt: pytest.fail("hashed twice"))
    assert m.fingerprint == fp  # cached: the hash reads every weight


def test_api_errors(tiny_ckpt):
    m = engine.load_model(str(tiny_ckpt), device=device_under_test())
    with pytest.raises(ValueError, match="expected latents shaped N×8"):
        m.decode(np.zeros((1, 5), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        m.decode(np.full(8, np.nan, np.float32))
    with pytest.raises(ValueError, match="temperature"):
        m.sample(2, temperature=-1)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        engine.load_model("/nonexistent/model.safetensors")
    with pytest.raises(ValueError, match="unknown device 'gpu9'"):
        engine.load_model(str(tiny_ckpt), device="gpu9")


def test_cuda_request_without_gpu_is_refused(tiny_ckpt):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="no CUDA GPU is available"):
        engine.load_model(str(tiny_ckpt), device="cuda")


def test_service_round_trip_with_request_ids(tiny_ckpt):
    eng = Engine()
    info = eng.handle(p.LoadModel(source=str(tiny_ckpt), device=device_under_test(), request_id=7))
    assert isinstance(info, p.ModelInfo) and info.request_id == 7 and info.latent_dim == 8
    assert info.stats.active.all() and list(info.stats.order_by_information())[0] == int(np.argmax(info.stats.kl))
    enc = eng.handle(p.Encode(image=np.full((40, 60, 3), 128, np.uint8)))
    assert isinstance(enc, p.Encoded) and enc.z.shape == (8,) and enc.reconstruction.shape == (32, 32, 3)
    dec = eng.handle(p.Decode(z=enc.z[None], preview=True))
    np.testing.assert_array_equal(dec.images[0], enc.reconstruction)
    moved = eng.handle(p.Decode(z=(enc.z + 3 * info.stats.std)[None]))
    assert np.abs(moved.images[0].astype(int) - enc.reconstruction).mean() > 1.0
    s = eng.handle(p.Sample(n=4, seed=3))
    assert s.images.shape == (4, 32, 32, 3) and s.z.shape == (4, 8)


def test_service_errors_are_values():
    eng = Engine()
    r = eng.handle(p.Decode(z=np.zeros(8, np.float32), request_id=11))
    assert isinstance(r, p.ErrorResponse) and r.request_id == 11 and r.message == "no model is loaded yet"
    r = eng.handle(p.LoadModel(source="/no/such.safetensors"))
    assert isinstance(r, p.ErrorResponse) and "no such checkpoint" in r.message and "\n" not in r.message
    r = eng.handle(object())
    assert isinstance(r, p.ErrorResponse) and "does not handle" in r.message


def test_request_ids_are_unique_and_increasing():
    ids = [p.Decode(z=np.zeros(2)).request_id for _ in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5
