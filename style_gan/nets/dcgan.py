"""DCGAN networks (Radford et al. 2016): noise z -> image, and an all-convolutional critic.

Generator: z (B, latent_dim, 1, 1) -> a 4x4 transposed conv to 4x4 maps, then one stride-2
transposed conv per doubling up to ``image_size``; batch norm + ReLU after every layer but the
last, tanh at the end. Discriminator: the mirror image, stride-2 convs with LeakyReLU(0.2),
batch norm on every layer but the first, then a 4x4 valid conv to one logit per image. No
pooling and no fully connected hidden layers, as the paper's guidelines ask.
"""

from __future__ import annotations

import torch
from torch import nn

from style_gan.nets.layers import conv_bias, norm_layer, with_spectral_norm

MIN_IMAGE_SIZE = 16


def upsampling_stages(image_size: int) -> int:
    """Number of stride-2 layers between the 4x4 maps and an ``image_size`` image (64 -> 4).

    Raises ValueError unless ``image_size`` is a power of two >= 16."""
    if image_size < MIN_IMAGE_SIZE or image_size & (image_size - 1):
        raise ValueError(
            f"DCGAN image_size={image_size} must be a power of two >= {MIN_IMAGE_SIZE} "
            "(16, 32, 64, 128, ...); set model.generator.image_size (and the data's image or "
            "crop size) to one, e.g. 64"
        )
    return image_size.bit_length() - 3  # log2(image_size) - log2(4)


class DCGANGenerator(nn.Module):
    """z -> (B, out_channels, image_size, image_size) in [-1, 1].

    Channels halve at each doubling and end at ``base_channels`` before the RGB layer, so the
    4x4 maps have base_channels·2^(stages-1) channels (512 at 64 px with base_channels=64:
    3.576 M parameters, the paper's 64x64 generator). ``norm``: batch (the paper) | instance |
    none.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        image_size: int = 64,
        out_channels: int = 3,
        base_channels: int = 64,
        norm: str = "batch",
    ) -> None:
        super().__init__()
        stages = upsampling_stages(image_size)
        self.latent_dim = latent_dim
        self.image_size = image_size
        bias = conv_bias(norm)
        channels = base_channels * 2 ** (stages - 1)
        # Project z to 4x4 maps: a 4x4 transposed conv on a 1x1 input is a linear layer.
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, channels, 4, stride=1, padding=0, bias=bias),
            norm_layer(norm, channels),
            nn.ReLU(True),
        ]
        for _ in range(stages - 1):
            layers += [
                nn.ConvTranspose2d(channels, channels // 2, 4, stride=2, padding=1, bias=bias),
                norm_layer(norm, channels // 2),
                nn.ReLU(True),
            ]
            channels //= 2
        layers += [nn.ConvTranspose2d(channels, out_channels, 4, stride=2, padding=1), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim == 2:
            z = z[:, :, None, None]
        if z.ndim != 4 or z.shape[1:] != (self.latent_dim, 1, 1):
            raise ValueError(
                f"DCGANGenerator expects noise (B, {self.latent_dim}) or "
                f"(B, {self.latent_dim}, 1, 1), got {tuple(z.shape)}"
            )
        return self.model(z)


class DCGANDiscriminator(nn.Module):
    """(B, in_channels, image_size, image_size) -> one raw logit per image, shape (B,).

    Channels double at each halving from ``base_channels`` (the first layer has no norm, as in
    the paper); a 4x4 valid conv turns the 4x4 maps into the logit (2.765 M parameters at 64 px
    with base_channels=64). ``norm``: batch (the paper) | instance | none; use instance or none
    with ``wgangp``, whose gradient penalty treats each sample on its own while batch norm
    couples them. ``spectral_norm`` normalises every conv (usually with ``norm=none``).
    """

    def __init__(
        self,
        image_size: int = 64,
        in_channels: int = 3,
        base_channels: int = 64,
        norm: str = "batch",
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        stages = upsampling_stages(image_size)
        self.image_size = image_size
        self.in_channels = in_channels
        bias = conv_bias(norm)
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, base_channels, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
        ]
        channels = base_channels
        for _ in range(stages - 1):
            layers += [
                nn.Conv2d(channels, channels * 2, 4, stride=2, padding=1, bias=bias),
                norm_layer(norm, channels * 2),
                nn.LeakyReLU(0.2, True),
            ]
            channels *= 2
        layers.append(nn.Conv2d(channels, 1, 4, stride=1, padding=0))
        self.model = nn.Sequential(*layers)
        if spectral_norm:
            with_spectral_norm(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or x.shape[1:] != expected:
            raise ValueError(
                f"DCGANDiscriminator expects images (B, {', '.join(map(str, expected))}), got "
                f"{tuple(x.shape)}; model.discriminator.image_size must equal the data's size"
            )
        return self.model(x).flatten()
