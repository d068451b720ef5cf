"""Image transforms: resize, random crop, flip, and the [-1, 1] range the generators use."""

from __future__ import annotations

import torch
from torchvision.transforms import v2

from style_gan.errors import ConfigError, check_choice

PREPROCESS_MODES = ("resize_crop", "resize", "crop")


def image_transform(
    preprocess: str, load_size: int, crop_size: int, flip: bool, train: bool
) -> v2.Compose:
    """Map a PIL RGB image to a float tensor (3, crop_size, crop_size) in [-1, 1].

    preprocess: ``resize_crop`` resizes the shorter side to ``load_size`` then crops
    ``crop_size`` (random when training, centre otherwise); ``resize`` scales straight to
    ``crop_size`` square; ``crop`` crops at the native resolution.
    """
    check_choice("data.preprocess", preprocess, PREPROCESS_MODES)
    if preprocess == "resize_crop" and crop_size > load_size:
        raise ConfigError(
            f"data.crop_size={crop_size} is larger than data.load_size={load_size}; "
            "lower crop_size or raise load_size"
        )
    crop = v2.RandomCrop(crop_size) if train else v2.CenterCrop(crop_size)
    steps: list[v2.Transform]
    if preprocess == "resize_crop":
        steps = [v2.Resize(load_size if train else crop_size, antialias=True), crop]
    elif preprocess == "resize":
        steps = [v2.Resize((crop_size, crop_size), antialias=True)]
    else:
        steps = [crop]
    if train and flip:
        steps.append(v2.RandomHorizontalFlip())
    # x ∈ [0, 1] -> (x - 0.5) / 0.5 ∈ [-1, 1], matching the generators' tanh output.
    steps += [
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize([0.5] * 3, [0.5] * 3),
    ]
    return v2.Compose(steps)
