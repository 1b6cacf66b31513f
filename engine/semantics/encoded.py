"""Posterior means μ of a whole labelled data set, with an on-disk cache.

Several tools (directions, PCA, arithmetic, eval-edits) need μ over the same split of the same
data under the same model; encoding 16k faces on a CPU takes a minute, so the result is kept
as a ``.npz`` (no pickle) in the user cache folder, keyed by the model's weights fingerprint,
the data spec, split and limit. ``LATENT_STUDIO_CACHE_DIR`` overrides the folder; ``cache=False``
skips it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from engine.protocol.files import atomic_write

ENV_CACHE = "LATENT_STUDIO_CACHE_DIR"


@dataclass
class EncodedSet:
    mu: np.ndarray  # N×D float32
    labels: np.ndarray | None  # N×A in ±1, or None
    names: list[str] = field(default_factory=list)
    description: str = ""

    def __len__(self) -> int:
        return int(self.mu.shape[0])

    def column(self, name: str) -> np.ndarray:
        if self.labels is None or name not in self.names:
            raise ValueError(f"no label {name!r} in this data set (labels: {', '.join(self.names) or 'none'})")
        return self.labels[:, self.names.index(name)]


def cache_dir() -> Path:
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("latent-studio"))


def cached_arrays(path: Path | None, keys: tuple[str, ...], compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of the ``.npz`` at ``path`` (no pickle), or ``compute()``'s, then stored
    there atomically; a damaged or incomplete entry is computed again; ``path`` None: no cache."""
    if path is not None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as f:
                return {k: f[k] for k in keys}
        except (OSError, ValueError, KeyError):
            pass  # a broken cache entry: recompute
    arrays = compute()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda fh: np.savez(fh, **arrays))
    return arrays


def encode_tensor_images(model, images, batch_size: int = 256, progress: bool = False) -> np.ndarray:
    """μ of uint8 N×C×S×S images already at the model's size (an ImageSet's tensor)."""
    import torch
    from tqdm import tqdm

    out = []
    n = int(images.shape[0])
    with torch.inference_mode():
        for i in tqdm(range(0, n, batch_size), desc="encoding", unit="batch", disable=not progress, leave=False):
            x = images[i : i + batch_size].to(model.device).float().div_(255.0)
            if x.shape[1] != model.channels:
                x = x.mean(1, keepdim=True) if model.channels == 1 else x.expand(-1, model.channels, -1, -1)
            mu, _ = model.net.encode(x.contiguous(memory_format=torch.channels_last))
            out.append(mu.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.latent_dim), np.float32)


def _key(model, spec: str, split: str, limit: int | None) -> str:
    fp = model.fingerprint
    kind, _, where = spec.partition(":")
    where = str(Path(where).resolve()) if where else ""
    raw = f"{fp}|{kind}:{where}|{split}|{limit or 0}|{model.image_size}|{model.channels}"
    return hashlib.sha1(raw.encode()).hexdigest()[:20]


def encode_dataset(model, spec: str, split: str = "train", limit: int | None = None, progress: bool = True, cache: bool = True) -> EncodedSet:
    """μ (and labels) of one split of a data spec (``faces:DIR``, ``celeba:DIR``, ``folder:DIR``)."""
    path = cache_dir() / "encoded" / f"{_key(model, spec, split, limit)}.npz" if cache else None

    def encode() -> dict[str, np.ndarray]:
        from engine.data.datasets import load_dataset

        data = load_dataset(spec, model.image_size, model.channels, split, progress=progress)
        if limit:
            data = data.subset(np.arange(min(int(limit), len(data))))
        labelled = data.labels is not None and data.label_names != ["class"]
        return {"mu": encode_tensor_images(model, data.images, progress=progress),
                "labels": np.asarray(data.labels, np.int8) if labelled else np.zeros(0, np.int8),
                "names": np.array(list(data.label_names) if labelled else [], dtype=str),
                "description": np.array(f"{data.description}, {split} split")}  # fmt: skip

    f = cached_arrays(path, ("mu", "labels", "names", "description"), encode)
    return EncodedSet(f["mu"], f["labels"] if f["labels"].size else None, [str(n) for n in f["names"]], str(f["description"]))
