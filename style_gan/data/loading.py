"""How data reaches training: worker processes per loader and pinned memory, ``auto`` by
default, worked out from the machine the run is on."""

from __future__ import annotations

import torch

from style_gan.cpus import usable_cpus
from style_gan.errors import ConfigError

AUTO = "auto"
# A cap, so a many-core node does not start dozens of processes per loader; where the
# best number lies on a GPU machine was not measured (none was lent).
MAX_AUTO_WORKERS = 8


def loader_workers(requested: int | str, processes: int) -> int:
    """Worker processes per loader. ``auto``: each of the ``processes`` training processes on
    this machine gets its share of the CPUs less one, the one it trains on; a share of one
    worker is none: on 2 cores 0, 1 and 2 workers trained equally fast (benchmarks/README.md),
    so the processes and their memory are spared."""
    if requested == AUTO:
        spare = usable_cpus() // max(1, processes) - 1
        return min(spare, MAX_AUTO_WORKERS) if spare >= 2 else 0
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 0:
        raise ConfigError(f"data.num_workers={requested!r} must be auto or a number >= 0")
    return requested


def pin_memory(requested: bool | str, device: torch.device) -> bool:
    """``auto``: pinned (page-locked) batches on CUDA only, where they speed the copy to the
    GPU; elsewhere they cost memory and a warning for nothing."""
    if requested == AUTO:
        return device.type == "cuda"
    if not isinstance(requested, bool):
        raise ConfigError(f"data.pin_memory={requested!r} must be auto, true or false")
    return requested
