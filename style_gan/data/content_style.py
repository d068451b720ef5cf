"""Content × style data for exemplar-guided style transfer: every content image comes with a style
exemplar drawn independently of it, in the CycleGAN folder layout (``trainA`` = content photos,
``trainB`` = style images, optionally ``testA``/``testB`` and ``valA``/``valB``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image

from style_gan.data.datamodule import UnpairedDataModule
from style_gan.data.unpaired import UnpairedImageDataset


class ContentStyleDataset(UnpairedImageDataset):
    """One item per content image, with a style exemplar.

    Training draws the exemplar at random (torch's RNG). Evaluation pairs content i with style
    (i + 1) mod n in sorted order: never the content's own stylisation when the folders are
    paired by file name, so a score measures transfer from *another* exemplar. In that paired
    case items also carry ``target`` = style i, the true stylisation of content i.
    """

    def __init__(
        self,
        content_files: list[Path],
        style_files: list[Path],
        transform: Callable[[Image.Image], torch.Tensor],
        random_pairs: bool,
    ) -> None:
        super().__init__(content_files, style_files, transform, random_pairs)

    def __len__(self) -> int:
        return len(self.content_files)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        count = len(self.style_files)
        if self.random_pairs:
            style_index = int(torch.randint(count, ()).item())
        else:
            style_index = (index + 1) % count
        content, content_path = self._load(self.content_files, index)
        style, style_path = self._load(self.style_files, style_index)
        item: dict[str, torch.Tensor | str] = {
            "content": content,
            "style": style,
            "content_path": str(content_path),
            "style_path": str(style_path),
        }
        if self.paired:
            item["target"], _ = self._load(self.style_files, index)
        return item


class ContentStyleDataModule(UnpairedDataModule):
    """Content photos and style exemplars from ``root/{train,val,test}{A,B}``; the loaders and
    transforms of :class:`UnpairedDataModule`, items of :class:`ContentStyleDataset`."""

    def _dataset(self, content_dir: Path, style_dir: Path, train: bool) -> ContentStyleDataset:
        dataset = super()._dataset(content_dir, style_dir, train)
        return ContentStyleDataset(
            dataset.content_files, dataset.style_files, dataset.transform, dataset.random_pairs
        )
