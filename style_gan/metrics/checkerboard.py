"""Checkerboard artifacts, measured: the share of an image's power at the spatial frequencies a
generator's stride-2 upsampling stages leave a periodic pattern at.

Two stride-2 stages repeat their uneven kernel overlap with periods 2 and 4 pixels, so their
artifacts sit exactly on the DFT bins (k·H/4, l·W/4), k, l ∈ {0..3}, not both 0. A natural
image spreads its power over all H·W bins and puts little there (white noise: 15/(H·W - 1)).
"""

from __future__ import annotations

import torch
from torchmetrics import Metric

PERIOD = 4


def periodic_power_share(images: torch.Tensor, period: int = PERIOD) -> torch.Tensor:
    """Per image of (B, C, H, W), the fraction of its non-constant power (summed over channels)
    on the bins of frequencies that are multiples of 1/``period`` cycles per pixel. H and W
    must be multiples of ``period``; a constant image has no such power and scores 0."""
    height, width = images.shape[-2:]
    if height % period or width % period:
        raise ValueError(
            f"periodic_power_share needs H and W divisible by {period}, got {height}x{width}"
        )
    power = torch.fft.fft2(images.double()).abs().square().sum(dim=-3)
    constant = power[..., 0, 0]
    periodic = power[..., :: height // period, :: width // period].sum(dim=(-2, -1)) - constant
    varying = power.sum(dim=(-2, -1)) - constant
    # Below 1e-12 (pixel values of order 1 give H·W·variance) there is only rounding left.
    return torch.where(varying > 1e-12, periodic / varying.clamp_min(1e-12), 0.0).float()


class CheckerboardShare(Metric):
    """Mean ``periodic_power_share`` of the translations (lower is better). The content
    images' own share is the level of a translation without artifacts (the demo's test photos:
    0.084 %, experiments/upsampling.md).

    A content metric of the suite: ``update(content, translated)``, images in [0, 1].
    """

    higher_is_better = False
    full_state_update = False

    def __init__(self, period: int = PERIOD, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.period = period
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, content: torch.Tensor, translated: torch.Tensor) -> None:
        self.total += periodic_power_share(translated, self.period).sum().double()
        self.count += translated.shape[0]

    def compute(self) -> torch.Tensor:
        return self.total / self.count
