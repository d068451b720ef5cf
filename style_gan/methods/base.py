"""Plumbing every GAN method shares: manual optimization with one G and one D optimizer, the
learning-rate schedule, gradient clipping, and validation metrics. The math of each method
(its networks, losses and training step) stays in the method's own module."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import lightning as L
import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from style_gan.metrics.suite import MetricSuite
from style_gan.schedules import LinearDecay

Batch = dict[str, Any]
OptimizerFactory = Callable[[Iterable[nn.Parameter]], Optimizer]


class GanMethod(L.LightningModule):
    """Base of the methods: subclasses build their networks, then implement
    ``generator_parameters``/``discriminator_parameters``, ``training_step`` (G phase, then
    D phase, each toggle → zero_grad → manual_backward → ``clip`` → step → untoggle),
    ``translate`` (the output a batch is scored on) and ``sample_images`` (rows for grids).

    ``metrics`` (None = none) are kept out of the module tree: their feature networks belong
    in no checkpoint and no DDP wrapper (torchmetrics syncs their states itself).
    """

    # Lightning's global_step counts optimizer steps; with G and D that is two per batch.
    optimizer_steps_per_batch = 2

    def __init__(
        self,
        optimizer_g: OptimizerFactory,
        optimizer_d: OptimizerFactory,
        lr_constant_epochs: int,
        lr_decay_epochs: int,
        metrics: MetricSuite | None,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.optimizer_g = optimizer_g
        self.optimizer_d = optimizer_d
        self.lr_schedule = LinearDecay(lr_constant_epochs, lr_decay_epochs)
        self.__dict__["metrics"] = metrics

    def generator_parameters(self) -> Iterable[nn.Parameter]:
        raise NotImplementedError

    def discriminator_parameters(self) -> Iterable[nn.Parameter]:
        raise NotImplementedError

    def translate(self, batch: Batch) -> torch.Tensor:
        """The images a batch is scored on by metrics and evaluation, in [-1, 1]."""
        raise NotImplementedError

    def configure_optimizers(self) -> Any:
        opt_g = self.optimizer_g(self.generator_parameters())
        opt_d = self.optimizer_d(self.discriminator_parameters())
        schedulers = [
            {"scheduler": LambdaLR(opt, self.lr_schedule), "interval": "epoch", "name": name}
            for opt, name in ((opt_g, "lr/generator"), (opt_d, "lr/discriminator"))
        ]
        return [opt_g, opt_d], schedulers

    def clip(self, optimizer: Any) -> None:
        """Clip the phase's gradients to ``hparams.gradient_clip_norm`` (None = no clipping)."""
        max_norm = self.hparams.get("gradient_clip_norm")
        if max_norm is not None:
            self.clip_gradients(
                optimizer, gradient_clip_val=max_norm, gradient_clip_algorithm="norm"
            )

    def log_losses(self, losses: dict[str, torch.Tensor], batch_size: int) -> None:
        """Per-batch losses to the loggers; ``train/g`` and ``train/d`` also on the bar."""
        self.log_dict({k: v.detach() for k, v in losses.items()}, batch_size=batch_size)
        self.log_dict(
            {"g": losses["train/g"].detach(), "d": losses["train/d"].detach()},
            prog_bar=True,
            logger=False,
            batch_size=batch_size,
        )

    def on_train_epoch_end(self) -> None:
        for scheduler in self.lr_schedulers():
            scheduler.step()

    def update_metrics(self, batch: Batch, translated: torch.Tensor) -> None:
        """Feed one validation batch to the metrics (not during the sanity check)."""
        if self.metrics and not self.trainer.sanity_checking:
            self.metrics.update(translated, batch["content"], batch["style"], batch.get("target"))

    def on_validation_start(self) -> None:
        if self.metrics:
            self.metrics.to(self.device)

    def on_validation_epoch_end(self) -> None:
        if self.metrics and not self.trainer.sanity_checking:
            # Already synced across processes by torchmetrics.
            self.log_dict({f"val/{k}": v for k, v in self.metrics.compute().items()})

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.metrics:
            checkpoint["metrics_best"] = dict(self.metrics.best)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.metrics:
            self.metrics.best.update(checkpoint.get("metrics_best", {}))
