"""Mode collapse, measured: how much the translations of different inputs differ from each
other, relative to how much the inputs themselves differ.

A collapsed generator returns (nearly) the same image whatever the input, so the mean L1
distance between its outputs for different inputs falls towards 0 while that of the inputs
stays; a translation that keeps the content keeps the ratio near the style's own (the demo's
ink prints of its test photos: 0.76, measured in ``benchmarks/methods_vs_identity.py``).
"""

from __future__ import annotations

import torch
from torchmetrics import Metric


def pairwise_distance_sum(images: torch.Tensor) -> tuple[torch.Tensor, int]:
    """The sum over all unordered pairs (i < j) of a (B, C, H, W) batch of the mean absolute
    pixel difference of image i and image j, and the number of pairs B·(B - 1)/2."""
    flat = images.flatten(1).double()
    distances = torch.cdist(flat, flat, p=1) / flat.shape[1]
    count = images.shape[0]
    return distances.triu(diagonal=1).sum(), count * (count - 1) // 2


def diversity_ratio(translated: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean pairwise L1 distance of the ``translated`` images over that of their
    ``reference`` images (the same batch's inputs or true answers); 0 for a collapsed
    generator, 1 when the outputs differ as much as the references do."""
    translated_sum, pairs = pairwise_distance_sum(translated)
    if pairs == 0:
        raise ValueError("diversity_ratio needs a batch of at least two images")
    reference_sum, _ = pairwise_distance_sum(reference)
    return (translated_sum / reference_sum.clamp_min(1e-12)).item()


class OutputDiversity(Metric):
    """Mean pairwise L1 distance between the translations of one validation batch, over that
    of their content images, pooled over the batches (pairs are taken within a batch). Near 0
    flags mode collapse; far above 1 is noise, not content. Higher is better up to the style's
    own ratio, so ``<name>_best`` is only a collapse alarm's high-water mark.

    A content metric of the suite: ``update(content, translated)``, images in [0, 1].
    """

    higher_is_better = True
    full_state_update = False

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        zero = torch.tensor(0.0, dtype=torch.float64)
        self.add_state("translated_total", zero.clone(), dist_reduce_fx="sum")
        self.add_state("content_total", zero.clone(), dist_reduce_fx="sum")

    def update(self, content: torch.Tensor, translated: torch.Tensor) -> None:
        self.translated_total += pairwise_distance_sum(translated)[0]
        self.content_total += pairwise_distance_sum(content)[0]

    def compute(self) -> torch.Tensor:
        return (self.translated_total / self.content_total.clamp_min(1e-12)).float()
