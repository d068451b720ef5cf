"""LightningDataModule for unpaired content/style folders in the CycleGAN layout."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from torch.utils.data import DataLoader, Dataset

from style_gan.data.images import scan_image_folder
from style_gan.data.transforms import image_transform
from style_gan.data.unpaired import UnpairedImageDataset
from style_gan.errors import DataError

LAYOUT = "trainA/ trainB/ (and testA/ testB/, optionally valA/ valB/)"


class ImageFolderDataModule(L.LightningDataModule):
    """What the folder-based data modules share: the root check, the transforms and the
    loaders. Subclasses name their ``layout`` and build ``datasets`` by split in
    ``_find_splits``; a missing split gives no loader (``[]``), so that stage is skipped."""

    layout_help = ""

    def __init__(
        self,
        root: str | Path,
        preprocess: str = "resize_crop",
        load_size: int = 286,
        crop_size: int = 256,
        flip: bool = True,
        batch_size: int = 1,
        eval_batch_size: int = 4,
        num_workers: int = 2,
        pin_memory: bool = False,
    ) -> None:
        super().__init__()
        if not str(root).strip():
            raise DataError(f"data.root is empty; set it to a folder with {self.layout_help}")
        self.root = Path(root)
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.crop_size = crop_size
        self.preprocess = preprocess
        self.train_transform = image_transform(preprocess, load_size, crop_size, flip, train=True)
        self.eval_transform = image_transform(preprocess, load_size, crop_size, flip, train=False)
        self.datasets: dict[str, Dataset] = {}

    def setup(self, stage: str | None = None) -> None:
        if not self.root.is_dir():
            problem = "is a file, not a folder" if self.root.exists() else "does not exist"
            raise DataError(
                f"data.root {self.root} {problem}; point data.root at a folder with "
                f"{self.layout_help}"
            )
        if not self.datasets:
            self.datasets = self._find_splits()

    def _find_splits(self) -> dict[str, Dataset]:
        raise NotImplementedError

    def _loader(self, split: str, batch_size: int, shuffle: bool) -> DataLoader | list:
        if split not in self.datasets:
            return []
        return DataLoader(
            self.datasets[split],
            batch_size=batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            drop_last=shuffle,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val", self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader | list:
        return self._loader("test", self.eval_batch_size, shuffle=False)


class UnpairedDataModule(ImageFolderDataModule):
    """Content domain A and style domain B from ``root/{train,val,test}{A,B}``.

    Validation uses ``valA/valB`` when present, else ``testA/testB`` (the CycleGAN layout has
    no validation split); without either, validation is skipped.
    """

    layout_help = LAYOUT

    def _find_splits(self) -> dict[str, UnpairedImageDataset]:
        if not all((self.root / f"train{domain}").is_dir() for domain in "AB"):
            raise DataError(f"data.root {self.root} must hold {LAYOUT}")
        datasets = {}
        for split in ("train", "val", "test"):
            content_dir, style_dir = self.root / f"{split}A", self.root / f"{split}B"
            if content_dir.is_dir() and style_dir.is_dir():
                datasets[split] = self._dataset(content_dir, style_dir, train=split == "train")
        if "val" not in datasets and "test" in datasets:
            datasets["val"] = datasets["test"]
        return datasets

    def _dataset(self, content_dir: Path, style_dir: Path, train: bool) -> UnpairedImageDataset:
        min_size = self.crop_size if self.preprocess == "crop" else None
        return UnpairedImageDataset(
            scan_image_folder(content_dir, min_size),
            scan_image_folder(style_dir, min_size),
            self.train_transform if train else self.eval_transform,
            random_pairs=train,
        )
