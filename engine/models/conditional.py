"""Labels of conditional models: data labels → the vector y a network sees, and back.

Two kinds of label, both fed to the networks as a float vector y ∈ [0, 1]^L:

    "multi"   L independent binary attributes (CelebA layout, ±1 in the data → 0/1): multi-hot
    "onehot"  one class out of L (class ids, e.g. Fashion-MNIST): one-hot

Fractional values blend labels (the networks embed y linearly, so y = ½·e_a + ½·e_b is the
average of two embeddings). A dict ``{"Eyeglasses": 1.0}`` from the API becomes y like this:
for "multi" models every attribute not named takes its training-set frequency (the prior);
for "onehot" models unnamed classes are 0, and an empty or missing dict means the prior
mixture of all classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.data.datasets import FASHION_MNIST_CLASSES, ImageSet

LABEL_MODES = ("multi", "onehot")
MAX_MULTI_LABELS = 10  # 2^10 label settings at most when a classifier enumerates them


@dataclass(frozen=True)
class LabelSpace:
    names: tuple[str, ...]
    mode: str  # "multi" | "onehot"
    prior: np.ndarray  # L: attribute frequencies (multi) or class frequencies (onehot)

    @property
    def dim(self) -> int:
        return len(self.names)

    # ------------------------------------------------------------------ data → y
    def encode(self, labels: np.ndarray) -> torch.Tensor:
        """Data labels (N×A ±1, or N×1 class ids) → float N×L in {0, 1}."""
        labels = np.asarray(labels)
        if self.mode == "multi":
            return torch.from_numpy((labels.reshape(len(labels), -1) > 0).astype(np.float32))
        ids = labels.reshape(-1).astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.dim):
            raise ValueError(f"class ids must lie in 0..{self.dim - 1}, got {ids.min()}..{ids.max()}")
        return torch.nn.functional.one_hot(torch.from_numpy(ids), self.dim).float()

    # ------------------------------------------------------------------ API dict → y
    def vector(self, labels: dict[str, float] | None) -> np.ndarray:
        """An API label dict → float32 L (see the module docstring for unnamed labels)."""
        labels = dict(labels or {})
        unknown = sorted(set(labels) - set(self.names))
        if unknown:
            raise ValueError(f"unknown label(s) {', '.join(map(repr, unknown))}; this model knows: {', '.join(self.names)}")
        for k, v in labels.items():
            if not isinstance(v, (int, float, np.floating, np.integer)) or not np.isfinite(v) or not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"label {k!r} must be a number within 0..1, got {v!r}")
        if self.mode == "onehot" and labels:
            y = np.zeros(self.dim, np.float32)
        else:
            y = self.prior.astype(np.float32).copy()
        for k, v in labels.items():
            y[self.names.index(k)] = float(v)
        return y

    def as_dict(self, y: np.ndarray) -> dict[str, float]:
        return {n: round(float(v), 4) for n, v in zip(self.names, np.asarray(y).reshape(-1))}

    # ------------------------------------------------------------------ enumeration
    def settings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every discrete label setting and its prior log-probability: (M×L, M).

        onehot: the L classes. multi: all 2^L combinations, attributes independent under the prior.
        """
        if self.mode == "onehot":
            p = torch.from_numpy(self.prior.astype(np.float32)).clamp(min=1e-6)
            return torch.eye(self.dim), (p / p.sum()).log()
        if self.dim > MAX_MULTI_LABELS:
            raise ValueError(f"{self.dim} attributes give too many label settings to enumerate (at most {MAX_MULTI_LABELS})")
        m = 2**self.dim
        ys = torch.tensor([[(i >> j) & 1 for j in range(self.dim)] for i in range(m)], dtype=torch.float32)
        p = torch.from_numpy(self.prior.astype(np.float32)).clamp(1e-4, 1 - 1e-4)
        logp = (ys * p.log() + (1 - ys) * (1 - p).log()).sum(1)
        return ys, logp

    def setting_names(self) -> list[str]:
        ys, _ = self.settings()
        if self.mode == "onehot":
            return list(self.names)
        return [",".join(n if v > 0.5 else f"not {n}" for n, v in zip(self.names, row)) for row in ys.tolist()]

    def preview_rows(self) -> torch.Tensor:
        """One label setting per preview row: every class (onehot, ≤ 10), or none / each attribute alone / all (multi)."""
        if self.mode == "onehot":
            return torch.eye(self.dim)[: min(self.dim, 10)]
        rows = [torch.zeros(self.dim)] + [torch.eye(self.dim)[i] for i in range(min(self.dim, 6))] + [torch.ones(self.dim)]
        return torch.stack(rows)


def label_space_from_data(data: ImageSet) -> LabelSpace:
    """The label space of a labelled data set: class ids → onehot, ±1 attributes → multi."""
    if data.labels is None or not len(data.label_names):
        raise ValueError(f"{data.description or 'the data'} has no labels; a conditional model needs labelled data (CelebA layout, attributes.csv or class ids)")
    labels = np.asarray(data.labels)
    if list(data.label_names) == ["class"]:
        k = int(labels.max()) + 1
        if "Fashion-MNIST" in data.description and k <= len(FASHION_MNIST_CLASSES):
            names = tuple(FASHION_MNIST_CLASSES[:k])
        else:
            names = tuple(f"class {i}" for i in range(k))
        prior = np.bincount(labels.reshape(-1).astype(np.int64), minlength=k).astype(np.float64)
        return LabelSpace(names, "onehot", (prior / prior.sum()).astype(np.float32))
    prior = (labels > 0).mean(0).astype(np.float32)
    return LabelSpace(tuple(data.label_names), "multi", prior)


def label_space_of(ckpt) -> LabelSpace | None:
    """A conditional checkpoint's label space: names from the checkpoint, mode from its config,
    prior from the network's ``label_prior`` buffer (so the module alone knows it too)."""
    mode = getattr(ckpt.config, "label_mode", None)
    if mode is None or not ckpt.labels:
        return None
    prior = ckpt.state.get("label_prior")
    prior = None if prior is None else prior.detach().float().cpu().numpy()
    if prior is None or prior.shape != (len(ckpt.labels),) or not np.isfinite(prior).all():
        prior = np.full(len(ckpt.labels), 1.0 / len(ckpt.labels) if mode == "onehot" else 0.5, np.float32)
    return LabelSpace(tuple(ckpt.labels), mode, np.asarray(prior, np.float32))


def default_prior(dim: int, mode: str) -> torch.Tensor:
    return torch.full((dim,), 1.0 / dim if mode == "onehot" else 0.5)


def label_loss(logits: torch.Tensor, y: torch.Tensor, mode: str) -> torch.Tensor:
    """Per-image loss of predicted label logits against (possibly fractional) targets y."""
    if mode == "onehot":
        return -(y * torch.log_softmax(logits, 1)).sum(1)
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none").sum(1)


def label_probs(logits: torch.Tensor, mode: str) -> torch.Tensor:
    return torch.softmax(logits, 1) if mode == "onehot" else torch.sigmoid(logits)
