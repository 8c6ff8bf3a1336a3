"""Several processes training one model: DistributedDataParallel under ``torchrun``.

Contract: :func:`distributed_env` reads ``(rank, world size, local rank)`` from torchrun's
environment (``(0, 1, 0)`` for a plain process); :func:`join` moves each rank onto its own GPU and
opens the process group (NCCL on GPUs, gloo on CPU); :func:`wrap` wraps the model for DDP;
:func:`leave` waits for every rank and closes the group.  All are no-ops for one process.
"""

from __future__ import annotations

import os


def distributed_env() -> tuple[int, int, int]:
    """``(RANK, WORLD_SIZE, LOCAL_RANK)`` as torchrun sets them."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0)))


def join(device, world: int, local_rank: int):
    """The device of this rank (its own GPU under DDP), with the process group opened."""
    import torch

    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if world > 1:
        import torch.distributed as dist

        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device


def wrap(model, device, world: int):
    """``model`` under DistributedDataParallel for several processes, else itself."""
    if world == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def leave(world: int) -> None:
    """Under DDP: wait for every rank, then close the process group (no-op for one process)."""
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
