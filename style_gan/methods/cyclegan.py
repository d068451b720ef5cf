"""CycleGAN (Zhu et al. 2017): unpaired translation content (A) <-> style (B).

Two generators G: A -> B and F: B -> A, and two PatchGAN discriminators D_A (is it a real A?)
and D_B (is it a real B?). Per batch, one generator phase then one discriminator phase:

    L_G = L_adv(D_B(G(a))) + L_adv(D_A(F(b)))
          + λ_cycle · (‖F(G(a)) - a‖₁ + ‖G(F(b)) - b‖₁)
          + λ_cycle · λ_identity · (‖G(b) - b‖₁ + ‖F(a) - a‖₁)
    L_D = ½ · (L_D_B(b, pool_B(G(a))) + L_D_A(a, pool_A(F(b))))

The ½ on L_D slows D relative to G, as in the paper.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from style_gan.image_pool import ImagePool
from style_gan.losses import AdversarialLoss, cycle_loss, identity_loss
from style_gan.metrics.suite import MetricSuite
from style_gan.nets.init import init_weights
from style_gan.schedules import LinearDecay

Batch = dict[str, Any]


class CycleGAN(L.LightningModule):
    """CycleGAN with manual dual-optimizer steps.

    ``generator``/``discriminator`` build one network each call (twins are built twice);
    ``optimizer_g``/``optimizer_d`` take an iterable of parameters. ``gradient_clip_norm``
    None = no clipping. The learning rate is constant for ``lr_constant_epochs`` then decays
    linearly to ~0 over ``lr_decay_epochs`` (0 = no decay). ``metrics`` (None = none) are
    computed on G's translations of the validation split and logged as ``val/<name>`` and
    ``val/<name>_best``.
    """

    # Lightning's global_step counts optimizer steps; with G and D that is two per batch.
    optimizer_steps_per_batch = 2

    def __init__(
        self,
        generator: Callable[[], nn.Module],
        discriminator: Callable[[], nn.Module],
        optimizer_g: Callable[..., Optimizer],
        optimizer_d: Callable[..., Optimizer],
        gan_mode: str = "lsgan",
        lambda_cycle: float = 10.0,
        lambda_identity: float = 0.5,
        pool_size: int = 50,
        init_type: str = "normal",
        init_gain: float = 0.02,
        lr_constant_epochs: int = 100,
        lr_decay_epochs: int = 100,
        gradient_clip_norm: float | None = None,
        metrics: MetricSuite | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(
            ignore=["generator", "discriminator", "optimizer_g", "optimizer_d", "metrics"]
        )
        # Kept out of the module tree: the metrics' feature networks belong in no checkpoint
        # and no DDP wrapper (torchmetrics syncs their states itself).
        self.__dict__["metrics"] = metrics
        self.automatic_optimization = False
        self.g_ab = init_weights(generator(), init_type, init_gain)
        self.g_ba = init_weights(generator(), init_type, init_gain)
        self.d_a = init_weights(discriminator(), init_type, init_gain)
        self.d_b = init_weights(discriminator(), init_type, init_gain)
        self.optimizer_g = optimizer_g
        self.optimizer_d = optimizer_d
        self.adversarial = AdversarialLoss(gan_mode)
        self.pool_a = ImagePool(pool_size)
        self.pool_b = ImagePool(pool_size)
        self.lr_schedule = LinearDecay(lr_constant_epochs, lr_decay_epochs)

    def forward(self, content: torch.Tensor) -> torch.Tensor:
        """Translate content images (B, 3, H, W) in [-1, 1] into the style domain."""
        return self.g_ab(content)

    def configure_optimizers(self) -> Any:
        opt_g = self.optimizer_g(itertools.chain(self.g_ab.parameters(), self.g_ba.parameters()))
        opt_d = self.optimizer_d(itertools.chain(self.d_a.parameters(), self.d_b.parameters()))
        schedulers = [
            {"scheduler": LambdaLR(opt, self.lr_schedule), "interval": "epoch", "name": name}
            for opt, name in ((opt_g, "lr/generator"), (opt_d, "lr/discriminator"))
        ]
        return [opt_g, opt_d], schedulers

    def training_step(self, batch: Batch, batch_idx: int) -> None:
        real_a, real_b = batch["content"], batch["style"]
        opt_g, opt_d = self.optimizers()
        hp = self.hparams

        # Generator phase: D's weights are frozen by the toggle; gradients reach G through D.
        self.toggle_optimizer(opt_g)
        fake_b = self.g_ab(real_a)
        fake_a = self.g_ba(real_b)
        loss_adv = self.adversarial.generator_loss(
            self.d_b(fake_b)
        ) + self.adversarial.generator_loss(self.d_a(fake_a))
        loss_cycle = cycle_loss(self.g_ba(fake_b), real_a) + cycle_loss(self.g_ab(fake_a), real_b)
        loss_g = loss_adv + hp.lambda_cycle * loss_cycle
        losses = {"train/g_adv": loss_adv, "train/cycle": loss_cycle}
        if hp.lambda_identity > 0:
            loss_idt = identity_loss(self.g_ab(real_b), real_b) + identity_loss(
                self.g_ba(real_a), real_a
            )
            loss_g = loss_g + hp.lambda_cycle * hp.lambda_identity * loss_idt
            losses["train/identity"] = loss_idt
        opt_g.zero_grad()
        self.manual_backward(loss_g)
        self._clip(opt_g)
        opt_g.step()
        self.untoggle_optimizer(opt_g)

        # Discriminator phase on the fakes computed above, detached by the pools.
        self.toggle_optimizer(opt_d)
        loss_d_a = self.adversarial.discriminator_loss(
            self.d_a(real_a), self.d_a(self.pool_a.query(fake_a))
        )
        loss_d_b = self.adversarial.discriminator_loss(
            self.d_b(real_b), self.d_b(self.pool_b.query(fake_b))
        )
        loss_d = 0.5 * (loss_d_a + loss_d_b)
        opt_d.zero_grad()
        self.manual_backward(loss_d)
        self._clip(opt_d)
        opt_d.step()
        self.untoggle_optimizer(opt_d)

        losses.update(
            {"train/g": loss_g, "train/d": loss_d, "train/d_a": loss_d_a, "train/d_b": loss_d_b}
        )
        batch_size = real_a.shape[0]
        self.log_dict({k: v.detach() for k, v in losses.items()}, batch_size=batch_size)
        self.log_dict(
            {"g": loss_g.detach(), "d": loss_d.detach()},
            prog_bar=True,
            logger=False,
            batch_size=batch_size,
        )

    def _clip(self, optimizer: Any) -> None:
        if self.hparams.gradient_clip_norm is not None:
            self.clip_gradients(
                optimizer,
                gradient_clip_val=self.hparams.gradient_clip_norm,
                gradient_clip_algorithm="norm",
            )

    def on_train_epoch_end(self) -> None:
        for scheduler in self.lr_schedulers():
            scheduler.step()

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        real_a, real_b = batch["content"], batch["style"]
        fake_b, fake_a = self.g_ab(real_a), self.g_ba(real_b)
        loss_cycle = cycle_loss(self.g_ba(fake_b), real_a) + cycle_loss(self.g_ab(fake_a), real_b)
        loss_adv = self.adversarial.generator_loss(
            self.d_b(fake_b)
        ) + self.adversarial.generator_loss(self.d_a(fake_a))
        self.log_dict(
            {"val/cycle": loss_cycle, "val/g_adv": loss_adv},
            batch_size=real_a.shape[0],
            sync_dist=True,
        )
        if self.metrics and not self.trainer.sanity_checking:
            self.metrics.update(fake_b, real_a, real_b, batch.get("target"))

    def on_validation_start(self) -> None:
        if self.metrics:
            self.metrics.to(self.device)

    def on_validation_epoch_end(self) -> None:
        if self.metrics and not self.trainer.sanity_checking:
            # Already synced across processes by torchmetrics.
            self.log_dict({f"val/{k}": v for k, v in self.metrics.compute().items()})

    @torch.no_grad()
    def sample_images(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Named image rows for a sample grid: content, translated, reconstructed, style."""
        real_a = batch["content"].to(self.device)
        fake_b = self.g_ab(real_a)
        return {
            "content": real_a,
            "translated": fake_b,
            "reconstructed": self.g_ba(fake_b),
            "style": batch["style"].to(self.device),
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["image_pools"] = {"a": self.pool_a.state_dict(), "b": self.pool_b.state_dict()}
        if self.metrics:
            checkpoint["metrics_best"] = dict(self.metrics.best)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        pools = checkpoint.get("image_pools", {})
        for key, pool in (("a", self.pool_a), ("b", self.pool_b)):
            if key in pools:
                pool.load_state_dict(pools[key])
        if self.metrics:
            self.metrics.best.update(checkpoint.get("metrics_best", {}))
