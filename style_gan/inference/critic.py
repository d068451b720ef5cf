"""The discriminator a trained generator learned its style domain from, loaded alone from a
style_gan checkpoint: the part of the model that can still say "more like the style domain"
when a generator is refined on an image it never saw (the studio's refine)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from style_gan.errors import CheckpointError
from style_gan.gan.losses import AdversarialLoss
from style_gan.inference.generator import build_stored_network, method_class
from style_gan.run.checkpoints import read_checkpoint, stored_model_config


@dataclass(frozen=True)
class TrainedCritic:
    """A frozen discriminator in eval mode and the loss its generator was trained with.

    ``sees_source``: it judges (source, output) pairs channel-concatenated (pix2pix), not
    outputs alone.
    """

    module: nn.Module
    loss: AdversarialLoss
    sees_source: bool

    def generator_loss(self, source: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        """The generator's adversarial loss on ``output`` (gradients reach it through D)."""
        judged = torch.cat([source, output], dim=1) if self.sees_source else output
        return self.loss.generator_loss(self.module(judged))


def load_critic(ckpt_path: str | Path, direction: str = "AB") -> TrainedCritic:
    """The discriminator judging the ``direction`` generator's outputs in a style_gan
    checkpoint (CycleGAN's D_B for AB, D_A for BA); a one-line CheckpointError otherwise."""
    path = Path(ckpt_path)
    checkpoint = read_checkpoint(path)
    config = stored_model_config(checkpoint, path)
    method = method_class(config["_target_"], path)
    name = method.critics.get(direction)
    discriminator_config = config.get("discriminator")
    if name is None or not isinstance(discriminator_config, dict):
        raise CheckpointError(
            f"checkpoint {path} ({method.__name__}) has no discriminator for direction="
            f"{direction!r}"
        )
    module = build_stored_network(
        discriminator_config, checkpoint["state_dict"], f"{name}.", path, "discriminator"
    )
    adversarial = config.get("adversarial") or {}
    mode = adversarial.get("mode", "lsgan") if isinstance(adversarial, dict) else "lsgan"
    return TrainedCritic(
        module=module.eval().requires_grad_(False),
        loss=AdversarialLoss(mode),
        sees_source=method.critic_sees_source,
    )
