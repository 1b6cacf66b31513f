"""The settings of a training run, torch-free so that ``latent-studio train --help`` and its
argument errors answer without loading torch (the CLI reads the defaults from here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainConfig:
    model: str = "vae"
    data: str = "faces:data/faces"
    size: int = 64
    channels: int = 3
    latent_dim: int = 64
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    lr_final_fraction: float = 0.1  # cosine decay to this fraction of lr
    beta: float = 1.0
    kl_warmup_epochs: float = 1.0
    free_bits: float = 0.0
    likelihood: str = "gaussian"
    base_width: int = 32
    flip: bool = True
    seed: int = 0
    device: str = "auto"
    threads: int = 0  # 0: torch's default
    time_budget_min: float = 0.0  # stop cleanly after this many minutes (0: no limit)
    limit: int = 0  # use only the first N training images (0: all)
    model_options: str = ""  # "key=value,..." for fields of the family's config (e.g. "loss=wgan-gp,ema_decay=0.999")
    amp: str = "off"  # mixed precision of the step: off | bf16 (CPU with AVX-512 BF16, or CUDA) | fp16 (CUDA, loss scaling; VAE) | auto
    init_from: str = ""  # start from this checkpoint's weights (same family and shapes; fresh optimiser and schedule)
