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


def aggregate_prior(mu: np.ndarray, logvar: np.ndarray) -> dict[str, np.ndarray]:
    """A full-covariance Gaussian fitted to the aggregate posterior q(z) = E_x q(z|x):
    mean E[μ], covariance Cov(μ) + E[diag σ²]. Sampling from it instead of N(0, I) avoids the
    prior's "holes" (ex-post density estimation, Ghosh et al. 2020): with a learned decoder scale
    the posterior means spread wider than N(0, I), and prior samples all look like the average face.
    Returns ``prior_mean`` (D) and ``prior_chol`` (D×D, lower Cholesky factor) for a checkpoint's extra arrays."""
    mu64 = mu.astype(np.float64)
    cov = np.cov(mu64, rowvar=False) + np.diag(np.exp(logvar.astype(np.float64)).mean(0))
    cov = np.atleast_2d(cov)
    chol = np.linalg.cholesky(cov + 1e-6 * np.eye(cov.shape[0]))
    return {"prior_mean": mu64.mean(0).astype(np.float32), "prior_chol": chol.astype(np.float32)}


def refresh_statistics(path, data_spec: str, device: str = "auto", progress: bool = True) -> dict:
    """Re-encode ``data_spec``'s train split with the checkpoint at ``path`` and rewrite its latent
    statistics, aggregate prior and (for labelled data) mean-difference directions, in place."""
    from engine import checkpoint as ckpt_io
    from engine.data.datasets import load_dataset
    from engine.devices import pick_device
    from engine.semantics.directions import mean_difference_directions

    ckpt = ckpt_io.load(path)
    dev = pick_device(device)
    net = ckpt.build().to(dev).eval()
    data = load_dataset(data_spec, int(ckpt.config.image_size), int(ckpt.config.channels), "train", progress)
    mu, logvar = encode_batches(net, data.batches(256, dev), dev)
    ckpt.stats = latent_statistics(mu, logvar)
    ckpt.extra.update(aggregate_prior(mu, logvar))
    if data.labels is not None and data.label_names != ["class"]:
        ckpt.attributes.update(mean_difference_directions(mu, data.labels, data.label_names))
    ckpt.info.setdefault("data", {})["statistics_from"] = {"spec": data_spec, "images": len(data)}
    ckpt_io.save(ckpt, path)
    return {"checkpoint": str(path), "images": len(data), "active_dims": int((ckpt.stats["kl"] >= 0.01).sum()), "attributes": sorted(ckpt.attributes)}
