"""Multi-process training with DistributedDataParallel, launched by ``torchrun``.

    torchrun --nproc-per-node 2 -m engine.cli train ...                       # one machine
    torchrun --nnodes 2 --node-rank R --master-addr HOST --nproc-per-node 8 -m engine.cli train ...

gloo on CPU, NCCL on CUDA. Outside torchrun (no WORLD_SIZE) everything here is a no-op, so the
one training loop serves both cases.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init(device: torch.device) -> World:
    if not launched_by_torchrun():
        return World()
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def local_device(device: torch.device, world: World) -> torch.device:
    return torch.device("cuda", world.local_rank) if device.type == "cuda" and world.active else device


def shutdown(world: World) -> None:
    if world.active and dist.is_initialized():
        dist.destroy_process_group()


def mean(t: torch.Tensor, world: World) -> torch.Tensor:
    """The mean of ``t`` over all processes (itself when alone)."""
    if not world.active:
        return t
    t = t.detach().clone()
    dist.all_reduce(t)
    return t / world.size


def any_true(flag: bool, world: World, device: torch.device) -> bool:
    """True on every process if it is true on any (to stop all ranks at the same step)."""
    if not world.active:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def barrier(world: World) -> None:
    if world.active:
        dist.barrier()


class LossModule(nn.Module):
    """DDP synchronises gradients through ``forward``: expose the family's loss as forward."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, step: int | None = None):
        return self.net.loss(x, step=step)


def wrap(net: nn.Module, world: World, device: torch.device) -> nn.Module:
    module = LossModule(net)
    if not world.active:
        return module
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids)
