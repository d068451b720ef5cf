"""PatchGAN discriminator (Isola et al. 2017): one real/fake logit per overlapping patch."""

from __future__ import annotations

import torch
from torch import nn

from style_gan.nets.layers import conv_bias, norm_layer, with_spectral_norm


class PatchDiscriminator(nn.Module):
    """``n_layers`` stride-2 4x4 convs, one stride-1 conv, then a 1-channel logit map.

    n_layers=3 (the default "basic" D, 2.765 M params at base_channels=64) sees 70x70 patches;
    each extra layer roughly doubles the receptive field. Outputs raw logits (B, 1, h, w): the
    adversarial loss decides how to squash them. ``spectral_norm`` normalises every conv
    (usually with ``norm=none``; with ``wgangp`` avoid ``batch``, which couples the samples
    the gradient penalty treats one by one).
    """

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 64,
        n_layers: int = 3,
        norm: str = "instance",
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        bias = conv_bias(norm)
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, base_channels, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
        ]
        channels = base_channels
        for layer in range(1, n_layers + 1):
            next_channels = base_channels * min(2**layer, 8)
            stride = 2 if layer < n_layers else 1
            layers += [
                nn.Conv2d(channels, next_channels, 4, stride=stride, padding=1, bias=bias),
                norm_layer(norm, next_channels),
                nn.LeakyReLU(0.2, True),
            ]
            channels = next_channels
        layers.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)
        if spectral_norm:
            with_spectral_norm(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"PatchDiscriminator expects (B, C, H, W), got {tuple(x.shape)}")
        return self.model(x)
