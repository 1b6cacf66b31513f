"""The conditional VAE: the VAE's blocks with y shown to both halves; training, labels, checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from _conditional import CLASSES, labelled_images, onehot_of, save, tiny_cvae

import engine
from engine import checkpoint as ckpt_io
from engine.data.datasets import FASHION_MNIST_DIR
from engine.models import registry
from engine.models.cvae import CVAE, CVAEConfig
from engine.models.vae import VAE
from engine.training.loop import TrainConfig, train
from tests.tiny_models import device_under_test


def _net(**kw):
    torch.manual_seed(0)
    return CVAE(CVAEConfig(image_size=28, channels=1, latent_dim=4, base_width=8, max_width=16, label_dim=3, label_mode="onehot", embed_dim=4, **kw))


def test_reuses_the_vae_and_is_registered_conditional():
    net = _net()
    assert isinstance(net, VAE) and registry.family("cvae").conditional
    assert type(net.encoder) is type(VAE(net.config).encoder)  # the VAE's conv stacks
    assert net.to_posterior.in_features == net.encoder(torch.zeros(1, 1, 28, 28)).shape[1] + 4
    assert net.from_latent.in_features == 4 + 4


def test_both_halves_see_the_label():
    net = _net().eval()
    x, z = torch.rand(2, 1, 28, 28), torch.randn(2, 4)
    y0, y1 = torch.eye(3)[[0, 0]], torch.eye(3)[[1, 1]]
    assert not torch.allclose(net.encode(x, y0)[0], net.encode(x, y1)[0])
    assert not torch.allclose(net.decode(z, y0), net.decode(z, y1))
    # the loss is the VAE's loss given y: routed through the same code
    torch.manual_seed(3)
    a = net.loss(x, y0)
    torch.manual_seed(3)
    with net.given(y0):
        b = VAE.loss(net, x)
    assert torch.allclose(a["loss"], b["loss"]) and set(a) == {"loss", "rec", "kl", "elbo", "kl_dims"}


@pytest.mark.slow
def test_training_makes_the_label_matter_and_the_estimate_right():
    net = tiny_cvae("onehot", steps=120, likelihood="bernoulli").requires_grad_(False)
    z = torch.zeros(4, 4)
    dark, bright = net.decode(z, torch.eye(2)[[0] * 4]), net.decode(z, torch.eye(2)[[1] * 4])
    assert float(bright.mean() - dark.mean()) > 0.15  # the class 'bright' decodes brighter (0.3 measured)
    x, y = labelled_images(64, 28, 1, seed=5)
    est = net.estimate_labels(x)
    assert torch.allclose(est.sum(1), torch.ones(64), atol=1e-5)
    assert float((est.argmax(1) == onehot_of(y).argmax(1)).float().mean()) > 0.9
    mu, logvar = net.encode(x)  # no label: estimated by Bayes' rule, then encoded
    assert mu.shape == (64, 4) and torch.isfinite(logvar).all()


def test_multi_hot_labels_enumerate_all_settings():
    net = tiny_cvae("multi", steps=40, size=32, channels=3)
    ys, logp = net.label_space().settings()
    assert ys.shape == (4, 2) and torch.allclose(logp.exp().sum(), torch.tensor(1.0))
    assert net.estimate_labels(torch.rand(3, 3, 32, 32)).shape == (3, 2)


def test_checkpoint_round_trip_with_label_prior(tmp_path):
    net = tiny_cvae("onehot", steps=60, likelihood="bernoulli")
    with torch.no_grad():
        net.label_prior.copy_(torch.tensor([0.25, 0.75]))
    path = save(net, tmp_path / "c.safetensors", names=CLASSES)
    m = engine.load_model(path, device=device_under_test())
    assert m.family == "cvae" and m.labels == list(CLASSES)
    assert np.allclose(m.label_space.prior, [0.25, 0.75]) and m.label_space.mode == "onehot"
    z = m.sample_latents(3, seed=1)
    a, b = m.decode(z, labels={"bright": 1.0}), m.decode(z, labels={"dark": 1.0})
    assert a.mean() > b.mean()
    assert np.array_equal(m.decode(z, labels={"bright": 1.0}), m.decode(z, labels={"bright": 1.0, "dark": 0.0}))
    x, y = labelled_images(8, 28, 1, seed=7)
    photos = (x.expand(-1, 3, -1, -1).permute(0, 2, 3, 1) * 255).round().byte().numpy()
    zz, labels = m.encode_with_labels(photos)
    assert zz.shape == (8, 4) and np.allclose(zz, m.encode(photos), atol=1e-5)
    assert [lab["bright"] > 0.5 for lab in labels] == (y[:, 0] > 0.5).tolist()


@pytest.mark.skipif(not (FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists(), reason="needs Debian's dataset-fashion-mnist")
def test_train_cvae_on_fashion_mnist_slice(tmp_path, monkeypatch):
    from engine.training import conditional as train_conditional

    monkeypatch.setattr(train_conditional, "CALIBRATION_LIMIT", 200)
    monkeypatch.setattr(train_conditional, "EVAL_LIMIT", (100, 100))
    out = tmp_path / "f.safetensors"
    tc = TrainConfig(model="cvae", data="fashion-mnist", size=28, channels=1, latent_dim=4, base_width=8, batch_size=64, epochs=1,
                     limit=512, seed=0, threads=1, likelihood="bernoulli")  # fmt: skip
    metrics = train(tc, out, progress=False, log=lambda s: None)
    ck = ckpt_io.load(out)
    assert ck.labels[:2] == ["T-shirt/top", "Trouser"] and len(ck.labels) == 10 and ck.config.label_mode == "onehot"
    assert set(ck.stats) == {"mean", "std", "kl"} and "reject" in ck.info and "realism" in ck.info
    assert any(k.startswith("generative_classifier_accuracy") for k in metrics)
    assert (Path(str(out).replace(".safetensors", "-train")) / "epoch001_samples.png").exists()
