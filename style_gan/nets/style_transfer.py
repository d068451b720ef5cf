"""Exemplar-guided style transfer networks: a content encoder, a style encoder and a style-based
decoder (MUNIT, Huang et al. 2018; the style-based generator idea of Karras et al. 2019).

The content encoder keeps the layout: convolutions down to 1/4 resolution and residual blocks,
all instance-normalised, so the content code carries *where* things are but no global colour
statistics. The style encoder keeps the statistics (no instance norm): convolutions, global
average pooling and a 1x1 conv give a style code s ∈ R^style_dim. The decoder is style-based:
every normalisation in its residual and upsampling blocks is adaptive instance normalisation

    AdaIN(x, γ, β) = γ · (x - μ(x)) / σ(x) + β,     μ, σ per sample and channel over H, W

with one (γ, β) pair per layer and channel mapped from the style code by an MLP:
(Δγ_1, β_1, ..., Δγ_L, β_L) = MLP(s), γ_l = 1 + Δγ_l (so a zero MLP output is plain instance
norm). The decoder never sees the style image, only s, so a code interpolated between two
images gives an interpolated style.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-5


def channel_stats(x: torch.Tensor, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """μ(x) and σ(x) = sqrt(Var(x) + eps) per sample and channel over H, W: (B, C, 1, 1) each.
    The variance is the population one (divides by H·W), as instance norm's."""
    if x.ndim != 4:
        raise ValueError(f"channel_stats expects (B, C, H, W), got {tuple(x.shape)}")
    var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, unbiased=False)
    return mean, (var + eps).sqrt()


def adain(
    content_features: torch.Tensor, style_features: torch.Tensor, eps: float = EPS
) -> torch.Tensor:
    """Adaptive instance normalisation (Huang & Belongie 2017):
    AdaIN(x, y) = σ(y) · (x - μ(x)) / σ(x) + μ(y), per sample and channel.

    ``content_features`` x (B, C, H, W) and ``style_features`` y (B, C, H', W') may differ in
    size; the output has x's layout and y's channel means and standard deviations.
    """
    if content_features.shape[:2] != style_features.shape[:2]:
        raise ValueError(
            f"adain needs the same (B, C), got {tuple(content_features.shape)} and "
            f"{tuple(style_features.shape)}"
        )
    content_mean, content_std = channel_stats(content_features, eps)
    style_mean, style_std = channel_stats(style_features, eps)
    return style_std * (content_features - content_mean) / content_std + style_mean


class AdaptiveInstanceNorm(nn.Module):
    """AdaIN(x, γ, β) = γ · (x - μ(x)) / σ(x) + β with (γ, β) given per call (from the style
    code), not learned per layer."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.norm = nn.InstanceNorm2d(channels, affine=False, eps=EPS)

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        return gamma[..., None, None] * self.norm(x) + beta[..., None, None]


def _conv(in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    """Conv with reflect padding that keeps size / stride (no border artefacts)."""
    return nn.Conv2d(
        in_ch, out_ch, kernel, stride, padding=(kernel - 1) // 2, padding_mode="reflect"
    )


class ResidualBlock(nn.Module):
    """x + F(x), F = conv3x3, IN, ReLU, conv3x3, IN (the content encoder's blocks)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(channels, channels, 3),
            nn.InstanceNorm2d(channels),
            nn.ReLU(inplace=True),
            _conv(channels, channels, 3),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ContentEncoder(nn.Module):
    """7x7 conv, ``n_downsample`` stride-2 4x4 convs (channels doubling), ``n_res`` residual
    blocks; instance norm throughout. (B, 3, H, W) -> (B, C·2^n_downsample, H/2^n, W/2^n)."""

    def __init__(self, base_channels: int, n_downsample: int, n_res: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            _conv(3, base_channels, 7),
            nn.InstanceNorm2d(base_channels),
            nn.ReLU(inplace=True),
        ]
        channels = base_channels
        for _ in range(n_downsample):
            layers += [
                nn.Conv2d(channels, channels * 2, 4, 2, 1, padding_mode="reflect"),
                nn.InstanceNorm2d(channels * 2),
                nn.ReLU(inplace=True),
            ]
            channels *= 2
        layers += [ResidualBlock(channels) for _ in range(n_res)]
        self.model = nn.Sequential(*layers)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class StyleEncoder(nn.Module):
    """7x7 conv, ``n_downsample`` stride-2 4x4 convs (channels doubling up to 4·base), global
    average pooling, 1x1 conv: (B, 3, H, W) -> style code (B, style_dim). No normalisation:
    instance norm would erase the very statistics (colour, contrast) the code must carry."""

    def __init__(self, base_channels: int, n_downsample: int, style_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv(3, base_channels, 7), nn.ReLU(inplace=True)]
        channels = base_channels
        for index in range(n_downsample):
            out = channels * 2 if index < 2 else channels
            layers += [
                nn.Conv2d(channels, out, 4, 2, 1, padding_mode="reflect"),
                nn.ReLU(inplace=True),
            ]
            channels = out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, style_dim, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).flatten(1)


class AdaINResidualBlock(nn.Module):
    """x + F(x), F = conv3x3, AdaIN, ReLU, conv3x3, AdaIN; two (γ, β) pairs per block."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = _conv(channels, channels, 3)
        self.norm1 = AdaptiveInstanceNorm(channels)
        self.conv2 = _conv(channels, channels, 3)
        self.norm2 = AdaptiveInstanceNorm(channels)

    def forward(self, x: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x), params[0], params[1]))
        return x + self.norm2(self.conv2(y), params[2], params[3])


class AdaINUpBlock(nn.Module):
    """Nearest ×2 upsampling, conv5x5, AdaIN, ReLU (MUNIT's decoder upsampling, with AdaIN in
    place of its layer norm so the style reaches every resolution)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = _conv(in_channels, out_channels, 5)
        self.norm = AdaptiveInstanceNorm(out_channels)

    def forward(self, x: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return F.relu(self.norm(self.conv(x), params[0], params[1]))


class StyleDecoder(nn.Module):
    """Style-based decoder: ``n_res`` AdaIN residual blocks, ``n_upsample`` AdaIN up blocks,
    7x7 conv, tanh. An MLP maps the style code to every AdaIN layer's (Δγ, β), γ = 1 + Δγ."""

    def __init__(
        self, in_channels: int, n_upsample: int, n_res: int, style_dim: int, mlp_dim: int
    ) -> None:
        super().__init__()
        self.res_blocks = nn.ModuleList(AdaINResidualBlock(in_channels) for _ in range(n_res))
        channels = in_channels
        self.up_blocks = nn.ModuleList()
        for _ in range(n_upsample):
            self.up_blocks.append(AdaINUpBlock(channels, channels // 2))
            channels //= 2
        self.to_rgb = nn.Sequential(_conv(channels, 3, 7), nn.Tanh())
        # (γ, β) widths in call order: 2 AdaIN layers per residual block, 1 per up block.
        self.param_widths = [in_channels] * (4 * n_res)
        for block in self.up_blocks:
            self.param_widths += [block.norm.channels] * 2
        self.mlp = nn.Sequential(
            nn.Linear(style_dim, mlp_dim),
            nn.ReLU(inplace=True),
            nn.Linear(mlp_dim, mlp_dim),
            nn.ReLU(inplace=True),
            nn.Linear(mlp_dim, sum(self.param_widths)),
        )

    def reset_style_output(self) -> None:
        """Zero the MLP's last layer: every γ = 1, β = 0, so the decoder starts as plain instance
        norm whatever the style code (random (γ, β) of a fresh MLP make colour noise); call
        after any weight initialisation."""
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def adain_params(self, style_code: torch.Tensor) -> list[torch.Tensor]:
        """The MLP's output split into [γ_1, β_1, γ_2, β_2, ...], each (B, C_l)."""
        params = list(torch.split(self.mlp(style_code), self.param_widths, dim=1))
        params[0::2] = [1 + delta for delta in params[0::2]]  # γ = 1 + Δγ
        return params

    def forward(self, content_code: torch.Tensor, style_code: torch.Tensor) -> torch.Tensor:
        params = self.adain_params(style_code)
        x, used = content_code, 0
        for block in self.res_blocks:
            x, used = block(x, params[used : used + 4]), used + 4
        for block in self.up_blocks:
            x, used = block(x, params[used : used + 2]), used + 2
        return self.to_rgb(x)


class StyleTransferGenerator(nn.Module):
    """G(c, s; α): content encoder E_c, style encoder E_s, style-based decoder Dec.

        code(α) = α · E_s(style) + (1 - α) · E_s(content)
        G(c, s; α) = Dec(E_c(c), code(α))

    α = 1 is full stylisation by the exemplar; α = 0 is the content's own code, which the
    training's reconstruction term makes reproduce the content. Images are (B, 3, H, W) in
    [-1, 1] with H, W divisible by ``size_multiple`` = 2**n_downsample; the style image may
    have another size.
    """

    def __init__(
        self,
        base_channels: int = 64,
        n_downsample: int = 2,
        n_res: int = 4,
        style_dim: int = 8,
        mlp_dim: int = 256,
        n_style_downsample: int = 4,
    ) -> None:
        super().__init__()
        self.n_downsample = n_downsample
        self.size_multiple = 2**n_downsample
        self.content_encoder = ContentEncoder(base_channels, n_downsample, n_res)
        self.style_encoder = StyleEncoder(base_channels, n_style_downsample, style_dim)
        self.decoder = StyleDecoder(
            self.content_encoder.out_channels, n_downsample, n_res, style_dim, mlp_dim
        )

    def encode_content(self, content: torch.Tensor) -> torch.Tensor:
        factor = self.size_multiple
        if content.ndim != 4 or content.shape[-1] % factor or content.shape[-2] % factor:
            raise ValueError(
                f"StyleTransferGenerator needs (B, 3, H, W) content with H and W divisible by "
                f"{factor}, got {tuple(content.shape)}; pick a crop size that is a multiple "
                f"of {factor}"
            )
        return self.content_encoder(content)

    def encode_style(self, image: torch.Tensor) -> torch.Tensor:
        return self.style_encoder(image)

    def decode(self, content_code: torch.Tensor, style_code: torch.Tensor) -> torch.Tensor:
        return self.decoder(content_code, style_code)

    def style_code(
        self, content: torch.Tensor, style: torch.Tensor, alpha: float = 1.0
    ) -> torch.Tensor:
        """code(α) = α · E_s(style) + (1 - α) · E_s(content); one encoder pass when α is 0 or 1."""
        if alpha == 1.0:
            return self.encode_style(style)
        if alpha == 0.0:
            return self.encode_style(content)
        return alpha * self.encode_style(style) + (1 - alpha) * self.encode_style(content)

    def forward(
        self, content: torch.Tensor, style: torch.Tensor, alpha: float = 1.0
    ) -> torch.Tensor:
        if content.shape[0] != style.shape[0]:
            raise ValueError(
                f"content and style batches differ in size: {content.shape[0]} vs {style.shape[0]}"
            )
        return self.decode(self.encode_content(content), self.style_code(content, style, alpha))
