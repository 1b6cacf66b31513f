"""Tiny conditional models for the tests of cgan, cvae, likelihood and inversion (seconds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from engine import checkpoint as ckpt_io
from engine.models.cgan import CGAN, CGANConfig
from engine.models.conditional import LabelSpace
from engine.models.cvae import CVAE, CVAEConfig
from tests.tiny_models import smooth_images

NAMES = ("Bright", "Red")
CLASSES = ("dark", "bright")


def labelled_images(n: int, size: int = 32, channels: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth fields; attribute 0 'Bright' lifts the image, attribute 1 'Red' fills the red channel's left half.
    Returns (float N×C×S×S in [0,1], multi-hot N×2)."""
    g = torch.Generator().manual_seed(seed)
    x = smooth_images(n, size, channels, seed) * 0.4
    y = (torch.rand(n, 2, generator=g) < 0.5).float()
    x = x + 0.5 * y[:, 0, None, None, None]
    if channels == 3:
        x[:, 0, :, : size // 2] += 0.4 * y[:, 1, None, None]
    return x.clamp(0, 1), y


def space(mode: str = "multi") -> LabelSpace:
    if mode == "onehot":
        return LabelSpace(CLASSES, "onehot", np.array([0.5, 0.5], np.float32))
    return LabelSpace(NAMES, "multi", np.array([0.5, 0.5], np.float32))


def onehot_of(y_multi: torch.Tensor) -> torch.Tensor:
    """Class 'bright' = attribute 0."""
    return torch.nn.functional.one_hot(y_multi[:, 0].long(), 2).float()


def tiny_cvae(mode: str = "onehot", steps: int = 150, size: int = 28, channels: int = 1, seed: int = 0, likelihood: str = "gaussian") -> CVAE:
    torch.manual_seed(seed)
    cfg = CVAEConfig(image_size=size, channels=channels, latent_dim=4, base_width=8, max_width=16, likelihood=likelihood, label_dim=2, label_mode=mode, embed_dim=4)
    net = CVAE(cfg)
    x, y = labelled_images(128, size, channels, seed)
    y = onehot_of(y) if mode == "onehot" else y
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    for _ in range(steps):
        loss = net.loss(x, y)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def tiny_cgan(loss: str = "ns", steps: int = 20, size: int = 32, seed: int = 0, **kw) -> CGAN:
    """A few steps of the real losses; PyTorch's default init (DCGAN's N(0, 0.02) needs more steps to move)."""
    torch.manual_seed(seed)
    kw.setdefault("dcgan_init", False)
    cfg = CGANConfig(image_size=size, channels=3, latent_dim=8, label_dim=2, embed_dim=4, base_width=8, max_width=16, loss=loss, **kw)
    net = CGAN(cfg)
    x, y = labelled_images(64, size, 3, seed)
    opts = [torch.optim.Adam(m.parameters(), lr=2e-3, betas=(0.5, 0.999)) for m in (net.discriminator, net.generator, net.encoder)]
    for step in range(steps):
        d = net.d_loss(x, y, torch.randn(64, cfg.latent_dim))["d_loss"]
        opts[0].zero_grad()
        d.backward()
        opts[0].step()
        if loss == "wgan":
            net.clip_discriminator()
        g = net.g_loss(y, torch.randn(64, cfg.latent_dim))["g_loss"]
        opts[1].zero_grad()
        g.backward()
        opts[1].step()
        net.update_ema(step)
        e = net.e_loss(x, y, torch.randn(64, cfg.latent_dim))["e_loss"]
        opts[2].zero_grad()
        e.backward()
        opts[2].step()
    net.recalibrate_ema_batchnorm(y, batches=2, batch_size=32)
    return net.eval()


def save(net, path: str | Path, names=NAMES, info: dict | None = None) -> Path:
    family = net.family
    d = net.config.latent_dim
    stats = {"mean": np.zeros(d, np.float32), "std": np.ones(d, np.float32), "kl": np.ones(d, np.float32)}
    ck = ckpt_io.Checkpoint(family=family, config=net.config, state=net.state_dict(), labels=list(names), stats=stats, info=info or {"description": "tiny"})
    return ckpt_io.save(ck, path)
