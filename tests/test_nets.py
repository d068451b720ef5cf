"""Generators, discriminators and initialisation: shapes, the standard parameter counts, and no
checkerboard from the configured generators' upsampling."""

from __future__ import annotations

import hydra
import pytest
import torch
from torch import nn

from style_gan.errors import ConfigError
from style_gan.metrics.checkerboard import periodic_power_share
from style_gan.nets.discriminators import PatchDiscriminator
from style_gan.nets.generators import ResnetGenerator, UnetGenerator
from style_gan.nets.init import INIT_TYPES, init_weights
from style_gan.nets.layers import NORMS, UPSAMPLINGS
from tests.conftest import compose_config


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


@pytest.mark.parametrize("upsample", UPSAMPLINGS)
def test_resize_convolution_has_the_transposed_convolutions_parameters(upsample: str) -> None:
    assert parameters(ResnetGenerator(n_blocks=9, upsample=upsample)) == 11_378_179


def smooth_image(side: int = 64) -> torch.Tensor:
    """A photo-like input with nothing at the periods a checkerboard has (share 0.08 %)."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, side), torch.linspace(-1, 1, side), indexing="ij")
    return torch.stack([torch.sin(2 * x), torch.cos(3 * y), x * y]).unsqueeze(0)


def checkerboard_at_init(generator: nn.Module) -> float:
    """The periodic share of an initialised generator's output for ``smooth_image``: what its
    upsampling adds before any training (measured, 3 seeds, resnet_9blocks 16 ch: transpose
    19-36 %, nearest 0.18-0.20 %, bilinear 0.02-0.06 %)."""
    with torch.no_grad():
        return periodic_power_share(init_weights(generator, "normal", 0.02)(smooth_image())).item()


@pytest.mark.parametrize("seed", [0, 1])
def test_transposed_convolutions_leave_a_checkerboard_resize_convolutions_do_not(
    seed: int,
) -> None:
    shares = {}
    for upsample in UPSAMPLINGS:
        torch.manual_seed(seed)
        shares[upsample] = checkerboard_at_init(
            ResnetGenerator(base_channels=16, upsample=upsample)
        )
    assert shares["transpose"] > 0.05
    assert shares["nearest"] < 0.01 and shares["bilinear"] < 0.01


@pytest.mark.parametrize("generator", ["resnet_9blocks", "resnet_6blocks"])
def test_configured_resnet_generators_start_without_a_checkerboard(
    generator: str, tmp_path
) -> None:
    cfg = compose_config(
        "train",
        [f"model/generator={generator}", "model.generator.base_channels=16"],
        tmp_path,
        tmp_path,
    )
    torch.manual_seed(0)
    assert checkerboard_at_init(hydra.utils.instantiate(cfg.model.generator)()) < 0.01


def test_an_unknown_upsampling_names_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match="transpose, nearest, bilinear"):
        ResnetGenerator(upsample="pixelshuffle")
