"""LightningDataModule for unpaired content/style folders in the CycleGAN layout."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from style_gan.cpus import usable_cpus
from style_gan.data.images import scan_image_folder
from style_gan.data.loading import AUTO, loader_workers
from style_gan.data.loading import pin_memory as pin_memory_for
from style_gan.data.resumable import ResumableLoader, ResumableSampler, SeededDraws
from style_gan.data.transforms import image_transform
from style_gan.data.unpaired import UnpairedImageDataset
from style_gan.errors import DataError

LAYOUT = "trainA/ trainB/ (and testA/ testB/, optionally valA/ valB/)"

log = logging.getLogger(__name__)


class ImageFolderDataModule(L.LightningDataModule):
    """What the folder-based data modules share: the root check, the transforms and the
    loaders. Subclasses name their ``layout`` and build ``datasets`` by split in
    ``_find_splits``; a missing split gives no loader (``[]``), so that stage is skipped."""

    layout_help = ""
    validation_help = ""

    def __init__(
        self,
        root: str | Path,
        preprocess: str = "resize_crop",
        load_size: int = 286,
        crop_size: int = 256,
        flip: bool = True,
        batch_size: int = 1,
        eval_batch_size: int = 4,
        num_workers: int | str = AUTO,
        pin_memory: bool | str = AUTO,
        validate_on_test: bool = False,
    ) -> None:
        super().__init__()
        # A bad value is refused now, not when the first loader is made.
        loader_workers(num_workers, 1)
        pin_memory_for(pin_memory, torch.device("cpu"))
        if not str(root).strip():
            raise DataError(f"data.root is empty; set it to a folder with {self.layout_help}")
        self.root = Path(root)
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.validate_on_test = validate_on_test
        self.crop_size = crop_size
        self.preprocess = preprocess
        # The shorter side the transforms resize to (None: crops at native resolution).
        self.decode_side = {"resize_crop": load_size, "resize": crop_size}.get(preprocess)
        self.train_transform = image_transform(preprocess, load_size, crop_size, flip, train=True)
        self.eval_transform = image_transform(preprocess, load_size, crop_size, flip, train=False)
        self.datasets: dict[str, Dataset] = {}
        self._loading_logged = False
        self._validation_chosen = False

    def setup(self, stage: str | None = None) -> None:
        if not self.root.is_dir():
            problem = "is a file, not a folder" if self.root.exists() else "does not exist"
            raise DataError(
                f"data.root {self.root} {problem}; point data.root at a folder with "
                f"{self.layout_help}"
            )
        if not self.datasets:
            self.datasets = self._find_splits()
        # Which split validates concerns training alone: an evaluation (stage "test") says
        # nothing of it.
        if stage != "test" and not self._validation_chosen:
            self._validation_chosen = True
            self._choose_validation_split()

    def _choose_validation_split(self) -> None:
        # Validation picks the best checkpoint; on the test split, the test scores would then
        # no longer be held out, so that is done only when asked for, and said.
        if "val" in self.datasets or "test" not in self.datasets:
            return
        if self.validate_on_test:
            log.info(
                "validating on the test split of %s (data.validate_on_test=true): checkpoints "
                "chosen by validation metrics have seen the test data",
                self.root,
            )
            self.datasets["val"] = self.datasets["test"]
        else:
            log.warning(
                "%s has no validation split: validation is off; add one (%s), or set "
                "data.validate_on_test=true to validate on the test split",
                self.root,
                self.validation_help,
            )

    def _find_splits(self) -> dict[str, Dataset]:
        raise NotImplementedError

    def _evaluation_loader(self, split: str) -> DataLoader | list:
        if split not in self.datasets:
            return []
        return DataLoader(
            self.datasets[split],
            batch_size=self.eval_batch_size,
            **self._loader_options(),
            # Its own generator: each new iterator draws a seed for its workers, which from
            # torch's global RNG would shift every random draw after a validation.
            generator=torch.Generator(),
        )

    def train_dataloader(self) -> ResumableLoader | list:
        if "train" not in self.datasets:
            return []
        dataset, batch_size = self.datasets["train"], self.batch_size
        # The data order's seed is drawn from torch's RNG, so `seed=` fixes it; the checkpoint
        # keeps it for a resume.
        seed = int(torch.randint(2**62, ()).item())
        sampler = ResumableSampler(
            dataset,
            seed=seed,
            batch_size=batch_size,
            position=self._training_position,
        )
        return ResumableLoader(
            SeededDraws(dataset),
            batch_size=batch_size,
            sampler=sampler,
            **self._loader_options(),
            drop_last=True,
            # Not torch's global RNG: a new epoch's iterator would otherwise draw from it at a
            # point a resumed run does not reproduce.
            generator=torch.Generator().manual_seed(seed),
        )

    def _loader_options(self) -> dict[str, Any]:
        """num_workers, pin_memory and persistent_workers for this machine and run (``auto``:
        see style_gan.data.loading), said once in the log."""
        trainer = self.trainer
        processes = trainer.num_devices if trainer is not None else 1
        device = trainer.strategy.root_device if trainer is not None else torch.device("cpu")
        workers = loader_workers(self.num_workers, processes)
        pinned = pin_memory_for(self.pin_memory, device)
        if not self._loading_logged:
            self._loading_logged = True
            # Without a trainer (style-gan-eval) there are no training processes to name.
            shares = ""
            if trainer is not None:
                shares = f", {processes} training process{'' if processes == 1 else 'es'}"
            log.info(
                "data loading: %d worker process%s per loader (%d CPUs%s), pinned memory %s",
                workers,
                "" if workers == 1 else "es",
                usable_cpus(),
                shares,
                "on" if pinned else "off",
            )
        return {"num_workers": workers, "pin_memory": pinned, "persistent_workers": workers > 0}

    def _training_position(self) -> tuple[int, int]:
        """(epoch, batches already trained on in it) of the fit this data serves, read from
        Lightning's progress counters, which a resume restores before the data is iterated."""
        trainer = self.trainer
        if trainer is None:
            return 0, 0
        epochs_done = trainer.fit_loop.epoch_progress.current.completed
        batches = trainer.fit_loop.epoch_loop.batch_progress
        # A checkpoint written at an epoch's end holds that epoch's last batch as done but the
        # epoch not yet counted as completed: the next epoch starts from its first batch.
        if batches.is_last_batch:
            return epochs_done + 1, 0
        return epochs_done, batches.current.completed

    def val_dataloader(self) -> DataLoader | list:
        return self._evaluation_loader("val")

    def test_dataloader(self) -> DataLoader | list:
        return self._evaluation_loader("test")


class UnpairedDataModule(ImageFolderDataModule):
    """Content domain A and style domain B from ``root/{train,val,test}{A,B}``.

    Validation uses ``valA/valB``; without them it is off, or on ``testA/testB`` with
    ``validate_on_test`` (the CycleGAN layout has no validation split).
    """

    layout_help = LAYOUT
    validation_help = "valA/ and valB/"

    def _find_splits(self) -> dict[str, UnpairedImageDataset]:
        if not all((self.root / f"train{domain}").is_dir() for domain in "AB"):
            raise DataError(f"data.root {self.root} must hold {LAYOUT}")
        datasets = {}
        for split in ("train", "val", "test"):
            content_dir, style_dir = self.root / f"{split}A", self.root / f"{split}B"
            if content_dir.is_dir() and style_dir.is_dir():
                datasets[split] = self._dataset(content_dir, style_dir, train=split == "train")
        return datasets

    def _dataset(self, content_dir: Path, style_dir: Path, train: bool) -> UnpairedImageDataset:
        min_size = self.crop_size if self.preprocess == "crop" else None
        return UnpairedImageDataset(
            scan_image_folder(content_dir, min_size),
            scan_image_folder(style_dir, min_size),
            self.train_transform if train else self.eval_transform,
            random_pairs=train,
            decode_side=self.decode_side,
        )
