"""Differentiable augmentation for small datasets (DiffAugment, Zhao et al. 2020).

Every image the discriminator sees, real or fake, goes through the same policy; each op is
differentiable, so G's gradient flows back through it and D cannot learn the augmentation
away. Random parameters are drawn per sample. Images are in [-1, 1] with channels in groups
of 3 (RGB), so a conditional discriminator's channel-concatenated pair (6 channels) gets one
colour change and one shift for the whole pair, keeping x and y aligned.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from style_gan.errors import ConfigError

POLICIES = ("color", "translation", "cutout")


def _per_sample(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """U[low, high) per sample, shaped to broadcast over (B, groups, 3, H, W)."""
    return torch.empty(x.shape[0], 1, 1, 1, 1, device=x.device, dtype=x.dtype).uniform_(low, high)


def color(x: torch.Tensor) -> torch.Tensor:
    """Brightness + U[-0.5, 0.5), saturation × U[0, 2), contrast × U[0.5, 1.5), per sample."""
    groups = x.unflatten(1, (-1, 3))
    groups = groups + _per_sample(groups, -0.5, 0.5)
    channel_mean = groups.mean(dim=2, keepdim=True)
    groups = (groups - channel_mean) * _per_sample(groups, 0.0, 2.0) + channel_mean
    image_mean = groups.mean(dim=(2, 3, 4), keepdim=True)
    groups = (groups - image_mean) * _per_sample(groups, 0.5, 1.5) + image_mean
    return groups.flatten(1, 2)


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift by a whole number of pixels up to ``ratio`` of each side, zero-filled."""
    batch, _, height, width = x.shape
    max_shift = torch.tensor([width, height], device=x.device) * ratio
    shifts = torch.round((torch.rand(batch, 2, device=x.device) * 2 - 1) * max_shift)
    # An affine grid's unit is half the image: a shift of s pixels is 2s / size.
    theta = torch.zeros(batch, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 2] = -2 * shifts[:, 0] / width
    theta[:, 1, 2] = -2 * shifts[:, 1] / height
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of ``ratio`` × each side per sample; its centre can be anywhere in the
    image, so near a border part of the square falls outside."""
    batch, _, height, width = x.shape
    size_y, size_x = max(int(height * ratio), 1), max(int(width * ratio), 1)
    top = torch.randint(-(size_y // 2), height - size_y // 2, (batch, 1, 1), device=x.device)
    left = torch.randint(-(size_x // 2), width - size_x // 2, (batch, 1, 1), device=x.device)
    rows = torch.arange(height, device=x.device).view(1, -1, 1) - top
    cols = torch.arange(width, device=x.device).view(1, 1, -1) - left
    inside = (rows >= 0) & (rows < size_y) & (cols >= 0) & (cols < size_x)
    return x * (~inside).unsqueeze(1).to(x.dtype)


OPS = {"color": color, "translation": translation, "cutout": cutout}


class DiffAugment(nn.Module):
    """The ops named in ``policy``, applied in the order given: a subset of color,
    translation, cutout, as a list or a comma-separated string; an empty policy is the
    identity."""

    def __init__(self, policy: str | Sequence[str] = POLICIES) -> None:
        super().__init__()
        names = policy.split(",") if isinstance(policy, str) else policy
        self.policy = [str(name).strip() for name in names if str(name).strip()]
        unknown = [name for name in self.policy if name not in OPS]
        if unknown:
            raise ConfigError(
                f"diff_augment policy has unknown op(s) {', '.join(unknown)}; "
                f"use a subset of [{', '.join(POLICIES)}]"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] % 3:
            raise ValueError(f"DiffAugment expects (B, 3k, H, W) images, got {tuple(x.shape)}")
        for name in self.policy:
            x = OPS[name](x)
        return x
