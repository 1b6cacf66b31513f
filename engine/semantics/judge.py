"""An attribute judge that does not use latent directions: a small CNN trained on the *pixels*
of a labelled data set (multi-label, one logit per attribute), used to measure whether a latent
edit really changed what it claims to.

Four stride-2 3×3 conv blocks (24-48-64-96 channels, BatchNorm, ReLU), global average pooling,
dropout, a linear layer — about 100k weights, ~6 MFLOP per 64×64 image, a couple of minutes
of CPU to train on 16k faces. Augmentation: horizontal flips, brightness/contrast jitter and a
random Gaussian blur (σ 0–1.5 px), so that the judge also reads the softer images a VAE decodes.
Held-out accuracy and ROC AUC per attribute are measured on real images of another split and
stored with the weights (``.safetensors`` + JSON metadata, nothing pickled).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from engine.data.images import gaussian_blur

FORMAT = "latent-studio/judge"
META_KEY = "latent_studio_judge"


def _nn():
    import torch
    from torch import nn

    class JudgeNet(nn.Module):
        def __init__(self, n_out: int, channels: int = 3, widths=(24, 48, 64, 96), dropout: float = 0.2):
            super().__init__()
            layers, c = [], channels
            for w in widths:
                layers += [nn.Conv2d(c, w, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
                c = w
            self.features = nn.Sequential(*layers)  # N×C×S×S -> N×96×S/16×S/16
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, n_out))

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # x in [0, 1]
            return self.head(self.features(x * 2.0 - 1.0))

    return JudgeNet


@dataclass
class Judge:
    net: Any
    names: list[str]
    image_size: int
    channels: int = 3
    widths: tuple = (24, 48, 64, 96)
    metrics: dict = field(default_factory=dict)

    def _prepare(self, images):
        import torch
        import torch.nn.functional as F

        if isinstance(images, np.ndarray):
            x = torch.from_numpy(np.ascontiguousarray(images))
            if x.ndim == 3:
                x = x[None]
            if x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
                x = x.permute(0, 3, 1, 2)
        else:
            x = images
        x = x.float()
        if x.max() > 1.5:
            x = x / 255.0
        if x.shape[1] != self.channels:
            x = x.mean(1, keepdim=True) if self.channels == 1 else x.expand(-1, self.channels, -1, -1)
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", antialias=True, align_corners=False)
        return x

    def logits(self, images, batch_size: int = 512) -> np.ndarray:
        """N×A logits of uint8 images (N×H×W×3 numpy or N×C×S×S tensor)."""
        import torch

        self.net.eval()
        out = []
        with torch.inference_mode():
            for i in range(0, len(images), batch_size):
                out.append(self.net(self._prepare(images[i : i + batch_size])).float().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.names)), np.float32)

    def judge(self, images) -> np.ndarray:
        """N×A booleans: judged positive."""
        return self.logits(images) > 0


def _augment(x, gen):
    import torch

    n = x.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    gain = 1.0 + 0.2 * (torch.rand(n, 1, 1, 1, generator=gen) - 0.5)
    bias = 0.1 * (torch.rand(n, 1, 1, 1, generator=gen) - 0.5)
    x = (x * gain + bias).clamp(0, 1)
    # blur half of each batch (one σ per batch half keeps it cheap)
    half = n // 2
    sigma = float(torch.rand(1, generator=gen)) * 1.5
    x = torch.cat([gaussian_blur(x[:half], sigma), x[half:]])
    return x


def evaluate_judge(judge: Judge, images, labels: np.ndarray) -> dict[str, dict[str, float]]:
    """Accuracy and ROC AUC per attribute of ``judge`` against ±1 ``labels`` (columns in judge.names order)."""
    logit = judge.logits(images)
    out = {}
    for j, name in enumerate(judge.names):
        y = labels[:, j] > 0
        acc = float(((logit[:, j] > 0) == y).mean())
        auc = None
        if 0 < y.sum() < len(y):
            from sklearn.metrics import roc_auc_score

            auc = float(roc_auc_score(y, logit[:, j]))
        out[name] = {"accuracy": round(acc, 4), "auc": None if auc is None else round(auc, 4), "n": int(len(y)), "positive_rate": round(float(y.mean()), 4)}
    return out


def train_judge(
    train, val=None, epochs: int = 4, batch_size: int = 128, lr: float = 3e-3, seed: int = 0,
    time_budget_s: float | None = None, progress: bool = True, log: Callable[[str], None] = lambda s: None,
) -> Judge:  # fmt: skip
    """Train on an :class:`ImageSet` with ±1 labels; held-out metrics on ``val`` go into ``judge.metrics``."""
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    if train.labels is None or train.label_names == ["class"]:
        raise ValueError("the judge needs a data set with attribute labels (faces:DIR, celeba:DIR)")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    names, size, channels = list(train.label_names), int(train.images.shape[-1]), int(train.images.shape[1])
    net = _nn()(len(names), channels)
    y_all = torch.from_numpy((np.asarray(train.labels) > 0).astype(np.float32))
    n = len(train)
    steps_per_epoch = max(1, n // batch_size)
    total = epochs * steps_per_epoch
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=0.15)
    start, step = time.perf_counter(), 0
    bar = tqdm(total=total, desc="training judge", unit="step", disable=not progress, leave=False)
    stopped_early = False
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(n, generator=gen)
        run_loss = 0.0
        for i in range(steps_per_epoch):
            idx = order[i * batch_size : (i + 1) * batch_size]
            x = _augment(train.images[idx].float().div_(255.0), gen)
            loss = F.binary_cross_entropy_with_logits(net(x), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step < total - 1:
                sched.step()
            step += 1
            run_loss += float(loss.detach())
            bar.update(1)
            if time_budget_s and time.perf_counter() - start > time_budget_s:
                stopped_early = True
                break
        log(f"judge epoch {epoch + 1}: loss {run_loss / max(i + 1, 1):.4f}")
        if stopped_early:
            break
    bar.close()
    net.eval()
    judge = Judge(net, names, size, channels)
    judge.metrics = {
        "train_images": n, "epochs": epochs, "steps": step, "train_seconds": round(time.perf_counter() - start, 1),
        "stopped_by_time_budget": stopped_early, "data": train.description,
    }  # fmt: skip
    if val is not None and val.labels is not None:
        judge.metrics["held_out"] = evaluate_judge(judge, val.images, np.asarray(val.labels))
        judge.metrics["held_out_images"] = len(val)
    return judge


def save_judge(judge: Judge, path: str | os.PathLike) -> Path:
    from engine.checkpoint import write_safetensors

    tensors = {k: v.detach().cpu().contiguous() for k, v in judge.net.state_dict().items()}
    meta = {"format": FORMAT, "names": judge.names, "image_size": judge.image_size, "channels": judge.channels, "widths": list(judge.widths), "metrics": judge.metrics}
    return write_safetensors(tensors, path, {META_KEY: json.dumps(meta)})


def load_judge(path: str | os.PathLike) -> Judge:
    """Read a judge file; its description is checked (types, bounded widths) and its weights for
    finiteness before the network is built. ValueError with one line otherwise."""
    import torch

    from engine.checkpoint import metadata_json, read_safetensors
    from engine.models.fields import check_value

    path = Path(path)
    state, raw = read_safetensors(path, "judge", ValueError)
    if META_KEY not in raw:
        raise ValueError(f"{path.name}: not a Latent Studio judge file")
    meta = metadata_json(raw[META_KEY], path.name, ValueError)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path.name}: unknown judge format {str(meta.get('format'))[:60]!r}")
    names, widths, metrics = meta.get("names"), meta.get("widths", [24, 48, 64, 96]), meta.get("metrics", {})
    try:
        check_value("image_size", 64, meta.get("image_size"), 16, 256)
        check_value("channels", 3, meta.get("channels"), choices=(1, 3))
        if not isinstance(names, list) or not 1 <= len(names) <= 1000 or not all(isinstance(n, str) for n in names):
            raise ValueError("names must be a list of 1..1000 names")
        if not isinstance(widths, list) or not 1 <= len(widths) <= 8:
            raise ValueError("widths must be a list of 1..8 integers")
        for i, w in enumerate(widths):
            check_value(f"widths[{i}]", 1, w, 1, 512)  # bounded: a small file cannot ask for gigabytes
        if not isinstance(metrics, dict):
            raise ValueError("metrics must be a JSON object")
    except ValueError as exc:
        raise ValueError(f"{path.name}: bad judge description: {exc}") from None
    for key, t in state.items():
        if t.is_floating_point() and not math.isfinite(float(t.sum(dtype=torch.float64))):
            raise ValueError(f"{path.name}: tensor {key} holds NaN or infinite values")
    net = _nn()(len(names), meta["channels"], tuple(widths))
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"{path.name}: judge weights do not match its description ({str(exc).splitlines()[0]})") from None
    net.eval()
    return Judge(net, list(names), meta["image_size"], meta["channels"], tuple(widths), metrics)
