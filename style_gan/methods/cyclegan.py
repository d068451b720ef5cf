"""CycleGAN (Zhu et al. 2017): unpaired translation content (A) <-> style (B).

Two generators G: A -> B and F: B -> A, and two PatchGAN discriminators D_A (is it a real A?)
and D_B (is it a real B?). Per batch, one generator phase then one discriminator phase:

    L_G = L_adv(D_B(G(a))) + L_adv(D_A(F(b)))
          + λ_cycle · (‖F(G(a)) - a‖₁ + ‖G(F(b)) - b‖₁)
          + λ_cycle · λ_identity · (‖G(b) - b‖₁ + ‖F(a) - a‖₁)
    L_D = ½ · (L_D_B(b, pool_B(G(a))) + L_D_A(a, pool_A(F(b))))

The ½ on L_D slows D relative to G, as in the paper. L_adv and L_D are those of
``adversarial`` (objective, DiffAugment, gradient penalty / R1).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import torch
from torch import nn

from style_gan.gan.adversarial import Adversarial
from style_gan.gan.image_pool import ImagePool
from style_gan.gan.losses import cycle_loss, identity_loss
from style_gan.methods.base import Batch, GanMethod, OptimizerFactory
from style_gan.metrics.suite import MetricSuite
from style_gan.nets.init import init_weights


class CycleGAN(GanMethod):
    """CycleGAN with manual dual-optimizer steps; a trained model is used through G: A -> B
    (direction AB) or F: B -> A (BA).

    ``generator``/``discriminator`` build one network each call (twins are built twice);
    ``optimizer_g``/``optimizer_d`` take an iterable of parameters (different learning rates
    give the two time-scale update rule, TTUR). ``ema_decay`` (None = off) keeps an
    exponential moving average of G and of F, which then validate and sample.
    ``gradient_clip_norm`` None = no clipping. The learning rate is constant for
    ``lr_constant_epochs`` then decays linearly to ~0 over ``lr_decay_epochs`` (0 = no decay).
    ``metrics`` (None = none) are computed on G's translations of the validation split and
    logged as ``val/<name>`` and ``val/<name>_best``.
    """

    generators: ClassVar[dict[str, str]] = {"AB": "g_ab", "BA": "g_ba"}
    critics: ClassVar[dict[str, str]] = {"AB": "d_b", "BA": "d_a"}

    def __init__(
        self,
        generator: Callable[[], nn.Module],
        discriminator: Callable[[], nn.Module],
        optimizer_g: OptimizerFactory,
        optimizer_d: OptimizerFactory,
        adversarial: Adversarial | None = None,
        lambda_cycle: float = 10.0,
        lambda_identity: float = 0.5,
        pool_size: int = 50,
        init_type: str = "normal",
        init_gain: float = 0.02,
        lr_constant_epochs: int = 100,
        lr_decay_epochs: int = 100,
        ema_decay: float | None = None,
        gradient_clip_norm: float | None = None,
        metrics: MetricSuite | None = None,
    ) -> None:
        super().__init__(optimizer_g, optimizer_d, lr_constant_epochs, lr_decay_epochs, metrics)
        self.g_ab = init_weights(generator(), init_type, init_gain)
        self.g_ba = init_weights(generator(), init_type, init_gain)
        self.d_a = init_weights(discriminator(), init_type, init_gain)
        self.d_b = init_weights(discriminator(), init_type, init_gain)
        self.keep_ema(ema_decay)
        self.adversarial = adversarial or Adversarial()
        self.pool_a = ImagePool(pool_size)
        self.pool_b = ImagePool(pool_size)

    def generator_parameters(self) -> Iterable[nn.Parameter]:
        return itertools.chain(self.g_ab.parameters(), self.g_ba.parameters())

    def discriminator_parameters(self) -> Iterable[nn.Parameter]:
        return itertools.chain(self.d_a.parameters(), self.d_b.parameters())

    def training_step(self, batch: Batch, batch_idx: int) -> None:
        real_a, real_b = batch["content"], batch["style"]
        hp = self.hparams

        def generator_step() -> tuple[dict[str, torch.Tensor], tuple[torch.Tensor, ...]]:
            fake_b = self.g_ab(real_a)
            fake_a = self.g_ba(real_b)
            loss_adv = self.adversarial.generator_loss(
                self.d_b, fake_b
            ) + self.adversarial.generator_loss(self.d_a, fake_a)
            loss_cycle = cycle_loss(self.g_ba(fake_b), real_a) + cycle_loss(
                self.g_ab(fake_a), real_b
            )
            loss_g = loss_adv + hp.lambda_cycle * loss_cycle
            terms = {"train/g_adv": loss_adv, "train/cycle": loss_cycle}
            if hp.lambda_identity > 0:
                loss_idt = identity_loss(self.g_ab(real_b), real_b) + identity_loss(
                    self.g_ba(real_a), real_a
                )
                loss_g = loss_g + hp.lambda_cycle * hp.lambda_identity * loss_idt
                terms["train/identity"] = loss_idt
            return {**terms, "train/g": loss_g}, (fake_a, fake_b)

        losses, (fake_a, fake_b) = self.generator_phase(generator_step)
        # The fakes computed above, through the pools; the ½ slows D as in the paper.
        losses |= self.discriminator_phase(
            {
                "a": (self.d_a, real_a, self.pool_a.query(fake_a)),
                "b": (self.d_b, real_b, self.pool_b.query(fake_b)),
            },
            weight=0.5,
        )
        self.log_losses(losses, batch_size=real_a.shape[0])

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        real_a, real_b = batch["content"], batch["style"]
        g_ba = self.inference_generator("BA")
        fake_b, fake_a = self(real_a), g_ba(real_b)
        loss_cycle = cycle_loss(g_ba(fake_b), real_a) + cycle_loss(self(fake_a), real_b)
        loss_adv = self.adversarial.loss.generator_loss(
            self.d_b(fake_b)
        ) + self.adversarial.loss.generator_loss(self.d_a(fake_a))
        self.log_dict(
            {"val/cycle": loss_cycle, "val/g_adv": loss_adv},
            batch_size=real_a.shape[0],
            sync_dist=True,
        )
        self.update_metrics(batch, fake_b)

    @torch.no_grad()
    def sample_images(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Named image rows for a sample grid: content, translated, reconstructed, style."""
        real_a = batch["content"].to(self.device)
        fake_b = self(real_a)
        return {
            "content": real_a,
            "translated": fake_b,
            "reconstructed": self.inference_generator("BA")(fake_b),
            "style": batch["style"].to(self.device),
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["image_pools"] = {"a": self.pool_a.state_dict(), "b": self.pool_b.state_dict()}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        pools = checkpoint.get("image_pools", {})
        for key, pool in (("a", self.pool_a), ("b", self.pool_b)):
            if key in pools:
                pool.load_state_dict(pools[key])
        super().on_load_checkpoint(checkpoint)
