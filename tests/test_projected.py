"""The projected discriminator: frozen pretrained features that pass gradients to the image,
trained heads only, no backbone in checkpoints, and every method trains with it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from style_gan.inference.critic import load_critic
from style_gan.nets.efficientnet_lite import efficientnet_lite0
from style_gan.nets.init import init_weights
from style_gan.nets.projected import ProjectedDiscriminator
from style_gan.train import train
from tests.conftest import ONE_BATCH, compose_config

METHODS = ["cyclegan", "cut", "fastcut", "pix2pix", "exemplar", "dcgan"]


def test_gradients_reach_the_image_and_the_heads_but_never_the_backbone() -> None:
    discriminator = ProjectedDiscriminator(image_size=64)
    image = (torch.rand(2, 3, 48, 48) * 2 - 1).requires_grad_(True)
    logits = discriminator(image)
    # Heads halve 16, 8, 4, 2-sided maps to at most 8 a side: 8², 8², 4², 2² logits.
    assert logits.shape == (2, 64 + 64 + 16 + 4)
    logits.mean().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert all(p.grad is not None for p in discriminator.parameters())
    assert all(p.grad is None and not p.requires_grad for p in discriminator.backbone.parameters())


def test_only_the_heads_are_parameters_state_and_initialised() -> None:
    discriminator = ProjectedDiscriminator(image_size=64)
    packaged = efficientnet_lite0().state_dict()
    init_weights(discriminator, "normal", 0.02)
    discriminator.train()
    assert not discriminator.backbone.training
    assert all(key.startswith("heads.") for key in discriminator.state_dict())
    assert all(
        torch.equal(value, packaged[key])
        for key, value in discriminator.backbone.net.state_dict().items()
    )
    twin = ProjectedDiscriminator(image_size=64)
    assert torch.equal(discriminator.ccm_3, twin.ccm_3)  # fixed by projection_seed
    assert not torch.equal(
        discriminator.ccm_3, ProjectedDiscriminator(image_size=64, projection_seed=1).ccm_3
    )
    discriminator.to(torch.float64)
    assert next(discriminator.backbone.parameters()).dtype == torch.float64


def test_judges_channel_concatenated_pairs_and_refuses_other_channel_counts() -> None:
    pair = ProjectedDiscriminator(in_channels=6, image_size=32)
    assert pair(torch.zeros(1, 6, 32, 32)).shape == (1, 64 + 16 + 4 + 1)
    with pytest.raises(ValueError, match="in_channels=4 must be 3 or a multiple of 3"):
        ProjectedDiscriminator(in_channels=4)
    with pytest.raises(ValueError, match=r"expects \(B, 6, H, W\)"):
        pair(torch.zeros(1, 3, 32, 32))


def projected_run(model: str, run: Path, data_dir: Path, *overrides: str) -> Path:
    cfg = compose_config(
        "train",
        [
            *ONE_BATCH,
            f"model={model}",
            "model/discriminator=projected",
            "model.discriminator.image_size=64",
            "model.adversarial.diff_augment=[color,translation,cutout]",
            *overrides,
        ],
        run,
        data_dir,
    )
    train(cfg)
    return run / "checkpoints" / "last.ckpt"


@pytest.mark.parametrize("model", METHODS)
def test_every_method_trains_with_it_and_its_checkpoint_holds_no_backbone(
    model: str, tmp_path: Path, data_dir: Path
) -> None:
    checkpoint_path = projected_run(model, tmp_path / "run", data_dir)
    state = torch.load(checkpoint_path, weights_only=True)["state_dict"]
    assert not [key for key in state if "backbone" in key or "ccm" in key]
    assert any(".heads." in key for key in state)
    if model in ("cyclegan", "pix2pix"):  # the studio's refine loads the critic alone
        critic = load_critic(checkpoint_path)
        channels = 6 if model == "pix2pix" else 3
        source, output = torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 64)
        assert critic.module.in_channels == channels
        assert torch.isfinite(critic.generator_loss(source, output))


def test_trains_in_bf16_mixed_and_with_two_ddp_processes(tmp_path: Path, data_dir: Path) -> None:
    projected_run("cyclegan", tmp_path / "bf16", data_dir, "trainer.precision=bf16-mixed")
    ddp = projected_run(
        "cyclegan",
        tmp_path / "ddp",
        data_dir,
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.strategy=ddp_spawn_find_unused_parameters_true",
        "trainer.precision=32-true",
        # ddp_spawn pickles the model, and torch cannot pickle spectral-norm parametrizations;
        # the command line's trainer=ddp starts processes without pickling (test_cli).
        "model.discriminator.spectral_norm=false",
    )
    assert torch.load(ddp, weights_only=True)["global_step"] == 2
