"""Image-to-image generators: ResNet (Johnson et al. 2016) and U-Net (Ronneberger et al. 2015).

Both map (B, in_channels, H, W) in [-1, 1] to (B, out_channels, H, W) in [-1, 1] (tanh).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from style_gan.errors import ConfigError
from style_gan.nets.layers import conv_bias, norm_layer, upsample_conv


def _check_divisible(x: torch.Tensor, factor: int, name: str) -> None:
    if x.ndim != 4 or x.shape[-1] % factor or x.shape[-2] % factor:
        raise ValueError(
            f"{name} needs (B, C, H, W) input with H and W divisible by {factor}, "
            f"got {tuple(x.shape)}; pick a crop size that is a multiple of {factor}"
        )


class ResnetBlock(nn.Module):
    """x + F(x), F = reflect-pad, conv3x3, norm, ReLU, [dropout], reflect-pad, conv3x3, norm."""

    def __init__(self, channels: int, norm: str, dropout: float) -> None:
        super().__init__()
        bias = conv_bias(norm)
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Encoder (7x7 conv, two stride-2 convs), ``n_blocks`` residual blocks, mirrored decoder.

    ``resnet_9blocks`` (256 px) and ``resnet_6blocks`` (128 px) are the CycleGAN settings;
    with ``base_channels=64`` they have 11.378 M and 7.841 M parameters. H, W must be
    divisible by ``size_multiple`` (4). ``upsample`` is how the decoder doubles the size (see
    ``layers.upsample_conv``): ``transpose`` is CycleGAN's (and what stored configs without the
    key were trained with), ``nearest``/``bilinear`` a resize-convolution, same parameters.
    """

    size_multiple = 4

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 64,
        n_blocks: int = 9,
        norm: str = "instance",
        dropout: float = 0.0,
        upsample: str = "transpose",
    ) -> None:
        super().__init__()
        bias = conv_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, base_channels, 7, bias=bias),
            norm_layer(norm, base_channels),
            nn.ReLU(inplace=True),
        ]
        channels = base_channels
        for _ in range(2):
            layers += [
                nn.Conv2d(channels, channels * 2, 3, stride=2, padding=1, bias=bias),
                norm_layer(norm, channels * 2),
                nn.ReLU(inplace=True),
            ]
            channels *= 2
        layers += [ResnetBlock(channels, norm, dropout) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [
                *upsample_conv(upsample, channels, channels // 2, bias),
                norm_layer(norm, channels // 2),
                nn.ReLU(inplace=True),
            ]
            channels //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(channels, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_divisible(x, self.size_multiple, type(self).__name__)
        return self.model(x)

    def encode(self, x: torch.Tensor, layers: Sequence[int]) -> list[torch.Tensor]:
        """The activations after ``self.model[i]`` for each i in ``layers`` (in that order),
        running the network only as far as the deepest one (CUT's PatchNCE features; with 9
        blocks, layers 0, 4, 8, 12, 16 are the padded input pixels, the two downsampling
        stages and the outputs of residual blocks 3 and 7)."""
        _check_divisible(x, self.size_multiple, type(self).__name__)
        wanted = set(self._check_layers(layers))
        found: dict[int, torch.Tensor] = {}
        for index, layer in enumerate(self.model[: max(wanted) + 1]):
            # An in-place ReLU would overwrite the activation kept from the layer before it.
            x = torch.relu(x) if isinstance(layer, nn.ReLU) and index - 1 in wanted else layer(x)
            if index in wanted:
                found[index] = x
        return [found[index] for index in layers]

    def feature_channels(self, layers: Sequence[int]) -> list[int]:
        """Channel counts of ``encode(x, layers)``, from a dry run on one small input (in eval
        mode, so BatchNorm statistics stay as they are)."""
        first_conv = next(m for m in self.model if isinstance(m, nn.Conv2d))
        probe = torch.zeros(1, first_conv.in_channels, 16, 16, device=first_conv.weight.device)
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return [feature.shape[1] for feature in self.encode(probe, layers)]
        finally:
            self.train(was_training)

    def _check_layers(self, layers: Sequence[int]) -> Sequence[int]:
        if not layers or any(not 0 <= i < len(self.model) for i in layers):
            raise ConfigError(
                f"encoder layers {list(layers)} must be a non-empty list of indices in "
                f"[0, {len(self.model) - 1}] of the generator's layers (CUT: [0, 4, 8, 12, 16])"
            )
        return layers


class UnetSkipBlock(nn.Module):
    """One U-Net level: down (stride-2 4x4 conv), the inner levels, up (4x4 transposed conv),
    and the skip connection concat([x, up(inner(down(x)))]) except at the outermost level."""

    def __init__(
        self,
        outer_channels: int,
        inner_channels: int,
        inner: nn.Module | None,
        norm: str,
        dropout: float = 0.0,
        in_channels: int | None = None,
        outermost: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        bias = conv_bias(norm)
        in_channels = outer_channels if in_channels is None else in_channels
        down_conv = nn.Conv2d(in_channels, inner_channels, 4, stride=2, padding=1, bias=bias)
        # The innermost level has no inner block, so its up-conv sees no concatenated skip.
        up_in = inner_channels if inner is None else inner_channels * 2
        if outermost:
            down = [down_conv]
            up = [nn.ReLU(True), nn.ConvTranspose2d(up_in, outer_channels, 4, 2, 1), nn.Tanh()]
        elif inner is None:
            down = [nn.LeakyReLU(0.2, True), down_conv]
            up = [
                nn.ReLU(True),
                nn.ConvTranspose2d(up_in, outer_channels, 4, 2, 1, bias=bias),
                norm_layer(norm, outer_channels),
            ]
        else:
            down = [nn.LeakyReLU(0.2, True), down_conv, norm_layer(norm, inner_channels)]
            up = [
                nn.ReLU(True),
                nn.ConvTranspose2d(up_in, outer_channels, 4, 2, 1, bias=bias),
                norm_layer(norm, outer_channels),
            ]
            if dropout > 0:
                up.append(nn.Dropout(dropout))
        middle = [] if inner is None else [inner]
        self.model = nn.Sequential(*down, *middle, *up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        # Clone: the LeakyReLU at the start of the level is in-place.
        return torch.cat([x, self.model(x.clone())], 1)


class UnetGenerator(nn.Module):
    """U-Net with ``num_downs`` stride-2 levels; ``unet_256`` is num_downs=8 (54.414 M params
    at base_channels=64). H, W must be divisible by ``size_multiple`` = 2**num_downs."""

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 64,
        num_downs: int = 8,
        norm: str = "instance",
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"UnetGenerator needs num_downs >= 5, got {num_downs}")
        self.num_downs = num_downs
        self.size_multiple = 2**num_downs
        top = base_channels * 8
        block = UnetSkipBlock(top, top, None, norm)
        for _ in range(num_downs - 5):
            block = UnetSkipBlock(top, top, block, norm, dropout)
        for multiple in (4, 2, 1):
            block = UnetSkipBlock(
                base_channels * multiple, base_channels * multiple * 2, block, norm
            )
        self.model = UnetSkipBlock(
            out_channels, base_channels, block, norm, in_channels=in_channels, outermost=True
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_divisible(x, self.size_multiple, type(self).__name__)
        return self.model(x)
