"""The random number generators' states in every checkpoint, so a resumed run draws what the
uninterrupted run drew next (DiffAugment, DCGAN's z, CUT's patches, the image pool)."""

from __future__ import annotations

import random
from typing import Any

import lightning as L
import numpy as np
import torch


class RandomStates(L.Callback):
    """Stores torch's (CPU and CUDA), NumPy's and Python's RNG states in each checkpoint and
    puts them back at the first batch of a resumed run, after everything that seeds or draws
    while a run starts. The states are plain tensors and numbers, so a checkpoint still loads
    with ``weights_only=True``.

    Under DDP the checkpoint holds rank 0's states: rank 0 resumes exactly, the other ranks
    go on from their own seeds (PerRankSeed) rather than repeat rank 0's draws.
    """

    def __init__(self) -> None:
        self.pending: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        generator, keys, position, has_gauss, cached_gaussian = np.random.get_state()
        version, python_state, gauss_next = random.getstate()
        return {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [
                generator,
                torch.from_numpy(keys.astype(np.int64)),
                position,
                has_gauss,
                cached_gaussian,
            ],
            "python": [version, list(python_state), gauss_next],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.pending = state_dict

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.pending is None:
            return
        state, self.pending = self.pending, None
        if trainer.global_rank > 0:
            return
        torch.set_rng_state(state["torch"])
        if state["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
        generator, keys, position, has_gauss, cached_gaussian = state["numpy"]
        np.random.set_state(
            (generator, keys.numpy().astype(np.uint32), position, has_gauss, cached_gaussian)
        )
        version, python_state, gauss_next = state["python"]
        random.setstate((version, tuple(python_state), gauss_next))
