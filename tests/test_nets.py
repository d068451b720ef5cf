"""Generators, discriminators and initialisation: shapes and the standard parameter counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from style_gan.errors import ConfigError
from style_gan.nets.discriminators import PatchDiscriminator
from style_gan.nets.generators import ResnetGenerator, UnetGenerator
from style_gan.nets.init import INIT_TYPES, init_weights
from style_gan.nets.layers import NORMS


def parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize(
    ("net", "count"),
    [
        # The counts the CycleGAN/pix2pix code prints for its standard networks.
        (ResnetGenerator(n_blocks=9), 11_378_179),
        (ResnetGenerator(n_blocks=6), 7_837_699),
        (UnetGenerator(num_downs=8, norm="batch"), 54_413_955),
        (PatchDiscriminator(n_layers=3), 2_764_737),
        (PatchDiscriminator(in_channels=6, n_layers=3, norm="batch"), 2_768_705),
    ],
)
def test_standard_parameter_counts(net: nn.Module, count: int) -> None:
    assert parameters(net) == count


@pytest.mark.parametrize("norm", NORMS)
def test_generators_keep_shape_and_range(norm: str) -> None:
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    for net in (
        ResnetGenerator(base_channels=8, n_blocks=2, norm=norm),
        UnetGenerator(base_channels=8, num_downs=6, norm=norm, dropout=0.5),
    ):
        y = net(x)
        assert y.shape == x.shape
        assert y.abs().max() <= 1


def test_generators_reject_sizes_they_cannot_reconstruct() -> None:
    with pytest.raises(ValueError, match="divisible by 4"):
        ResnetGenerator(base_channels=8, n_blocks=1)(torch.zeros(1, 3, 30, 30))
    with pytest.raises(ValueError, match="divisible by 256"):
        UnetGenerator(base_channels=8)(torch.zeros(1, 3, 128, 128))


@pytest.mark.parametrize(("n_layers", "side"), [(1, 30), (2, 14), (3, 6)])
def test_patch_discriminator_gives_one_logit_per_patch(n_layers: int, side: int) -> None:
    logits = PatchDiscriminator(base_channels=8, n_layers=n_layers)(torch.zeros(2, 3, 64, 64))
    assert logits.shape == (2, 1, side, side)


@pytest.mark.parametrize("init_type", INIT_TYPES)
def test_init_types_set_biases_to_zero_and_differ_in_weights(init_type: str) -> None:
    torch.manual_seed(0)
    net = init_weights(PatchDiscriminator(base_channels=8, norm="batch"), init_type, 0.02)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert all(torch.all(c.bias == 0) for c in convs if c.bias is not None)
    if init_type == "normal":
        assert abs(convs[1].weight.std().item() - 0.02) < 0.002


def test_unknown_norm_and_init_name_the_allowed_values() -> None:
    with pytest.raises(ConfigError, match="instance, batch, none"):
        ResnetGenerator(norm="group")
    with pytest.raises(ConfigError, match="normal, xavier, kaiming, orthogonal"):
        init_weights(nn.Linear(2, 2), "uniform")
