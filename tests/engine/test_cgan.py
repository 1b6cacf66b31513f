"""The conditional GAN: labels reach G and D, EMA, WGAN clipping and GP, training, checkpoints, API."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from _conditional import NAMES, labelled_images, save, tiny_cgan

import engine
from engine import checkpoint as ckpt_io
from engine import protocol as p
from engine.models import registry
from engine.models.cgan import CGAN, CGANConfig
from engine.service import Engine
from engine.training.loop import TrainConfig, TrainingError, log_dir, train
from tests.tiny_models import device_under_test


def _cfg(**kw):
    return CGANConfig(image_size=32, channels=3, latent_dim=8, label_dim=2, embed_dim=4, base_width=8, max_width=16, **kw)


def test_registered_as_conditional_and_rebuilt_from_config():
    fam = registry.family("cgan")
    assert fam.conditional and fam.module_cls is CGAN
    cfg = registry.config_from_dict("cgan", {"image_size": 28, "channels": 1, "label_dim": 10, "label_mode": "onehot"})
    net = registry.build("cgan", cfg)
    assert net.decode(torch.randn(2, cfg.latent_dim), torch.eye(10)[:2]).shape == (2, 1, 28, 28)
    with pytest.raises(ValueError, match="loss"):
        CGANConfig(loss="hinge")


def test_label_changes_generator_and_discriminator_output():
    torch.manual_seed(0)
    net = CGAN(_cfg(dcgan_init=False)).eval()  # PyTorch's default init: a visible (if small) effect before training
    z = torch.randn(4, 8)
    a = net.decode(z, torch.tensor([[1.0, 0.0]]).expand(4, -1))
    b = net.decode(z, torch.tensor([[0.0, 1.0]]).expand(4, -1))
    assert a.shape == (4, 3, 32, 32) and 0 <= float(a.min()) and float(a.max()) <= 1
    assert float((a - b).abs().max()) > 1e-4  # untrained, so small: the trained model is checked below
    x = torch.rand(4, 3, 32, 32)
    assert not torch.allclose(net.discriminate(x, torch.ones(4, 2)), net.discriminate(x, torch.zeros(4, 2)))
    # a blend of two labels lies between them (the label embedding is linear)
    mid = net.g_ema.embed(torch.tensor([[0.5, 0.5]]))
    ends = net.g_ema.embed(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    assert torch.allclose(mid, ends.mean(0, keepdim=True), atol=1e-6)


def test_ema_differs_from_raw_weights_and_tracks_them():
    torch.manual_seed(0)
    net = CGAN(_cfg(ema_decay=0.9))
    g, e = net.generator, net.g_ema
    with torch.no_grad():
        for p_ in g.parameters():
            p_.add_(torch.randn_like(p_))
    dist = lambda: sum(float((a - b).detach().pow(2).sum()) for a, b in zip(e.parameters(), g.parameters()))  # noqa: E731
    before = [t.clone() for t in e.parameters()]
    d0 = dist()
    net.update_ema(step=10_000)  # past the warm-up: decay 0.9
    for old, new, raw in zip(before, e.parameters(), g.parameters()):
        assert torch.allclose(new, 0.9 * old + 0.1 * raw, atol=1e-6)
    assert 0 < dist() < d0
    dists = []
    for _ in range(30):
        net.update_ema(step=10_000)
        dists.append(dist())
    assert all(b < a for a, b in zip(dists, dists[1:])) and dists[-1] < 0.01 * d0
    assert not any(p_.requires_grad for p_ in e.parameters())


def test_ema_warmup_starts_close_to_raw_generator():
    net = CGAN(_cfg(ema_decay=0.999))
    with torch.no_grad():
        for p_ in net.generator.parameters():
            p_.add_(1.0)
    net.update_ema(step=0)  # decay min(0.999, 1/10) = 0.1: mostly the raw weights
    gp, ep = next(net.generator.parameters()), next(net.g_ema.parameters())
    assert float((gp - ep).detach().abs().max()) < 0.11
    warm = CGAN(_cfg(ema_decay=0.999))  # a warm start's average: no warm-up, the decay itself from step 0
    before = [t.clone() for t in warm.g_ema.parameters()]
    with torch.no_grad():
        for p_ in warm.generator.parameters():
            p_.add_(1.0)
    warm.update_ema(step=0, warm_up=False)
    for old, new, raw in zip(before, warm.g_ema.parameters(), warm.generator.parameters()):
        assert torch.allclose(new, 0.999 * old + 0.001 * raw, atol=1e-6)


def test_spectral_norm_only_for_the_non_saturating_loss():
    sn = CGAN(_cfg())
    assert nn.utils.parametrize.is_parametrized(sn.discriminator.head) and nn.utils.parametrize.is_parametrized(sn.discriminator.trunk[0])
    w = sn.discriminator.head.weight  # normalised: largest singular value ≈ 1 after a few power iterations
    for _ in range(20):
        sn.discriminator(torch.rand(2, 3, 32, 32), torch.ones(2, 2))
    assert abs(float(torch.linalg.matrix_norm(sn.discriminator.head.weight.detach(), ord=2)) - 1.0) < 0.05 and w.shape == (1, 256 + 16)  # + the minibatch-std channel
    for loss in ("wgan", "wgan-gp"):
        assert not nn.utils.parametrize.is_parametrized(CGAN(_cfg(loss=loss)).discriminator.head)
    assert not nn.utils.parametrize.is_parametrized(CGAN(_cfg(spectral_norm=False)).discriminator.head)


def test_wgan_clipping_keeps_discriminator_weights_within_c():
    net = tiny_cgan("wgan", steps=5, clip=0.02)
    for p_ in net.discriminator.parameters():
        assert float(p_.detach().abs().max()) <= 0.02 + 1e-7


def test_gradient_penalty_is_positive_and_enters_the_critic_loss():
    torch.manual_seed(0)
    net = CGAN(_cfg(loss="wgan-gp", gp_weight=10.0))
    x, y = labelled_images(8, 32)
    gp = net.gradient_penalty(x * 2 - 1, torch.rand_like(x) * 2 - 1, y)
    assert float(gp.detach()) > 0 and gp.requires_grad  # differentiable: it trains D
    torch.manual_seed(1)
    out = {k: float(v.detach()) for k, v in net.d_loss(x, y, torch.randn(8, 8)).items()}
    assert out["gp"] > 0
    assert abs(out["d_loss"] - (out["d_fake"] - out["d_real"] + 10.0 * out["gp"])) < 1e-3


def test_non_saturating_generator_loss():
    torch.manual_seed(0)
    net = CGAN(_cfg()).eval()  # eval: the spectral norm's power iteration holds still between the two calls
    y, z = torch.ones(4, 2), torch.randn(4, 8)
    torch.manual_seed(0)
    loss = float(net.g_loss(y, z)["g_loss"].detach())
    expected = float(F.softplus(-net.discriminator(net.generator(z, y), y)).mean().detach())  # −log σ(D(G(z)))
    assert abs(loss - expected) < 1e-5


@pytest.mark.slow
def test_encoder_learns_labels_of_real_images():
    net = tiny_cgan("ns", steps=40)
    x, y = labelled_images(64, 32, seed=1)
    z, y_hat = net.infer(x)
    assert z.shape == (64, 8) and y_hat.shape == (64, 2)
    assert float(((y_hat[:, 0] > 0.5) == (y[:, 0] > 0.5)).float().mean()) > 0.8  # 'Bright' is easy


def test_train_cgan_end_to_end_resume_and_checkpoint(celeba_dir, tmp_path):
    out = tmp_path / "g.safetensors"
    base = dict(model="cgan", data=f"celeba:{celeba_dir}", size=32, latent_dim=6, base_width=8, batch_size=8, lr=2e-3, seed=0, threads=1)
    logs = []
    train(TrainConfig(**base, epochs=1, model_options="ema_decay=0.99,enc_every=2"), out, progress=False, log=logs.append)
    assert "train_d_loss" in logs[0] and "train_g_loss" in logs[0]
    train(TrainConfig(**base, epochs=2, model_options="ema_decay=0.99,enc_every=2"), out, resume=True, progress=False, log=logs.append)
    ck = ckpt_io.load(out)
    assert ck.family == "cgan" and ck.labels == ["Eyeglasses", "Male"] and ck.config.ema_decay == 0.99 and ck.config.enc_every == 2
    assert [h["epoch"] for h in ck.info["training"]["history"]] == [1, 2] and ck.info["training"]["final"]
    assert len(ck.info["realism"]["quantiles"]) == 101 and ck.info["realism"]["score"] == "d_logit"
    assert (log_dir(out) / "epoch002_samples.png").exists() and (log_dir(out) / "samples_rows.txt").read_text().startswith("(none)")
    assert torch.allclose(ck.state["label_prior"], torch.tensor([0.5, 1 / 3]), atol=0.2)
    with pytest.raises(TrainingError, match="model-options"):
        train(TrainConfig(**base, epochs=1, model_options="nonsense=1"), tmp_path / "x.safetensors", progress=False)


def test_cgan_trains_under_bf16_autocast_and_refuses_fp16(celeba_dir, tmp_path):
    base = dict(model="cgan", data=f"celeba:{celeba_dir}", size=32, latent_dim=6, base_width=8, batch_size=8, lr=2e-3, seed=0, threads=1, epochs=1)
    out = tmp_path / "g.safetensors"
    logs = []
    train(TrainConfig(**base, amp="bf16", model_options="enc_every=2"), out, progress=False, log=logs.append)
    record = json.loads(logs[0])
    assert all(math.isfinite(record[k]) for k in ("train_d_loss", "train_g_loss", "train_e_loss"))
    ck = ckpt_io.load(out)
    assert ck.info["training"]["config"]["amp"] == "bf16"
    assert all(v.dtype == torch.float32 for k, v in ck.state.items() if v.is_floating_point())  # weights stay float32
    with pytest.raises(TrainingError, match="fp16 is for the VAE"):
        train(TrainConfig(**base, amp="fp16"), tmp_path / "h.safetensors", progress=False)


def test_unlabelled_data_is_refused_for_conditional_training(tmp_path):
    from PIL import Image

    folder = tmp_path / "plain"
    folder.mkdir()
    for i in range(40):
        Image.fromarray(np.full((32, 32, 3), i * 5, np.uint8)).save(folder / f"{i}.png")
    with pytest.raises(TrainingError, match="no labels"):
        train(TrainConfig(model="cgan", data=f"folder:{folder}", size=32, batch_size=4, epochs=1, threads=1), tmp_path / "m.safetensors", progress=False)


def test_checkpoint_round_trip_and_api_labels(tmp_path):
    net = tiny_cgan("ns", steps=10)
    path = save(net, tmp_path / "g.safetensors")
    m = engine.load_model(path, device=device_under_test())
    assert m.labels == list(NAMES) and m.family == "cgan"
    for k, v in net.state_dict().items():
        assert torch.equal(m.net.state_dict()[k], v), k
    z = m.sample_latents(4, seed=0)
    with_b, without_b = m.decode(z, labels={"Bright": 1.0}), m.decode(z, labels={"Bright": 0.0})
    assert with_b.shape == (4, 32, 32, 3) and with_b.dtype == np.uint8
    assert np.abs(with_b.astype(int) - without_b).mean() > 0.5
    half = m.decode(z, labels={"Bright": 0.5})  # blending: between the two
    assert np.array_equal(m.sample(4, seed=0, labels={"Bright": 1.0}), with_b)
    assert np.abs(half.astype(int) - with_b).mean() > 0 and np.abs(half.astype(int) - without_b).mean() > 0
    assert np.array_equal(m.decode(z), m.decode(z, labels={}))  # no labels: the prior
    with pytest.raises(ValueError, match="unknown label"):
        m.decode(z, labels={"Smiling": 1.0})
    with pytest.raises(ValueError, match="within 0..1"):
        m.decode(z, labels={"Bright": 3.0})
    zz, labels = m.encode_with_labels(with_b)
    assert m.encode(with_b).shape == (4, 8) and np.allclose(zz, m.encode(with_b)) and set(labels[0]) == set(NAMES)


def test_service_decodes_with_labels_and_encodes_a_cgan(tmp_path):
    path = save(tiny_cgan("ns", steps=5), tmp_path / "g.safetensors")
    eng = Engine()
    info = eng.handle(p.LoadModel(source=str(path), device=device_under_test()))
    assert info.labels == NAMES and info.family == "cgan"
    z = np.zeros((2, 8), np.float32)
    a = eng.handle(p.Decode(z=z, labels={"Bright": 1.0}))
    b = eng.handle(p.Decode(z=z, labels={"Bright": 0.0}))
    assert isinstance(a, p.Decoded) and not np.array_equal(a.images, b.images)
    bad = eng.handle(p.Decode(z=z, labels={"Nope": 1.0}))
    assert isinstance(bad, p.ErrorResponse) and "unknown label" in bad.message
    enc = eng.handle(p.Encode(image=np.full((50, 40, 3), 128, np.uint8)))
    assert isinstance(enc, p.Encoded) and enc.z.shape == (8,) and enc.reconstruction.shape == (32, 32, 3)
    s = eng.handle(p.Sample(n=3, seed=1, labels={"Red": 1.0}))
    assert isinstance(s, p.Sampled) and s.images.shape == (3, 32, 32, 3)


def test_unconditional_model_refuses_labels(tiny_ckpt):
    m = engine.load_model(tiny_ckpt, device=device_under_test())
    z = m.sample_latents(1)
    assert m.labels == [] and m.label_space is None
    assert np.array_equal(m.decode(z, labels=None), m.decode(z, labels={}))
    with pytest.raises(ValueError, match="not conditional"):
        m.decode(z, labels={"Eyeglasses": 1.0})


def test_minibatch_std_feature_and_batch_independent_scores_in_eval():
    torch.manual_seed(0)
    net = CGAN(_cfg())
    x, y = labelled_images(16, 32)
    net.train()
    net.discriminator(x * 2 - 1, y)  # a training forward tracks the running minibatch std
    assert float(net.discriminator.mbstd_running) > 0
    net.eval()
    whole = net.discriminate(x, y)
    alone = torch.cat([net.discriminate(x[i : i + 1], y[i : i + 1]) for i in range(4)])
    assert torch.allclose(whole[:4], alone, atol=1e-5)  # the realism score of an image does not depend on its batch
    conv = net.generator.up[2].weight
    assert abs(float(conv.detach().std()) - 0.02) < 0.005  # DCGAN's initialisation
