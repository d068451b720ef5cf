"""The built-in demo dataset: real photos and a known "ink print" style, generated offline.

Content (domain A) is crops of the photos that ship inside scikit-image. The style domain
(domain B) is :func:`ink_print` applied to other crops: a gradient map of luminance onto a
four-colour print palette with dark ink along edges, a visible and purely local style change.
Because the mapping is known, ``testA/x.png`` and ``testB/x.png`` hold the same crop before and
after it, so a method can be scored against the true answer (not only by distribution).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

from style_gan.data.datamodule import UnpairedDataModule
from style_gan.data.unpaired import UnpairedImageDataset
from style_gan.errors import DataError
from style_gan.ranges import to_unit_range

log = logging.getLogger(__name__)

# Held-out photos make testA/testB a test of generalisation, not of memorised crops.
TRAIN_PHOTOS = (
    "astronaut",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "camera",
    "moon",
    "clock",
    "colorwheel",
)
TEST_PHOTOS = ("chelsea", "coffee", "coins")

# Print palette from shadow to highlight: indigo, teal, ochre, cream (RGB in [0, 1]).
PALETTE = torch.tensor(
    [[0.10, 0.12, 0.30], [0.12, 0.45, 0.50], [0.86, 0.64, 0.28], [0.98, 0.94, 0.82]]
)
INK_STRENGTH = 0.85
# Edge magnitude at which the ink is half dark; Sobel magnitudes of photos lie mostly in [0, 2].
INK_HALF_POINT = 0.5


def ink_print(image: torch.Tensor) -> torch.Tensor:
    """The demo style: (B, 3, H, W) RGB in [0, 1] -> the same image as an ink print in [0, 1]."""
    if image.ndim != 4 or image.shape[1] != 3:
        raise ValueError(f"ink_print expects (B, 3, H, W), got {tuple(image.shape)}")
    # Rec. 601 luminance Y = 0.299 R + 0.587 G + 0.114 B.
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=image.dtype).view(1, 3, 1, 1)
    luminance = (image * weights).sum(1, keepdim=True)
    # Gradient map: Y in [0, 1] is split into len(PALETTE) - 1 equal segments, each a linear
    # blend between two neighbouring palette colours.
    segments = len(PALETTE) - 1
    position = luminance.clamp(0, 1) * segments
    lower = position.floor().clamp(max=segments - 1).long()
    fraction = position - lower
    palette = PALETTE.to(image.dtype)
    low_colour = palette[lower.squeeze(1)].permute(0, 3, 1, 2)
    high_colour = palette[(lower + 1).squeeze(1)].permute(0, 3, 1, 2)
    mapped = low_colour + fraction * (high_colour - low_colour)
    # Ink: Sobel gradient magnitude |∇Y| of the luminance through a smooth step
    # m² / (m² + h²), which is 1/2 at m = h and saturates towards 1 on strong edges.
    sobel_x = torch.tensor(
        [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=image.dtype
    )
    kernels = torch.stack([sobel_x, sobel_x.T]).unsqueeze(1)
    gradients = F.conv2d(F.pad(luminance, (1, 1, 1, 1), mode="replicate"), kernels)
    magnitude_sq = gradients.pow(2).sum(1, keepdim=True)
    ink = magnitude_sq / (magnitude_sq + INK_HALF_POINT**2)
    return mapped * (1 - INK_STRENGTH * ink)


def sample_photo(name: str) -> np.ndarray:
    """A scikit-image sample photo as (H, W, 3) uint8."""
    import skimage.data  # only generation needs it, and it is slow to import

    image = np.asarray(getattr(skimage.data, name)())
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return image[..., :3].astype(np.uint8)


def _random_crops(
    photos: list[np.ndarray], count: int, size: int, rng: np.random.Generator
) -> torch.Tensor:
    """``count`` square crops of 1.5-4x ``size`` from random photos, scaled to ``size``, in
    [0, 1] on the uint8 grid."""
    crops = []
    for _ in range(count):
        photo = photos[rng.integers(len(photos))]
        height, width = photo.shape[:2]
        side = int(rng.integers(int(1.5 * size), min(4 * size, height, width) + 1))
        top, left = rng.integers(height - side + 1), rng.integers(width - side + 1)
        crop = torch.from_numpy(photo[top : top + side, left : left + side]).permute(2, 0, 1)
        crop = F.interpolate(crop[None].float() / 255, size=(size, size), mode="area")
        crops.append(crop[0])
    # Quantise to what a PNG stores, so testB is exactly ink_print of the testA file's pixels.
    return (torch.stack(crops) * 255).round() / 255


def _save(images: torch.Tensor, folder: Path, prefix: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pixels = (images.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()
    for index, pixel_array in enumerate(pixels):
        Image.fromarray(pixel_array).save(folder / f"{prefix}_{index:04d}.png")


def make_demo_dataset(
    root: Path, image_size: int = 64, num_train: int = 256, num_test: int = 48, seed: int = 0
) -> None:
    """Write the demo dataset in the CycleGAN layout to ``root`` (atomically, via a rename; safe
    when several processes write it at once).

    trainA and trainB are crops from different draws (unpaired); testA/testB are the same
    held-out crops before and after :func:`ink_print`, paired by file name.
    """
    rng = np.random.default_rng(seed)
    train_photos = [sample_photo(name) for name in TRAIN_PHOTOS]
    test_photos = [sample_photo(name) for name in TEST_PHOTOS]
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        _save(_random_crops(train_photos, num_train, image_size, rng), staging / "trainA", "photo")
        style_sources = _random_crops(train_photos, num_train, image_size, rng)
        _save(ink_print(style_sources), staging / "trainB", "print")
        test_content = _random_crops(test_photos, num_test, image_size, rng)
        _save(test_content, staging / "testA", "test")
        _save(ink_print(test_content), staging / "testB", "test")
        info = {
            "image_size": image_size,
            "num_train": num_train,
            "num_test": num_test,
            "seed": seed,
            "style": "ink_print",
            "paired_test": True,
        }
        (staging / "demo.json").write_text(json.dumps(info, indent=2))
        try:
            os.replace(staging, root)
        except OSError:
            # Another process (a parallel sweep job, a DDP rank) renamed the same seeded
            # dataset into place first; theirs is identical, so ours is dropped.
            if not (root / "demo.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class InkTargets(Dataset):
    """Training items of ``dataset`` plus ``target``: the exact ink print of their content.

    :func:`ink_print` is local (a 3x3 Sobel), so it commutes with the crop and flip the content
    went through: the target is the same ground truth testB holds for testA. Paired methods
    (pix2pix) train on it; unpaired ones ignore it.
    """

    def __init__(self, dataset: UnpairedImageDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        item = self.dataset[index]
        # ink_print works in [0, 1]; back to [-1, 1] as x · 2 - 1.
        item["target"] = ink_print(to_unit_range(item["content"].unsqueeze(0)))[0] * 2 - 1
        return item


class DemoDataModule(UnpairedDataModule):
    """The demo dataset, generated into ``root`` on first use; no download needed.

    Training items also carry ``target``, the ink print of their content (see
    :class:`InkTargets`); evaluation items carry testB as ``target``.
    """

    def __init__(
        self,
        root: str | Path,
        image_size: int = 64,
        flip: bool = True,
        batch_size: int = 4,
        eval_batch_size: int = 8,
        num_workers: int = 0,
        pin_memory: bool = False,
        validate_on_test: bool = True,
    ) -> None:
        super().__init__(
            root,
            preprocess="resize",
            load_size=image_size,
            crop_size=image_size,
            flip=flip,
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            num_workers=num_workers,
            pin_memory=pin_memory,
            validate_on_test=validate_on_test,
        )
        self.image_size = image_size

    def prepare_data(self) -> None:
        if (self.root / "demo.json").is_file():
            return
        if self.root.exists():
            raise DataError(
                f"{self.root} exists but holds no demo dataset (no demo.json); "
                "move it away or set data.root to another folder"
            )
        log.info("generating the demo dataset in %s", self.root)
        make_demo_dataset(self.root, self.image_size)

    def _dataset(
        self, content_dir: Path, style_dir: Path, train: bool
    ) -> UnpairedImageDataset | InkTargets:
        dataset = super()._dataset(content_dir, style_dir, train)
        return InkTargets(dataset) if train else dataset
