"""The adversarial part every method shares: objective, DiffAugment and D's regularisers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from style_gan.errors import ConfigError
from style_gan.gan.augment import DiffAugment
from style_gan.gan.losses import AdversarialLoss, gradient_penalty, r1_penalty

Discriminator = Callable[[torch.Tensor], torch.Tensor]


class Adversarial(nn.Module):
    """How a generator and its discriminator D play, as one config node ``model.adversarial``.

    ``mode``: vanilla | lsgan | hinge | wgangp (see :class:`AdversarialLoss`).
    ``diff_augment``: a DiffAugment policy such as ``[color, translation, cutout]`` applied to
    every image D sees, real or fake (None = off). ``gp_weight``: λ of WGAN-GP's gradient penalty,
    used in ``wgangp`` mode only (10 in the paper). ``r1_gamma``: γ of the R1 penalty
    γ/2·E‖∇D(x_real)‖² (0 = off), computed lazily every ``r1_interval`` batches and scaled by
    the interval so its average strength does not change (StyleGAN2's lazy regularisation).
    """

    def __init__(
        self,
        mode: str = "lsgan",
        diff_augment: Sequence[str] | str | None = None,
        gp_weight: float = 10.0,
        r1_gamma: float = 0.0,
        r1_interval: int = 16,
    ) -> None:
        super().__init__()
        if r1_interval < 1:
            raise ConfigError(f"model.adversarial.r1_interval={r1_interval} must be >= 1")
        if gp_weight < 0 or r1_gamma < 0:
            raise ConfigError("model.adversarial.gp_weight and r1_gamma must be >= 0")
        self.loss = AdversarialLoss(mode)
        self.augment = DiffAugment(diff_augment) if diff_augment else nn.Identity()
        self.gp_weight = gp_weight
        self.r1_gamma = r1_gamma
        self.r1_interval = r1_interval

    @property
    def mode(self) -> str:
        return self.loss.gan_mode

    def generator_loss(self, discriminator: Discriminator, fake: torch.Tensor) -> torch.Tensor:
        """G's loss on D's verdict on ``fake`` (not detached: gradients reach G through D)."""
        return self.loss.generator_loss(discriminator(self.augment(fake)))

    def discriminator_loss(
        self,
        discriminator: Discriminator,
        real: torch.Tensor,
        fake: torch.Tensor,
        batches_done: int,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D's loss on ``real`` and ``fake`` (detached here) plus its penalties; also returns
        the penalty terms by name for logging. ``batches_done`` counts the run's batches (not
        the epoch's), so lazy R1 runs exactly every ``r1_interval``-th batch."""
        augmented_d = self.augmented(discriminator)
        fake = fake.detach()
        loss = self.loss.discriminator_loss(augmented_d(real), augmented_d(fake))
        terms: dict[str, torch.Tensor] = {}
        if self.mode == "wgangp" and self.gp_weight > 0:
            terms["gp"] = gradient_penalty(augmented_d, real, fake)
            loss = loss + self.gp_weight * terms["gp"]
        if self.r1_gamma > 0 and batches_done % self.r1_interval == 0:
            terms["r1"] = r1_penalty(augmented_d, real)
            loss = loss + self.r1_gamma / 2 * self.r1_interval * terms["r1"]
        return loss, terms

    def augmented(self, discriminator: Discriminator) -> Discriminator:
        """D as it sees images in training: DiffAugment (if on) first."""
        return lambda images: discriminator(self.augment(images))
