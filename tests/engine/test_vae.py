"""The VAE of the notes: shapes for every size, closed-form KL, β/warm-up/free bits, config checks."""

from __future__ import annotations

import pytest
import torch

from engine.models import registry
from engine.models.vae import VAE, VAEConfig, gaussian_kl


@pytest.mark.parametrize("size, channels", [(28, 1), (32, 3), (48, 3), (64, 3), (128, 1)])
def test_shapes_for_any_size(size, channels):
    net = VAE(VAEConfig(image_size=size, channels=channels, latent_dim=6, base_width=4, max_width=16))
    x = torch.rand(2, channels, size, size)
    mu, logvar = net.encode(x)
    assert mu.shape == logvar.shape == (2, 6)
    assert net.decode(mu).shape == x.shape
    out = net.loss(x)
    assert torch.isfinite(out["loss"]) and out["kl_dims"].shape == (6,)


def test_closed_form_kl_matches_monte_carlo():
    torch.manual_seed(0)
    mu, logvar = torch.tensor([0.7, -1.2]), torch.tensor([-0.5, 0.4])
    std = (0.5 * logvar).exp()
    z = mu + std * torch.randn(200_000, 2)
    log_q = torch.distributions.Normal(mu, std).log_prob(z)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z)
    mc = (log_q - log_p).mean(0)
    assert torch.allclose(gaussian_kl(mu, logvar), mc, atol=0.02)


def test_beta_warmup_and_free_bits_change_the_loss():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 32, 32)
    base = dict(image_size=32, latent_dim=4, base_width=4, max_width=8)
    net = VAE(VAEConfig(**base, kl_warmup_steps=100))
    torch.manual_seed(1)
    at0 = net.loss(x, step=0)
    torch.manual_seed(1)
    at100 = net.loss(x, step=100)
    assert torch.allclose(at0["loss"], at0["rec"])  # β = 0 at the start of warm-up
    assert torch.allclose(at100["loss"], at100["rec"] + at100["kl"])
    fb = VAE(VAEConfig(**base, free_bits=5.0))
    fb.load_state_dict(net.state_dict())
    torch.manual_seed(1)
    out = fb.loss(x)
    assert torch.allclose(out["loss"], out["rec"] + 5.0 * 4, rtol=1e-4)  # all dims under the floor


@pytest.mark.parametrize(
    "kwargs, message",
    [({"image_size": 256}, "image_size"), ({"channels": 2}, "channels"), ({"likelihood": "laplace"}, "likelihood"), ({"beta": -1}, "beta must be within")],
)
def test_config_is_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VAEConfig(**kwargs)


def test_registry_knows_vae_and_refuses_unknown():
    assert "vae" in registry.families()
    with pytest.raises(ValueError, match="unknown model family 'flow'"):
        registry.family("flow")
    with pytest.raises(ValueError, match="does not know: bogus"):
        registry.config_from_dict("vae", {"bogus": 1})
