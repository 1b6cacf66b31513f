"""Tiny, fast models for tests (about a second on a CPU): real code paths, barely trained weights."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from engine import checkpoint as ckpt_io
from engine.models.vae import VAE, VAEConfig
from engine.semantics.latent_stats import aggregate_prior, encode_batches, latent_statistics


def device_under_test() -> str:
    """The device the test suite runs models on: ``pytest --device cuda`` sets it (default cpu)."""
    return os.environ.get("LATENT_STUDIO_TEST_DEVICE", "cpu")


def tiny_vae_config(image_size: int = 32, latent_dim: int = 8, channels: int = 3) -> VAEConfig:
    return VAEConfig(image_size=image_size, channels=channels, latent_dim=latent_dim, base_width=8, max_width=32)


def smooth_images(n: int, size: int, channels: int = 3, seed: int = 0) -> torch.Tensor:
    """Random smooth colour fields, float N×C×S×S in [0,1]: a stand-in data set."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, channels, 4, 4, generator=g)
    return torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)


def tiny_checkpoint(path: str | Path, image_size: int = 32, latent_dim: int = 8, seed: int = 0, steps: int = 30) -> Path:
    """Write a tiny, briefly trained VAE checkpoint (with stats and two attribute directions)."""
    from engine.devices import thread_budget

    with thread_budget(1):  # tiny tensors: one thread is fastest, and immune to oversubscribed cores
        return _tiny_checkpoint(path, image_size, latent_dim, seed, steps)


def _tiny_checkpoint(path, image_size, latent_dim, seed, steps) -> Path:
    torch.manual_seed(seed)
    cfg = tiny_vae_config(image_size, latent_dim)
    net = VAE(cfg)
    data = smooth_images(64, image_size, seed=seed)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(steps):  # a few steps, so the latents carry information (non-dead dimensions)
        loss = net.loss(data)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    mu, logvar = encode_batches(net, [data], torch.device("cpu"))
    rng = np.random.default_rng(seed)
    attrs = {name: rng.standard_normal(latent_dim).astype(np.float32) for name in ("Eyeglasses", "Smiling")}
    ckpt = ckpt_io.Checkpoint(
        family="vae",
        config=cfg,
        state=net.state_dict(),
        attributes=attrs,
        stats=latent_statistics(mu, logvar),
        extra=aggregate_prior(mu, logvar),
        info={"description": "tiny test model"},
    )
    return ckpt_io.save(ckpt, path)
