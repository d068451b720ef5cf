"""Unpaired content/style dataset: two image folders sampled independently."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset

from style_gan.data.images import load_rgb
from style_gan.errors import DataError, UnreadableImageError

log = logging.getLogger(__name__)


class UnpairedImageDataset(Dataset):
    """Content images from one folder with style-domain images from another.

    Training draws the style image at random (torch's RNG, so a run is deterministic per seed
    once Lightning seeds the workers); evaluation pairs them in sorted order. One epoch covers
    the larger folder. Items are ``{"content", "style"}`` tensors plus their ``*_path``
    strings. When evaluation folders hold the same file names (a known content -> style
    mapping, as in the demo's test split), ``paired`` is set: item i then carries style i as
    ``target`` and style i + 1 (mod n) as ``style``, so no method (an exemplar-guided one
    above all) is ever handed the true answer as its style image.
    """

    def __init__(
        self,
        content_files: list[Path],
        style_files: list[Path],
        transform: Callable[[Image.Image], torch.Tensor],
        random_pairs: bool,
        decode_side: int | None = None,
    ) -> None:
        self.content_files = content_files
        self.style_files = style_files
        self.transform = transform
        self.random_pairs = random_pairs
        # The shorter side the transform needs: larger images are read reduced to about it.
        self.decode_side = decode_side
        self.paired = not random_pairs and [p.name for p in content_files] == [
            p.name for p in style_files
        ]

    def __len__(self) -> int:
        return max(len(self.content_files), len(self.style_files))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        if self.random_pairs:
            style_index = int(torch.randint(len(self.style_files), ()).item())
        else:
            style_index = (index + self.paired) % len(self.style_files)
        content, content_path = self._load(self.content_files, index % len(self.content_files))
        style, style_path = self._load(self.style_files, style_index)
        item = {
            "content": content,
            "style": style,
            "content_path": str(content_path),
            "style_path": str(style_path),
        }
        if self.paired:
            item["target"], _ = self._load(self.style_files, index)
        return item

    def _load(self, files: list[Path], index: int) -> tuple[torch.Tensor, Path]:
        """Transformed image at ``index``; an image that fails to decode is skipped for the next."""
        for offset in range(len(files)):
            path = files[(index + offset) % len(files)]
            try:
                return self.transform(load_rgb(path, self.decode_side)), path
            except UnreadableImageError as error:
                log.warning("skipping unreadable image: %s", error)
        raise DataError(f"none of the {len(files)} images in {files[0].parent} could be decoded")
