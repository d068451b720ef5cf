"""Content × style data for exemplar-guided style transfer: every content image comes with a style
exemplar drawn independently of it, in the CycleGAN folder layout (``trainA`` = content photos,
``trainB`` = style images, optionally ``testA``/``testB`` and ``valA``/``valB``)."""

from __future__ import annotations

from pathlib import Path

from style_gan.data.datamodule import UnpairedDataModule
from style_gan.data.unpaired import UnpairedImageDataset


class ContentStyleDataset(UnpairedImageDataset):
    """One item per content image, with a style exemplar drawn independently of it: at random
    in training; in evaluation the next style image in sorted order, which, for folders paired
    by file name, is never the content's own stylisation (that one is ``target``)."""

    def __len__(self) -> int:
        return len(self.content_files)


class ContentStyleDataModule(UnpairedDataModule):
    """Content photos and style exemplars from ``root/{train,val,test}{A,B}``; the loaders and
    transforms of :class:`UnpairedDataModule`, items of :class:`ContentStyleDataset`."""

    def _dataset(self, content_dir: Path, style_dir: Path, train: bool) -> ContentStyleDataset:
        dataset = super()._dataset(content_dir, style_dir, train)
        return ContentStyleDataset(
            dataset.content_files,
            dataset.style_files,
            dataset.transform,
            dataset.random_pairs,
            dataset.decode_side,
        )
