"""Small building blocks shared by the generators and discriminators."""

from __future__ import annotations

from torch import nn

from style_gan.errors import check_choice

NORMS = ("instance", "batch", "none")


def norm_layer(norm: str, channels: int) -> nn.Module:
    """Normalisation over ``channels``: ``instance`` (no affine, no running stats, as in
    CycleGAN), ``batch`` (affine) or ``none``."""
    check_choice("norm", norm, NORMS)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if norm == "batch":
        return nn.BatchNorm2d(channels, affine=True)
    return nn.Identity()


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
