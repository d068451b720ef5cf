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
