"""The small, stable Python API: ``engine.load_model(...)`` → :class:`Model`.

Numpy in, numpy out: uint8 images N×H×W×3, float32 latents N×D. Torch stays inside.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from engine import checkpoint as ckpt_io
from engine.data.images import to_model_input
from engine.devices import describe, pick_device
from engine.protocol import LatentStats

BUNDLED = {"default": "default-faces-vae64.safetensors"}


def bundled_path(name: str) -> Path:
    return Path(str(resources.files("resources") / "models" / BUNDLED[name]))


def bundled_files() -> list[Path]:
    """Every checkpoint in ``resources/models`` (the default first); each loads by its stem too."""
    folder = Path(str(resources.files("resources") / "models"))
    files = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    return sorted(files, key=lambda f: f.name != BUNDLED["default"])


def resolve_source(source: str | os.PathLike) -> Path:
    """A bundled model name (``default``, or a bundled file's stem) or a checkpoint path → the file."""
    if isinstance(source, str) and source in BUNDLED:
        path = bundled_path(source)
        if not path.exists():
            raise ckpt_io.CheckpointError(f"bundled model {source!r} is missing from this install ({path.name})")
        return path
    if isinstance(source, str) and source and not source.endswith(".safetensors") and not Path(source).exists():
        for path in bundled_files():
            if path.stem == source:
                return path
    return Path(source)


@dataclass
class Model:
    net: torch.nn.Module
    ckpt: ckpt_io.Checkpoint
    device: torch.device
    name: str = "model"

    # ------------------------------------------------------------------ facts
    @property
    def family(self) -> str:
        return self.ckpt.family

    @property
    def image_size(self) -> int:
        return int(self.ckpt.config.image_size)

    @property
    def channels(self) -> int:
        return int(self.ckpt.config.channels)

    @property
    def latent_dim(self) -> int:
        return self.ckpt.latent_dim

    @property
    def labels(self) -> list[str]:
        return list(self.ckpt.labels)

    @cached_property
    def label_space(self):
        """Conditional models: names, kind ("multi" | "onehot") and prior of the labels; else None."""
        from engine.models.conditional import label_space_of

        return label_space_of(self.ckpt)

    def label_tensor(self, labels: dict[str, float] | None, n: int) -> torch.Tensor | None:
        """A label dict → y (N×L on the device) for conditional models (unnamed labels: see
        ``engine.models.conditional``); None for unconditional ones, which take no labels."""
        space = self.label_space
        if space is None:
            if labels:
                raise ValueError(f"this model ({self.family}) is not conditional: it takes no labels, got {', '.join(labels)}")
            return None
        return torch.from_numpy(space.vector(labels)).to(self.device).expand(n, -1).contiguous()

    @property
    def attributes(self) -> dict[str, np.ndarray]:
        return self.ckpt.attributes

    @property
    def latent_stats(self) -> LatentStats:
        s = self.ckpt.stats
        d = self.latent_dim
        return LatentStats(
            mean=s.get("mean", np.zeros(d, np.float32)),
            std=s.get("std", np.ones(d, np.float32)),
            kl=s.get("kl", np.ones(d, np.float32)),
        )

    @cached_property
    def fingerprint(self) -> str:
        """A short hash of the checkpoint's weights, the latent space's identity: it keys the encoded
        data-set cache and tells whether user attributes and sessions were made with this model.
        Hashing reads every weight, so it is done once per model."""
        from engine.semantics.direction_files import model_fingerprint

        return model_fingerprint(self.ckpt)

    @property
    def device_name(self) -> str:
        return describe(self.device)

    # ------------------------------------------------------------------ conversions
    def to_tensor(self, images: np.ndarray) -> torch.Tensor:
        """uint8 N×H×W×3 (any size) or one H×W×3 → float N×C×S×S in [0, 1] on the device."""
        images = np.asarray(images)
        if images.ndim == 3 and images.shape[-1] in (1, 3, 4):
            images = images[None]
        if images.ndim != 4:
            raise ValueError(f"expected images shaped N×H×W×3, got {tuple(images.shape)}")
        batch = np.stack([to_model_input(im, self.image_size) for im in images])
        x = torch.from_numpy(batch).to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
        if self.channels == 1:
            x = x.mean(1, keepdim=True)
        return x.contiguous(memory_format=torch.channels_last)

    def to_images(self, x: torch.Tensor) -> np.ndarray:
        """float N×C×S×S in [0, 1] → uint8 N×S×S×3."""
        x = x.float().clamp_(0, 1).mul_(255.0).round_().to(torch.uint8)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return x.permute(0, 2, 3, 1).contiguous().cpu().numpy()

    def latent_tensor(self, z: np.ndarray) -> torch.Tensor:
        """float32 N×D (or one D) latents, checked for shape and finiteness → a tensor on the device."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim == 1:
            z = z[None]
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected latents shaped N×{self.latent_dim}, got {tuple(z.shape)}")
        if not np.isfinite(z).all():
            raise ValueError("latents contain NaN or infinity")
        return torch.from_numpy(z).to(self.device)

    # ------------------------------------------------------------------ the API
    @torch.inference_mode()
    def encode(self, images: np.ndarray) -> np.ndarray:
        """Posterior means μ(x) (a cGAN: its encoder's ẑ), float32 N×D."""
        mu, _ = self.encode_tensor(self.to_tensor(images))
        return mu.float().cpu().numpy()

    @torch.inference_mode()
    def encode_with_labels(self, images: np.ndarray) -> tuple[np.ndarray, list[dict[str, float]]]:
        """Latents and, for conditional models, each image's estimated labels (else empty dicts)."""
        z, y = self.encode_tensor(self.to_tensor(images))
        space = self.label_space
        dicts = [{} for _ in range(z.shape[0])] if y is None else [space.as_dict(row) for row in y.float().cpu().numpy()]
        return z.float().cpu().numpy(), dicts

    def encode_tensor(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (float N×C×S×S on the device) → (z, label estimate N×L or None)."""
        if self.label_space is None:
            return self.net.encode(x)[0], None
        return self.net.infer(x)

    def decode_tensor(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net.decode(z) if y is None else self.net.decode(z, y)

    @torch.inference_mode()
    def decode(self, z: np.ndarray, labels: dict[str, float] | None = None) -> np.ndarray:
        """Latents → images; conditional models take labels (fractional values blend them)."""
        zt = self.latent_tensor(z)
        return self.to_images(self.decode_tensor(zt, self.label_tensor(labels, zt.shape[0])))

    def sample(self, n: int, seed: int = 0, temperature: float = 1.0, labels: dict[str, float] | None = None, prior: str = "auto") -> np.ndarray:
        return self.decode(self.sample_latents(n, seed, temperature, prior), labels=labels)

    @property
    def priors(self) -> list[str]:
        """Latent priors this model can sample from: ``standard`` N(0, I) always; ``aggregate`` (a
        Gaussian fitted to the training set's posterior, see semantics.latent_stats.aggregate_prior)
        when the checkpoint carries one."""
        return ["aggregate", "standard"] if "prior_chol" in self.ckpt.extra else ["standard"]

    def sample_latents(self, n: int, seed: int = 0, temperature: float = 1.0, prior: str = "auto") -> np.ndarray:
        """``prior="auto"``: the aggregate prior when present, else N(0, I). Temperature scales the
        spread around the prior's mean."""
        if not 1 <= int(n) <= 4096:
            raise ValueError(f"n must be within 1..4096, got {n}")
        if not 0.0 <= float(temperature) <= 10.0:
            raise ValueError(f"temperature must be within 0..10, got {temperature}")
        prior = self.priors[0] if prior == "auto" else prior
        if prior not in self.priors:
            raise ValueError(f"prior {prior!r} is not available for this model; use one of {', '.join(self.priors)}")
        rng = np.random.default_rng(int(seed))
        eps = rng.standard_normal((int(n), self.latent_dim)) * float(temperature)
        if prior == "aggregate":
            extra = self.ckpt.extra
            eps = extra["prior_mean"].reshape(1, -1) + eps @ extra["prior_chol"].reshape(self.latent_dim, self.latent_dim).T
        return eps.astype(np.float32)


def load_model(source: str | os.PathLike = "default", device: str = "auto") -> Model:
    """Load a bundled model by name or a checkpoint file; raises CheckpointError with a clear message."""
    path = resolve_source(source)
    ckpt = ckpt_io.load(path)
    dev = pick_device(device)
    net = ckpt.build().to(dev).eval()
    net = net.to(memory_format=torch.channels_last)
    name = str(source) if isinstance(source, str) and source in BUNDLED else Path(path).stem
    return Model(net=net, ckpt=ckpt, device=dev, name=name)

