"""What the machine can do, measured in the bench's own run: the achieved matmul peak per dtype
and the training FLOPs of one image, so training throughput reads as a share of the peak."""

from __future__ import annotations

import time

import torch

from engine.models.vae import VAE


def sync(device: torch.device) -> None:
    """Wait for queued device work, so a timer around it measures the work (CUDA is asynchronous)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def flops_per_image(net: VAE) -> float:
    """Training FLOPs for one image (forward + backward), counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.rand(2, 3, net.config.image_size, net.config.image_size)
    counter = FlopCounterMode(display=False)
    with counter:
        net.train().loss(x)["loss"].backward()
    return counter.get_total_flops() / 2


MATMUL_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def matmul_peak_gflops(n: int | None = None, seconds: float = 2.0, device: torch.device | str = "cpu", dtype: str = "fp32") -> float:
    """Achieved GFLOP/s of an n×n matmul on ``device`` in ``dtype`` (the machine's practical peak).
    On CUDA, float32 follows ``torch.backends.cuda.matmul.allow_tf32`` (recorded in the results)."""
    device = torch.device(device)
    n = n or (8192 if device.type == "cuda" else 1024)
    a = torch.randn(n, n, device=device, dtype=MATMUL_DTYPES[dtype])
    b = torch.randn(n, n, device=device, dtype=MATMUL_DTYPES[dtype])
    for _ in range(3):
        a @ b
    sync(device)
    count, t0 = 0, time.perf_counter()
    while True:
        a @ b
        count += 1
        if count % 4 == 0:
            sync(device)
            if time.perf_counter() - t0 > seconds:
                break
    sync(device)
    return 2 * n**3 * count / (time.perf_counter() - t0) / 1e9
