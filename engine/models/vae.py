"""A convolutional VAE, as in the notes.

    encoder q(z|x) = N(μ(x), diag σ²(x))          conv stack → (μ, log σ²)
    z = μ + σ ⊙ ε,  ε ~ N(0, I)                     reparameterisation
    decoder p(x|z) = N(x̂(z), diag s²)              s: learned per-channel scale (σ-VAE);
                     or Bernoulli(x̂(z))            for binary-ish data (Fashion-MNIST)
    loss = −E_q log p(x|z) + β · KL(q(z|x) ‖ N(0, I))   (KL in closed form)

Images are float tensors in [0, 1], N×C×S×S. Any size 28–128: the network halves the
resolution while it is even and above 4 (64 → 4×4, 28 → 7×7), so nothing is tied to 64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.models.fields import check_fields, ranged
from engine.models.registry import register

LIKELIHOODS = ("gaussian", "bernoulli")
MIN_LOG_SCALE = -5.0  # σ ≥ 0.0067 ≈ 1.7/255: below one grey level the density is meaningless


@dataclass(frozen=True)
class VAEConfig:
    image_size: int = ranged(64, 28, 128)
    channels: int = ranged(3, choices=(1, 3))
    latent_dim: int = ranged(64, 1, 1024)
    base_width: int = ranged(32, 1, 512)
    max_width: int = ranged(256, 1, 1024)
    likelihood: str = ranged("gaussian", choices=LIKELIHOODS)
    beta: float = ranged(1.0, 0.0, 1000.0)
    kl_warmup_steps: int = ranged(0, 0, 10**9)  # β ramps linearly from 0 over this many optimiser steps
    free_bits: float = ranged(0.0, 0.0, 100.0)  # nats per dimension below which KL is not penalised

    def __post_init__(self):
        check_fields(self)  # types and ranges of every field, one-line errors
        if self.stages()[0] < 1:
            raise ValueError(f"image_size must be even (the network halves it at least once), got {self.image_size}")

    def stages(self) -> tuple[int, int]:
        """(number of stride-2 stages, base spatial size)."""
        s, k = self.image_size, 0
        while s % 2 == 0 and s > 4:
            s, k = s // 2, k + 1
        return k, s

    def widths(self) -> list[int]:
        k, _ = self.stages()
        return [min(self.base_width * 2**i, self.max_width) for i in range(k)]


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) per dimension, closed form: ½(μ² + σ² − 1 − log σ²)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


@register("vae", VAEConfig)
class VAE(nn.Module):
    def __init__(self, config: VAEConfig):
        super().__init__()
        self.config = config
        k, s0 = config.stages()
        w = config.widths()
        self.base_shape = (w[-1], s0, s0)

        enc: list[nn.Module] = []
        cin = config.channels
        for i, cout in enumerate(w):  # S → S/2 → ... → s0
            enc += [nn.Conv2d(cin, cout, 4, 2, 1, bias=i == 0)]
            if i > 0:
                enc += [nn.BatchNorm2d(cout)]
            enc += [nn.LeakyReLU(0.2, inplace=True)]
            cin = cout
        self.encoder = nn.Sequential(*enc, nn.Flatten())
        flat = w[-1] * s0 * s0
        self.to_posterior = nn.Linear(flat, 2 * config.latent_dim)  # → (μ, log σ²)

        self.from_latent = nn.Linear(config.latent_dim, flat)
        dec: list[nn.Module] = []
        for cin, cout in zip(reversed(w), list(reversed(w))[1:]):  # s0 → ... → S/2
            dec += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        dec += [nn.ConvTranspose2d(w[0], config.channels, 4, 2, 1)]  # S/2 → S
        self.decoder = nn.Sequential(*dec)
        if config.likelihood == "gaussian":  # learned per-channel log-scale of p(x|z)
            self.log_scale = nn.Parameter(torch.full((config.channels,), -2.0))

    # ------------------------------------------------------------------ the two halves
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: N×C×S×S in [0,1] → (μ, log σ²), each N×D."""
        h = self.to_posterior(self.encoder(x * 2.0 - 1.0))
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        h = self.from_latent(z).view(z.shape[0], *self.base_shape)
        return self.decoder(F.relu(h))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z: N×D → mean image N×C×S×S in [0,1]."""
        return torch.sigmoid(self.decode_logits(z))

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + torch.randn_like(mu) * (0.5 * logvar).exp()

    # ------------------------------------------------------------------ likelihood
    def reconstruction_nll(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """−log p(x|z) in nats per image (N), continuous density on [0,1]; float32 even under autocast."""
        logits = logits.float()
        if self.config.likelihood == "bernoulli":
            return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        mean = torch.sigmoid(logits)
        log_s = self.log_scale.clamp(min=MIN_LOG_SCALE).view(1, -1, 1, 1)
        nll = 0.5 * ((x - mean) / log_s.exp()).pow(2) + log_s + 0.5 * math.log(2 * math.pi)
        return nll.flatten(1).sum(1)

    def loss(self, x: torch.Tensor, step: int | None = None) -> dict[str, torch.Tensor]:
        """Negative ELBO with β, KL warm-up and free bits. Returns per-batch scalars."""
        cfg = self.config
        mu, logvar = self.encode(x)
        mu, logvar = mu.float(), logvar.float()  # the KL and sampling in float32 under mixed precision
        z = self.reparameterize(mu, logvar)
        logits = self.decode_logits(z)
        rec = self.reconstruction_nll(x, logits).mean()
        kl_dims = gaussian_kl(mu, logvar).mean(0)  # D: mean KL per dimension
        kl = kl_dims.sum()
        kl_penalised = kl_dims.clamp(min=cfg.free_bits).sum() if cfg.free_bits > 0 else kl
        beta = cfg.beta
        if step is not None and cfg.kl_warmup_steps > 0:
            beta *= min(1.0, step / cfg.kl_warmup_steps)
        return {"loss": rec + beta * kl_penalised, "rec": rec, "kl": kl, "elbo": -(rec + kl), "kl_dims": kl_dims.detach()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction through the posterior mean (deterministic)."""
        mu, _ = self.encode(x)
        return self.decode(mu)
