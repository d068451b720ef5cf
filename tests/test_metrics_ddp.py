"""Metric states sync across processes: 2 CPU processes give the value of 1 on the same images."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from style_gan.metrics.features import EfficientNetFeatures
from style_gan.metrics.frechet import FrechetDistance
from style_gan.metrics.semantic import SemanticPreservation


def images(seed: int) -> torch.Tensor:
    return torch.rand(8, 3, 64, 64, generator=torch.Generator().manual_seed(seed))


def metric_values(rank: int, world_size: int) -> dict[str, float]:
    """Each process updates with its own half of the same 8 + 8 images."""
    content, stylised = images(0), images(1)
    share = slice(rank * 8 // world_size, (rank + 1) * 8 // world_size)
    semantic = SemanticPreservation()
    semantic.update(content[share], stylised[share])
    frechet = FrechetDistance(EfficientNetFeatures())
    frechet.update(content[share], real=True)
    frechet.update(stylised[share], real=False)
    values = {f"semantic/{k}": v.item() for k, v in semantic.compute().items()}
    values["frechet"] = frechet.compute().item()
    return values


def _worker(rank: int, world_size: int, port: int, out: Path) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        values = metric_values(rank, world_size)
        torch.save(values, out / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_give_the_single_process_values(tmp_path: Path) -> None:
    single = metric_values(rank=0, world_size=1)
    mp.spawn(_worker, args=(2, free_port(), tmp_path), nprocs=2, join=True)
    for rank in (0, 1):
        synced = torch.load(tmp_path / f"rank{rank}.pt")
        assert synced == pytest.approx(single, rel=1e-4)
