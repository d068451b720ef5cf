"""Exponential moving average of a generator's weights (Karras et al. 2018; Yazıcı et al. 2019)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEMA(nn.Module):
    """A frozen copy of ``model`` whose weights track θ_ema ← β·θ_ema + (1 - β)·θ after each
    ``update``, β = ``decay``. Buffers (e.g. BatchNorm statistics) are copied as they are.
    The average is smoother than the live weights, so it is what validation, sampling and
    inference use; it lives in the state dict, so checkpoints carry it.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        super().__init__()
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}; 0.999 is typical")
        self.decay = decay
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        # One multi-tensor kernel per list instead of one per tensor (benchmarks/ema_update.py).
        averages = list(self.module.parameters())
        lives = [
            live.detach().to(average.dtype)
            for average, live in zip(averages, model.parameters(), strict=True)
        ]
        torch._foreach_lerp_(averages, lives, 1.0 - self.decay)
        buffers = list(zip(self.module.buffers(), model.buffers(), strict=True))
        if buffers:
            torch._foreach_copy_([average for average, _ in buffers], [live for _, live in buffers])

    def forward(self, *args: object, **kwargs: object) -> torch.Tensor:
        return self.module(*args, **kwargs)

    def train(self, mode: bool = True) -> ModelEMA:
        # Always in eval mode: dropout off, BatchNorm on its running statistics.
        return super().train(False)
