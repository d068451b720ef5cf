"""The one place that converts between image value ranges.

Generators work in [-1, 1] (tanh); files, FID and KID use uint8 [0, 255]; other metrics,
feature networks and image writers take float [0, 1].
"""

from __future__ import annotations

import torch


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] or generator-range float [-1, 1] -> float32 [0, 1] (clamped)."""
    if images.dtype == torch.uint8:
        return images.float() / 255
    return ((images.float() + 1) / 2).clamp(0, 1)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Generator-range float [-1, 1] (or uint8, unchanged) -> uint8 [0, 255], rounded."""
    if images.dtype == torch.uint8:
        return images
    return unit_to_uint8(to_unit_range(images))


def unit_to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float [0, 1] -> uint8 [0, 255], rounded (clamped)."""
    return (images.float().clamp(0, 1) * 255).round().to(torch.uint8)
