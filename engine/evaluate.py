"""Held-out metrics of a VAE: reconstruction PSNR/SSIM, ELBO in bits per dimension, active units."""

from __future__ import annotations

import math

import numpy as np
import torch

from engine.data.datasets import ImageSet
from engine.semantics.latent_stats import encode_batches

ACTIVE_UNIT_VARIANCE = 0.01  # Burda et al. (2016): a unit is active when Var_x E_q[z_d] > 0.01


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB of images in [0,1]."""
    mse = (a - b).pow(2).flatten(1).mean(1).clamp(min=1e-10)
    return 10.0 * torch.log10(1.0 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float | None:
    """Mean SSIM of uint8 N×H×W×3 arrays (scikit-image, the ``metrics`` extra); None without it."""
    try:
        from skimage.metrics import structural_similarity
    except ImportError:
        return None
    return float(np.mean([structural_similarity(x, y, channel_axis=-1, data_range=255) for x, y in zip(a, b)]))


@torch.inference_mode()
def evaluate_vae(net, data: ImageSet, device: torch.device, batch_size: int = 256) -> dict[str, float]:
    net.eval()
    n_pix = None
    rec_sum, kl_sum, psnr_sum, count = 0.0, 0.0, 0.0, 0
    originals, recons = [], []
    for x in data.batches(batch_size, device):
        out = net.loss(x)
        n = x.shape[0]
        rec_sum += float(out["rec"]) * n
        kl_sum += float(out["kl"]) * n
        mean = net(x)
        psnr_sum += float(psnr(mean, x).sum())
        count += n
        n_pix = x[0].numel()
        if len(originals) < 4:  # SSIM on up to 4 batches is plenty and fast
            originals.append(to_uint8(x))
            recons.append(to_uint8(mean))
    mu, logvar = encode_batches(net, data.batches(batch_size, device), device)
    neg_elbo = (rec_sum + kl_sum) / count
    metrics = {
        "n_images": count,
        "psnr_db": psnr_sum / count,
        "neg_elbo_nats": neg_elbo,
        "kl_nats": kl_sum / count,
        "active_units": int((mu.var(0) > ACTIVE_UNIT_VARIANCE).sum()),
    }
    if net.config.likelihood == "gaussian":
        # Continuous density on [0,1] → discrete 8-bit probability: + D·ln 256 (uniform dequantisation bound).
        metrics["elbo_bits_per_dim"] = neg_elbo / (n_pix * math.log(2)) + 8.0
    s = ssim(np.concatenate(originals), np.concatenate(recons))
    if s is not None:
        metrics["ssim"] = s
    return metrics


def to_uint8(x: torch.Tensor) -> np.ndarray:
    x = (x.clamp(0, 1) * 255).round().to(torch.uint8)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x.permute(0, 2, 3, 1).cpu().numpy()
