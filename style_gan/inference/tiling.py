"""Running a generator on an image of any size: padding to the size it needs, and
overlapping tiles for images too large for one pass, normalised as the whole image would be.

Instance norm normalises each channel with its mean and variance over the image. A tile has
other statistics than the whole image, so tiles normalised on their own differ in colour and
contrast and leave seams. Thumbnail Instance Normalization (Chen et al., AAAI 2022) instead
runs the generator once on a downscaled copy of the whole image, records every instance-norm
layer's (μ, σ²), and normalises every tile with those: y = (x - μ_thumb) / √(σ²_thumb + ε).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

Translate = Callable[[torch.Tensor], torch.Tensor]


def pad_to_multiple(image: torch.Tensor, multiple: int, min_side: int = 1) -> torch.Tensor:
    """``image`` (B, C, H, W) padded at the bottom and right to H, W divisible by ``multiple``
    and at least ``min_side``: reflected, or edge-replicated where a side is too short to
    reflect (a 1×1 image, a strip 2 pixels high)."""
    height, width = image.shape[-2:]
    pad_h = padded_length(height, multiple, min_side) - height
    pad_w = padded_length(width, multiple, min_side) - width
    if not pad_h and not pad_w:
        return image
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(image, (0, pad_w, 0, pad_h), mode=mode)


def padded_length(length: int, multiple: int, min_side: int = 1) -> int:
    """The smallest multiple of ``multiple`` that is at least ``length`` and ``min_side``."""
    return -(-max(length, min_side) // multiple) * multiple


def downscale(image: torch.Tensor, max_side: int) -> torch.Tensor:
    """``image`` (B, C, H, W) resized (antialiased) so its longer side is at most ``max_side``."""
    height, width = image.shape[-2:]
    scale = max_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return F.interpolate(image, size=size, mode="bilinear", antialias=True, align_corners=False)


def run_padded(
    translate: Translate, image: torch.Tensor, multiple: int, min_side: int = 1
) -> torch.Tensor:
    """``translate`` on ``image`` padded to ``multiple`` and ``min_side`` (see
    ``pad_to_multiple``), cropped back to the input's size."""
    height, width = image.shape[-2:]
    return translate(pad_to_multiple(image, multiple, min_side))[..., :height, :width]


# Every instance norm's (μ, σ²) of one pass, in the order the layers were called.
Statistics = list[tuple[torch.Tensor, torch.Tensor]]


class NormStatistics:
    """Switches a module's instance norms between recording the statistics they compute
    (``record``) and normalising with given ones (``replay``), made by ``norm_statistics``."""

    def __init__(self) -> None:
        self.recorded: Statistics = []
        self.replayed: Statistics | None = None
        self.calls = 0

    def record(self) -> Statistics:
        """From now on each norm computes its own (μ, σ²) and appends it to the returned list."""
        self.recorded, self.replayed = [], None
        return self.recorded

    def replay(self, statistics: Statistics) -> None:
        """From now on the norms normalise with ``statistics``, taken in call order; each
        ``replay`` starts again at the first."""
        self.replayed, self.calls = statistics, 0

    def normalise(self, norm: nn.InstanceNorm2d, x: torch.Tensor) -> torch.Tensor:
        if self.replayed is None:
            mean = x.mean(dim=(2, 3), keepdim=True)
            var = x.var(dim=(2, 3), unbiased=False, keepdim=True)
            self.recorded.append((mean, var))
        else:
            mean, var = self.replayed[self.calls]
            self.calls += 1
        y = (x - mean) * torch.rsqrt(var + norm.eps)
        if norm.affine:
            y = y * norm.weight[:, None, None] + norm.bias[:, None, None]
        return y


@contextmanager
def norm_statistics(module: nn.Module) -> Iterator[NormStatistics]:
    """While active, every ``nn.InstanceNorm2d`` in ``module`` records or replays its
    statistics as the yielded ``NormStatistics`` says (recording at first); the layers are
    restored after."""
    norms = [m for m in module.modules() if isinstance(m, nn.InstanceNorm2d)]
    control = NormStatistics()
    for norm in norms:
        norm.forward = lambda x, norm=norm: control.normalise(norm, x)
    try:
        yield control
    finally:
        for norm in norms:
            del norm.forward


def has_instance_norm(module: nn.Module) -> bool:
    """Whether ``module``'s output depends on per-image statistics at all."""
    return any(isinstance(m, nn.InstanceNorm2d) for m in module.modules())


def pooled_statistics(samples: list[Statistics]) -> Statistics:
    """The statistics of all the samples' pixels together: for each layer, with n equal-sized
    samples, μ = mean_i μ_i and σ² = mean_i (σ²_i + μ_i²) − μ² (the law of total variance)."""
    pooled: Statistics = []
    for layer in zip(*samples, strict=True):
        means = torch.stack([mean for mean, _ in layer])
        squares = torch.stack([var + mean**2 for mean, var in layer])
        mean = means.mean(dim=0)
        pooled.append((mean, (squares.mean(dim=0) - mean**2).clamp_min(0)))
    return pooled


def _tile_starts(length: int, tile: int, stride: int) -> list[int]:
    """Tile origins along one side: every ``stride``, the last one flush with the end."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, stride))
    return [*starts, length - tile]


def _blend_window(
    height: int, width: int, overlap: int, inner: tuple[bool, bool, bool, bool]
) -> torch.Tensor:
    """A (1, 1, H, W) weight for a tile whose (top, left, bottom, right) edges are ``inner``
    (another tile overlaps there). Along an inner edge the outer quarter of the overlap gets
    almost no weight (its pixels saw a padded border, not the image beyond) and the next half
    ramps up linearly, so overlapping tiles cross-fade between their trustworthy parts; along
    the image's own border the weight is 1."""
    margin, ramp_width = overlap / 4, max(1.0, overlap / 2)

    def ramp(length: int, start_inner: bool, end_inner: bool) -> torch.Tensor:
        position = torch.arange(length, dtype=torch.float32)
        weight = torch.ones(length)
        if start_inner:
            weight = torch.minimum(weight, ((position + 1 - margin) / ramp_width).clamp(1e-3, 1))
        if end_inner:
            weight = torch.minimum(
                weight, ((length - position - margin) / ramp_width).clamp(1e-3, 1)
            )
        return weight

    top, left, bottom, right = inner
    return (ramp(height, top, bottom)[:, None] * ramp(width, left, right)[None, :])[None, None]


def run_tiled(
    translate: Translate,
    image: torch.Tensor,
    module: nn.Module,
    multiple: int,
    tile_size: int,
    overlap: int,
    thumbnail_side: int,
    tiles_per_pass: int = 1,
    min_side: int = 1,
    statistics: Statistics | None = None,
) -> torch.Tensor:
    """``translate`` on ``image`` (1, C, H, W) in overlapping ``tile_size`` tiles, blended, with
    ``module``'s instance norms fed the statistics of the whole image (from a copy downscaled
    to ``thumbnail_side``). Memory is bounded by the tile, not the image. The image, its
    thumbnail and so every tile are padded to at least ``min_side``, the smallest side
    ``translate`` takes."""
    if image.shape[0] != 1:
        raise ValueError(f"run_tiled takes one image at a time, got a batch of {image.shape[0]}")
    height, width = image.shape[-2:]
    tile = max(padded_length(min_side, multiple), tile_size // multiple * multiple)
    overlap = min(overlap, tile // 2)
    padded = pad_to_multiple(image, multiple, min_side)
    thumbnail = downscale(image, thumbnail_side)
    stride = max(multiple, (tile - overlap) // multiple * multiple)
    boxes = [
        (top, left, min(tile, padded.shape[-2]), min(tile, padded.shape[-1]))
        for top in _tile_starts(padded.shape[-2], tile, stride)
        for left in _tile_starts(padded.shape[-1], tile, stride)
    ]
    output = torch.zeros(1, 3, *padded.shape[-2:], device=image.device)
    weight = torch.zeros(1, 1, *padded.shape[-2:], device=image.device)
    with norm_statistics(module) as norms:
        if statistics is None:
            statistics = norms.record()
            run_padded(translate, thumbnail, multiple, min_side)
        for first in range(0, len(boxes), tiles_per_pass):
            group = boxes[first : first + tiles_per_pass]
            batch = torch.cat([padded[..., y : y + h, x : x + w] for y, x, h, w in group])
            norms.replay(statistics)
            results = translate(batch).float()
            for (top, left, h, w), result in zip(group, results, strict=True):
                inner = (top > 0, left > 0, top + h < padded.shape[-2], left + w < padded.shape[-1])
                window = _blend_window(h, w, overlap, inner).to(image.device)
                output[..., top : top + h, left : left + w] += result[None] * window
                weight[..., top : top + h, left : left + w] += window
    return (output / weight)[..., :height, :width]


def tiles_needed(height: int, width: int, tile_size: int) -> bool:
    """Whether an image is larger than one pass of ``tile_size`` × ``tile_size`` pixels."""
    return height * width > tile_size * tile_size
