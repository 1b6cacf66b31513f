"""The settings of a training run, torch-free so that ``latent-studio train --help`` and its
argument errors answer without loading torch (the CLI reads the defaults from here)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.models.fields import check_fields, ranged


@dataclass(frozen=True)
class TrainConfig:
    model: str = "vae"
    data: str = "faces:data/faces"
    size: int = ranged(64, 28, 128)
    channels: int = ranged(3, choices=(1, 3))
    latent_dim: int = ranged(64, 1, 1024)
    epochs: int = ranged(20, 1, 100_000)  # 0 would write an untrained checkpoint
    batch_size: int = ranged(64, 1, 4096)
    lr: float = ranged(1e-3, 0.0, 10.0)  # 0 keeps the weights (tests of --init-from)
    lr_final_fraction: float = ranged(0.1, 0.0, 1.0)  # cosine decay to this fraction of lr
    beta: float = ranged(1.0, 0.0, 1000.0)
    kl_warmup_epochs: float = ranged(1.0, 0.0, 100_000.0)
    free_bits: float = ranged(0.0, 0.0, 100.0)
    likelihood: str = ranged("gaussian", choices=("gaussian", "bernoulli"))
    base_width: int = ranged(32, 1, 512)
    flip: bool = True
    seed: int = ranged(0, 0, 2**32 - 1)
    device: str = "auto"
    threads: int = ranged(0, 0, 256)  # 0: torch's default
    time_budget_min: float = ranged(0.0, 0.0, 1e6)  # stop cleanly after this many minutes (0: no limit)
    limit: int = ranged(0, 0, 10**9)  # use only the first N training images (0: all)
    model_options: str = ""  # "key=value,..." for fields of the family's config (e.g. "loss=wgan-gp,ema_decay=0.999")
    amp: str = "off"  # mixed precision of the step: off | bf16 (CPU with AVX-512 BF16, or CUDA) | fp16 (CUDA, loss scaling; VAE) | auto
    init_from: str = ""  # start from this checkpoint's weights (same family and shapes; fresh optimiser and schedule)
    augment: str = ranged("none", choices=("none", "real"))  # "real": camera/lighting effects of real photos on each batch (engine/data/augment.py)

    def __post_init__(self):
        check_fields(self)  # the API gets the command line's ranges: one-line ValueError
