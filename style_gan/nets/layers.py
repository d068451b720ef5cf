"""Small building blocks shared by the generators and discriminators."""

from __future__ import annotations

from torch import nn

from style_gan.errors import check_choice

NORMS = ("instance", "batch", "none")
UPSAMPLINGS = ("transpose", "nearest", "bilinear")


def norm_layer(norm: str, channels: int) -> nn.Module:
    """Normalisation over ``channels``: ``instance`` (no affine, no running stats, as in
    CycleGAN), ``batch`` (affine) or ``none``."""
    check_choice("norm", norm, NORMS)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if norm == "batch":
        return nn.BatchNorm2d(channels, affine=True)
    return nn.Identity()


def upsample_conv(kind: str, in_channels: int, out_channels: int, bias: bool) -> list[nn.Module]:
    """Layers that double H and W and map ``in_channels`` to ``out_channels``.

    ``transpose``: a 3x3 stride-2 transposed convolution (CycleGAN's). Its kernel overlaps
    itself unevenly (output pixels alternate between 1 and 2 taps per axis), which leaves a
    period-2 pattern that training must learn to cancel: checkerboards (Odena et al. 2016).
    ``nearest`` / ``bilinear``: resize, then a 3x3 convolution over a reflect-padded border;
    every output pixel sees the same number of taps, so there is no such pattern.
    """
    check_choice("upsample", kind, UPSAMPLINGS)
    if kind == "transpose":
        return [
            nn.ConvTranspose2d(
                in_channels, out_channels, 3, stride=2, padding=1, output_padding=1, bias=bias
            )
        ]
    return [
        nn.Upsample(scale_factor=2, mode=kind),
        nn.ReflectionPad2d(1),
        nn.Conv2d(in_channels, out_channels, 3, bias=bias),
    ]


def conv_bias(norm: str) -> bool:
    """Whether a convolution followed by ``norm`` needs its own bias (BatchNorm has a shift)."""
    return check_choice("norm", norm, NORMS) != "batch"


def with_spectral_norm(net: nn.Module) -> nn.Module:
    """``net`` with spectral normalisation (Miyato et al. 2018) on every conv and linear layer:
    W / σ(W), σ the largest singular value by one power iteration per step, which bounds each
    layer's Lipschitz constant by 1 and keeps D from overpowering G."""
    for module in list(net.modules()):
        if isinstance(module, nn.Conv2d | nn.Linear):
            nn.utils.parametrizations.spectral_norm(module)
    return net
