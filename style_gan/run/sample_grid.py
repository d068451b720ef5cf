"""The picture a run leaves: a grid of labelled columns (content | result | reconstruction |
style for CycleGAN), one row per example, tiles enlarged to a size a person can look at."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from torchvision.utils import make_grid

from style_gan.ranges import to_unit_range

# What the methods' sample_images keys are called in the picture.
LABELS = {"translated": "result", "stylised": "result", "reconstructed": "reconstruction"}
PADDING = 2


def column_label(name: str) -> str:
    """The header of the column of ``sample_images``' entry ``name``."""
    return LABELS.get(name, name.replace("_", " "))


def make_sample_grid(images: dict[str, torch.Tensor], min_tile: int = 192) -> torch.Tensor:
    """(3, H', W') grid in [0, 1] of named (N, 3, H, W) images in [-1, 1]: a header of column
    labels, then one row per example (as many as the shortest entry has), each entry a column.
    Tiles are enlarged by a whole factor to at least ``min_tile`` px on their longer side, by
    nearest neighbour, so each generated pixel shows as it is (a checkerboard stays visible)."""
    rows = min(len(tiles) for tiles in images.values())
    tiles = torch.stack([to_unit_range(v[:rows]).float().cpu() for v in images.values()], 1)
    tiles = tiles.flatten(0, 1).clamp(0, 1)
    scale = max(1, math.ceil(min_tile / max(tiles.shape[-2:])))
    if scale > 1:
        tiles = F.interpolate(tiles, scale_factor=scale, mode="nearest")
    body = make_grid(tiles, nrow=len(images), padding=PADDING, pad_value=1.0)
    header = label_strip([column_label(name) for name in images], tiles.shape[-1], body.shape[-1])
    return torch.cat([header, body], dim=1)


def label_strip(labels: list[str], tile_width: int, width: int) -> torch.Tensor:
    """(3, h, width) white strip with each label centred over its column of ``make_grid``."""
    size = min(max(tile_width // 12, 10), 28)
    font = ImageFont.load_default(size=size)
    strip = Image.new("RGB", (width, math.ceil(size * 1.6)), "white")
    draw = ImageDraw.Draw(strip)
    for index, label in enumerate(labels):
        centre = PADDING + index * (tile_width + PADDING) + tile_width / 2
        draw.text((centre, strip.height / 2), label, fill="black", font=font, anchor="mm")
    return torch.from_numpy(np.asarray(strip).copy()).permute(2, 0, 1).float() / 255
