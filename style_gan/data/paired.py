"""Paired content/target data (pix2pix): each content image A comes with its true translation B.

Two folder layouts, detected automatically:

- aligned: ``root/A/<split>/name.png`` and ``root/B/<split>/name.png``, partners by file name;
- side by side: ``root/<split>/name.jpg``, A the left half and B the right half of one image
  (the layout of the pix2pix datasets such as facades).

Splits are train, val and test; validation falls back to test. A and B go through one
transform call together, so both get the same resize, random crop and flip.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision.transforms import v2

from style_gan.data.datamodule import ImageFolderDataModule
from style_gan.data.images import load_rgb, scan_image_folder
from style_gan.data.loading import AUTO
from style_gan.errors import DataError, UnreadableImageError, check_choice

log = logging.getLogger(__name__)

LAYOUTS = (
    "aligned A/train/ and B/train/ with the same file names, or side-by-side train/ images "
    "(A left half, B right half)"
)
DIRECTIONS = ("AtoB", "BtoA")
SPLITS = ("train", "val", "test")


class PairedImageDataset(Dataset):
    """Pairs (A, B) of images; ``pairs`` holds (a_path, b_path), with b_path None for a
    side-by-side file whose halves are A and B.

    Items are ``content`` (the source), ``style`` and ``target`` (both the true translation, the
    same tensor) plus ``content_path`` and ``style_path``; ``direction=BtoA`` swaps the roles.
    """

    def __init__(
        self,
        pairs: list[tuple[Path, Path | None]],
        transform: v2.Compose,
        direction: str = "AtoB",
    ) -> None:
        self.pairs = pairs
        self.transform = transform
        self.direction = check_choice("data.direction", direction, DIRECTIONS)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        a_path, b_path, (a, b) = self._decodable_pair(index)
        # One call, one draw of the random crop and flip for both images.
        a, b = (x.as_subclass(torch.Tensor) for x in self.transform(a, b))
        a_name, b_name = str(a_path), str(b_path or a_path)
        if self.direction == "BtoA":
            a, b, a_name, b_name = b, a, b_name, a_name
        return {"content": a, "style": b, "target": b, "content_path": a_name, "style_path": b_name}

    def _decodable_pair(
        self, index: int
    ) -> tuple[Path, Path | None, tuple[Image.Image, Image.Image]]:
        """The pair at ``index``; a pair that fails to decode is skipped for the next."""
        for offset in range(len(self.pairs)):
            a_path, b_path = self.pairs[(index + offset) % len(self.pairs)]
            try:
                return a_path, b_path, self._load_pair(a_path, b_path)
            except UnreadableImageError as error:
                log.warning("skipping unreadable pair %s: %s", a_path.name, error)
        raise DataError(f"none of the {len(self.pairs)} image pairs could be decoded")

    @staticmethod
    def _load_pair(a_path: Path, b_path: Path | None) -> tuple[Image.Image, Image.Image]:
        if b_path is None:
            image = load_rgb(a_path)
            half = image.width // 2
            return image.crop((0, 0, half, image.height)), image.crop(
                (half, 0, image.width, image.height)
            )
        a, b = load_rgb(a_path), load_rgb(b_path)
        if a.size != b.size:
            raise DataError(
                f"paired images differ in size: {a_path} is {a.width}x{a.height}, "
                f"{b_path} is {b.width}x{b.height}; resize one side to match"
            )
        return a, b


def aligned_pairs(a_dir: Path, b_dir: Path, min_size: int | None) -> list[tuple[Path, Path]]:
    """Partners by file name in ``a_dir`` and ``b_dir``; a file on one side only is an error."""
    a_files = {p.name: p for p in scan_image_folder(a_dir, min_size)}
    b_files = {p.name: p for p in scan_image_folder(b_dir, min_size)}
    for here, there, lonely in (
        (a_dir, b_dir, sorted(a_files.keys() - b_files.keys())),
        (b_dir, a_dir, sorted(b_files.keys() - a_files.keys())),
    ):
        if lonely:
            raise DataError(
                f"{len(lonely)} image(s) in {here} have no partner of the same name in {there} "
                f"(first: {', '.join(lonely[:3])}); add the partners or remove these"
            )
    return [(a_files[name], b_files[name]) for name in sorted(a_files)]


def side_by_side_files(folder: Path, min_size: int | None) -> list[tuple[Path, None]]:
    """Images in ``folder`` whose left half is A and right half B; odd widths are an error."""
    files = scan_image_folder(folder)
    for path in files:
        with Image.open(path) as image:
            width, height = image.size
        if width % 2:
            raise DataError(
                f"side-by-side image {path} has odd width {width}; each half (A | B) must be "
                "equally wide"
            )
        if min_size is not None and min(width // 2, height) < min_size:
            raise DataError(
                f"side-by-side image {path} has {width // 2}x{height} halves, smaller than the "
                f"crop size {min_size}; use data.preprocess=resize_crop or a smaller crop_size"
            )
    return [(path, None) for path in files]


class PairedDataModule(ImageFolderDataModule):
    """Paired data from ``root`` in the aligned or the side-by-side layout (see the module).

    ``direction``: AtoB trains A -> B, BtoA the reverse. ``preprocess``/``load_size``/
    ``crop_size``/``flip`` as in :func:`style_gan.data.transforms.image_transform`, applied to
    A and B with the same random parameters.
    """

    layout_help = LAYOUTS
    validation_help = "A/val/ and B/val/, or val/"

    def __init__(
        self,
        root: str | Path,
        direction: str = "AtoB",
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
        super().__init__(
            root,
            preprocess,
            load_size,
            crop_size,
            flip,
            batch_size,
            eval_batch_size,
            num_workers,
            pin_memory,
            validate_on_test,
        )
        self.direction = check_choice("data.direction", direction, DIRECTIONS)

    def layout(self) -> str:
        """``aligned`` or ``side_by_side``, from the folders present under root."""
        if all((self.root / side / "train").is_dir() for side in "AB"):
            return "aligned"
        if (self.root / "train").is_dir():
            return "side_by_side"
        raise DataError(f"data.root {self.root} must hold {LAYOUTS}")

    def _find_splits(self) -> dict[str, PairedImageDataset]:
        layout = self.layout()
        min_size = self.crop_size if self.preprocess == "crop" else None
        datasets = {}
        for split in SPLITS:
            if layout == "aligned":
                a_dir, b_dir = self.root / "A" / split, self.root / "B" / split
                if not (a_dir.is_dir() and b_dir.is_dir()):
                    continue
                pairs: list = aligned_pairs(a_dir, b_dir, min_size)
            else:
                if not (self.root / split).is_dir():
                    continue
                pairs = side_by_side_files(self.root / split, min_size)
            transform = self.train_transform if split == "train" else self.eval_transform
            datasets[split] = PairedImageDataset(pairs, transform, self.direction)
        log.info("paired data in %s (%s layout): %s", self.root, layout, sorted(datasets))
        return datasets
