"""Device choice: CUDA when present, then Apple MPS, then CPU; ``--device`` overrides."""

from __future__ import annotations

from contextlib import contextmanager

import torch


def pick_device(name: str = "auto") -> torch.device:
    if name in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but no CUDA GPU is available")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("--device mps was asked for but Apple MPS is not available")
    return device


def native_bf16_cpu() -> bool:
    """The CPU has bfloat16 arithmetic in hardware (AVX-512 BF16 or AMX); Linux's cpuinfo flags."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def auto_amp(device: torch.device) -> str:
    """``--amp auto``: bf16 autocast where it was measured to pay (a CPU with native bf16: 1.49×
    the fp32 eager loop in ``latent-studio bench``), else off (on an H100 the small VAE step is
    launch-bound and autocast measured 0.62×; on CPUs without native bf16 it is emulated)."""
    return "bf16" if device.type == "cpu" and native_bf16_cpu() else "off"


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def idle_threads(cap: int = 4) -> int:
    """How many torch threads a background job may take now: the cores no other work is using
    (the 1-minute load average), at least 1, at most ``cap``. Measured on 2 cores (the per-photo
    fit, 200 steps): 6.5 s on 1 thread and 4.2–4.9 s on 2 when idle, but 155–183 s on 2 threads
    with other work on the cores (OpenMP threads wait for busy cores) — so 2 only when idle."""
    import os

    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows): the safe choice
        return 1
    return max(1, min(int(cap), cores, int(cores - load + 0.5)))


@contextmanager
def thread_budget(n: int):
    """Run a block on ``n`` torch threads (interactive decoding keeps its own small budget)."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(before)
