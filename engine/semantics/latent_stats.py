"""Per-dimension statistics of the aggregate posterior, used to scale and order sliders."""

from __future__ import annotations

import numpy as np
import torch

from engine.models.vae import gaussian_kl


@torch.inference_mode()
def encode_batches(model, batches, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """Posterior (μ, log σ²) of every image yielded by ``batches`` (float N×C×S×S in [0,1])."""
    model.eval()
    mus, logvars = [], []
    for x in batches:
        mu, logvar = model.encode(x.to(device))
        mus.append(mu.float().cpu())
        logvars.append(logvar.float().cpu())
    return torch.cat(mus).numpy(), torch.cat(logvars).numpy()


def latent_statistics(mu: np.ndarray, logvar: np.ndarray) -> dict[str, np.ndarray]:
    """mean and std of μ over the data, and mean KL per dimension (nats)."""
    kl = gaussian_kl(torch.from_numpy(mu), torch.from_numpy(logvar)).mean(0).numpy()
    std = mu.std(0)
    return {
        "mean": mu.mean(0).astype(np.float32),
        "std": np.maximum(std, 1e-6).astype(np.float32),
        "kl": kl.astype(np.float32),
    }
