"""A conditional VAE: the VAE of :mod:`engine.models.vae` with the label y shown to both halves.

    encoder  q(z|x, y) = N(μ(x, y), diag σ²(x, y))     conv features of x ; embedding of y → (μ, log σ²)
    decoder  p(x|z, y)                                  [z ; embedding of y] → the VAE's decoder
    loss     the VAE's negative ELBO of x given y (β, KL warm-up, free bits unchanged)

Everything else (conv stacks, likelihoods, KL, reparameterisation, the loss itself) is the
VAE's own code: this class only widens the two linear layers at the bottleneck so they also
see the label embedding, and routes y to them.

Without a label, ``encode(x)`` first estimates y by Bayes' rule over the label settings,
p(y|x) ∝ p(x|y)·p(y), with p(x|y) approximated by the ELBO at the posterior mean (a cheap,
deterministic classifier; :mod:`engine.likelihood` has the importance-weighted one), and
encodes with the posterior mean of y.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from engine.models.conditional import LABEL_MODES, LabelSpace, default_prior
from engine.models.fields import ranged
from engine.models.registry import register
from engine.models.vae import VAE, VAEConfig, gaussian_kl


@dataclass(frozen=True)
class CVAEConfig(VAEConfig):
    label_dim: int = ranged(1, 1, 1000)
    label_mode: str = ranged("multi", choices=LABEL_MODES)  # "multi" (binary attributes) | "onehot" (classes)
    embed_dim: int = ranged(16, 1, 1024)


@register("cvae", CVAEConfig, conditional=True)
class CVAE(VAE):
    def __init__(self, config: CVAEConfig):
        super().__init__(config)
        flat = self.to_posterior.in_features
        self.embed = nn.Linear(config.label_dim, config.embed_dim)
        self.to_posterior = nn.Linear(flat + config.embed_dim, 2 * config.latent_dim)  # (features, y) → (μ, log σ²)
        self.from_latent = nn.Linear(config.latent_dim + config.embed_dim, flat)  # (z, y) → decoder input
        self.register_buffer("label_prior", default_prior(config.label_dim, config.label_mode))
        self._given: torch.Tensor | None = None

    # ------------------------------------------------------------------ labels
    @contextmanager
    def given(self, y: torch.Tensor):
        """Within this block the VAE's own methods (loss, forward) condition on y."""
        before, self._given = self._given, y
        try:
            yield self
        finally:
            self._given = before

    def _y(self, y: torch.Tensor | None, n: int) -> torch.Tensor | None:
        if y is None:
            y = self._given
        return None if y is None else y.to(self.label_prior.dtype)

    def label_space(self, names: tuple[str, ...] | None = None) -> LabelSpace:
        names = names or tuple(f"label {i}" for i in range(self.config.label_dim))
        return LabelSpace(names, self.config.label_mode, self.label_prior.detach().cpu().numpy())

    # ------------------------------------------------------------------ the two halves
    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x: N×C×S×S in [0,1], y: N×L (None: estimated, see the module docstring) → (μ, log σ²)."""
        y = self._y(y, x.shape[0])
        if y is None:
            y = self.estimate_labels(x)
        h = self.to_posterior(torch.cat([self.encoder(x * 2.0 - 1.0), self.embed(y)], 1))
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        y = self._y(y, z.shape[0])
        if y is None:
            y = self.label_prior.expand(z.shape[0], -1)
        h = self.from_latent(torch.cat([z, self.embed(y)], 1)).view(z.shape[0], *self.base_shape)
        return self.decoder(torch.relu(h))

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z: N×D, y: N×L (None: the label prior) → mean image N×C×S×S in [0,1]."""
        return torch.sigmoid(self.decode_logits(z, y))

    def infer(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x → (μ given the estimated labels, label estimate N×L): the cGAN's signature."""
        y = self.estimate_labels(x)
        mu, _ = self.encode(x, y)
        return mu, y

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Reconstruction through the posterior mean, given y (None: the estimated labels)."""
        y = self._y(y, x.shape[0])
        if y is None:
            y = self.estimate_labels(x)
        mu, _ = self.encode(x, y)
        return self.decode(mu, y)

    # ------------------------------------------------------------------ loss
    def loss(self, x: torch.Tensor, y: torch.Tensor | None = None, step: int | None = None) -> dict[str, torch.Tensor]:
        """The VAE's negative ELBO of x given y (its loss, with y routed to both halves)."""
        if y is None:
            y = self._given if self._given is not None else self.label_prior.expand(x.shape[0], -1)
        with self.given(y):
            return super().loss(x, step)

    # ------------------------------------------------------------------ cheap label estimate
    @torch.no_grad()
    def estimate_labels(self, x: torch.Tensor) -> torch.Tensor:
        """E_{p(y|x)}[y] with log p(x|y) ≈ ELBO at the posterior mean (deterministic): N×L."""
        ys, log_py = self.label_space().settings()
        ys, log_py = ys.to(x.device), log_py.to(x.device)
        n, m = x.shape[0], ys.shape[0]
        xr = x.repeat_interleave(m, 0)
        yr = ys.repeat(n, 1)
        h = self.to_posterior(torch.cat([self.encoder(xr * 2.0 - 1.0), self.embed(yr)], 1))
        mu, logvar = h.chunk(2, dim=1)
        logits = self.decode_logits(mu, yr)
        elbo = -self.reconstruction_nll(xr, logits) - gaussian_kl(mu, logvar.clamp(-12.0, 8.0)).sum(1)
        post = torch.softmax(elbo.view(n, m) + log_py, 1)  # N×M
        return post @ ys
