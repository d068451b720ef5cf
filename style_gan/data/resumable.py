"""Training data that a resumed run continues exactly where it stopped, mid-epoch too.

Two things make the data of batch k the same whether a run got there straight or through a
checkpoint: the order is a function of (seed, epoch) alone, with the batches already trained
on skipped; and each item's random draws (its crop, flip, paired style image) come from a seed
of its own, (seed, epoch, index), instead of the process's RNG, whose state depends on how far
Lightning's one-batch prefetch ran ahead when the checkpoint was written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler

# (epoch, batches this process has already trained on in it)
Position = Callable[[], tuple[int, int]]


def item_seed(seed: int, epoch: int, index: int) -> int:
    """A 63-bit seed for one item's draws, distinct per (seed, epoch, index)."""
    digest = hashlib.blake2b(f"{seed},{epoch},{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


class SeededDraws(Dataset):
    """``dataset`` whose item ``(index, seed)`` is drawn with torch's RNG seeded by ``seed``
    and restored afterwards, so an item depends on its key alone. A plain ``index`` (an
    evaluation loader, a test) reads ``dataset[index]`` as it is."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: int | tuple[int, int]) -> Any:
        if not isinstance(key, tuple):
            return self.dataset[key]
        index, seed = key
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.dataset[index]


class ResumableSampler(DistributedSampler):
    """This process's share of a permutation fixed by (``seed``, epoch), as
    ``(index, item seed)`` keys for :class:`SeededDraws`, starting after the batches already
    trained on in that epoch. ``position`` tells (epoch, batches done) when an epoch's
    iteration begins; Lightning's ``set_epoch`` is not needed, since worker processes take
    their first indices before Lightning calls it on a resumed run.

    Being a DistributedSampler, Lightning keeps it under DDP instead of putting its own in.
    """

    def __init__(self, dataset: Dataset, seed: int, batch_size: int, position: Position) -> None:
        distributed = dist.is_available() and dist.is_initialized()
        super().__init__(
            dataset,
            num_replicas=dist.get_world_size() if distributed else 1,
            rank=dist.get_rank() if distributed else 0,
            shuffle=True,
            seed=seed,
            drop_last=True,
        )
        self.batch_size = batch_size
        self.position = position

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        epoch, batches_done = self.position()
        order = torch.Generator().manual_seed(self.seed + epoch)
        indices = torch.randperm(len(self.dataset), generator=order)[: self.total_size]  # type: ignore[arg-type]
        mine = indices[self.rank : self.total_size : self.num_replicas].tolist()
        for index in mine[batches_done * self.batch_size :]:
            yield index, item_seed(self.seed, epoch, index)


class ResumableLoader(DataLoader):
    """A training DataLoader over :class:`SeededDraws` with a :class:`ResumableSampler`. Its
    state in the checkpoint is the sampler's seed, so a run without a seed resumes on its own
    data order too; Lightning stores it because the loader has ``state_dict``."""

    def state_dict(self) -> dict[str, int]:
        return {"seed": self.sampler.seed}  # type: ignore[attr-defined]

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.sampler.seed = state["seed"]  # type: ignore[attr-defined]
