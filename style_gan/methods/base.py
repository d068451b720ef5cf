"""Plumbing every GAN method shares: manual optimization with one G and one D optimizer, the
learning-rate schedule, gradient clipping, the generator's weight average (EMA), the generator a
trained model is used through, and validation metrics. The math of each method (its networks,
losses and training step) stays in the method's own module."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

import lightning as L
import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from style_gan.errors import ConfigError, DivergenceError
from style_gan.gan.schedules import LinearDecay
from style_gan.metrics.suite import MetricSuite
from style_gan.nets.ema import ModelEMA

Batch = dict[str, Any]
OptimizerFactory = Callable[[Iterable[nn.Parameter]], Optimizer]

# What the methods receive as built objects: the config that built them is stored with the
# checkpoint, so they are no hyperparameters.
INJECTED = ("generator", "discriminator", "optimizer_g", "optimizer_d", "adversarial", "metrics")
# What a generator phase hands the discriminator phase (a method's fakes).
Fakes = TypeVar("Fakes")

# What an inference generator takes, by GanMethod.generator_input.
GENERATOR_INPUTS = ("image", "image_and_style", "noise")


class GanMethod(L.LightningModule):
    """Base of the methods: subclasses build their networks, call ``keep_ema`` once the
    generators are initialised, then implement ``generator_parameters``/
    ``discriminator_parameters``, ``training_step`` (``generator_phase`` with the method's
    losses, then ``discriminator_phase`` on what its discriminators judge, with the method's
    ``adversarial`` objective), ``translate`` (the output a batch is scored on) and
    ``sample_images`` (rows for grids).

    ``generators`` names, per direction, the attribute holding the generator a trained model
    is used through (its EMA copy, when kept, is ``<name>_ema``); ``generator_input`` says how
    it is called: ``image`` G(x), ``image_and_style`` G(content, style, α), ``noise`` G(z).
    ``critics`` names, per direction, the discriminator that judges that generator's outputs
    (what the studio refines against); ``critic_sees_source``: it judges (source, output)
    pairs, not outputs alone.
    Every constructor argument but the injected objects (``INJECTED``) is saved as a
    hyperparameter.

    ``metrics`` (None = none) are kept out of the module tree: their feature networks belong
    in no checkpoint and no DDP wrapper (torchmetrics syncs their states itself).
    """

    # Lightning's global_step counts optimizer steps; with G and D that is two per batch.
    optimizer_steps_per_batch = 2
    generators: ClassVar[dict[str, str]] = {"AB": "generator"}
    generator_input: ClassVar[str] = "image"
    critics: ClassVar[dict[str, str]] = {"AB": "discriminator"}
    critic_sees_source: ClassVar[bool] = False

    def __init__(
        self,
        optimizer_g: OptimizerFactory,
        optimizer_d: OptimizerFactory,
        lr_constant_epochs: int,
        lr_decay_epochs: int,
        metrics: MetricSuite | None,
    ) -> None:
        super().__init__()
        # Collects the arguments of this and the subclass's __init__ (Lightning walks the frames).
        self.save_hyperparameters(ignore=list(INJECTED))
        self.automatic_optimization = False
        self.optimizer_g = optimizer_g
        self.optimizer_d = optimizer_d
        self.lr_schedule = LinearDecay(lr_constant_epochs, lr_decay_epochs)
        self.__dict__["metrics"] = metrics
        # 2 × batch + phase (0 = G, 1 = D) of the first non-finite loss, 0 while there is none;
        # on the loss's device (see backward_and_step).
        self._first_non_finite: torch.Tensor | None = None

    def keep_ema(self, decay: float | None) -> None:
        """Keep an exponential moving average ``<name>_ema`` of each generator in
        ``generators`` (``decay`` None = off); it validates, samples and is what a trained model
        is used through."""
        for name in self.generators.values():
            ema = None if decay is None else ModelEMA(getattr(self, name), decay)
            setattr(self, f"{name}_ema", ema)

    def update_ema(self) -> None:
        """Move each kept average towards its live generator (after G's step)."""
        for name in self.generators.values():
            ema = getattr(self, f"{name}_ema")
            if ema is not None:
                ema.update(getattr(self, name))

    def inference_generator(self, direction: str = "AB") -> nn.Module:
        """The generator a trained model is used through for ``direction`` (AB, or BA where a
        method has one): the EMA weights when kept, else the live ones."""
        if direction not in self.generators:
            raise ConfigError(
                f"direction={direction!r} is not available for {type(self).__name__}; "
                f"choose one of: {', '.join(self.generators)}"
            )
        name = self.generators[direction]
        ema = getattr(self, f"{name}_ema", None)
        return getattr(self, name) if ema is None else ema.module

    def forward(self, *inputs: Any, **kwargs: Any) -> torch.Tensor:
        """The trained model's output: the AB inference generator on ``inputs`` (see
        ``generator_input``), images in [-1, 1]."""
        return self.inference_generator()(*inputs, **kwargs)

    def generator_parameters(self) -> Iterable[nn.Parameter]:
        raise NotImplementedError

    def discriminator_parameters(self) -> Iterable[nn.Parameter]:
        raise NotImplementedError

    def translate(self, batch: Batch) -> torch.Tensor:
        """The images a batch is scored on by metrics and evaluation, in [-1, 1]: by default
        its content images through the AB generator."""
        return self(batch["content"])

    def configure_optimizers(self) -> Any:
        opt_g = self.optimizer_g(self.generator_parameters())
        opt_d = self.optimizer_d(self.discriminator_parameters())
        schedulers = [
            {"scheduler": LambdaLR(opt, self.lr_schedule), "interval": "epoch", "name": name}
            for opt, name in ((opt_g, "lr/generator"), (opt_d, "lr/discriminator"))
        ]
        return [opt_g, opt_d], schedulers

    @property
    def batches_done(self) -> int:
        """Training batches finished in the whole run (``global_step`` counts optimizer steps)."""
        return self.trainer.global_step // self.optimizer_steps_per_batch

    def generator_phase(
        self, step: Callable[[], tuple[dict[str, torch.Tensor], Fakes]]
    ) -> tuple[dict[str, torch.Tensor], Fakes]:
        """One generator update. ``step()`` computes G's terms by name, the total as
        ``train/g``, while the toggle keeps D's weights still (gradients reach G through D, not
        D's weights), and returns them with the fakes the discriminator phase judges; then G
        steps and the weight average follows. Returns what ``step`` did."""
        optimizer = self.optimizers()[0]
        with self.toggled_optimizer(optimizer):
            terms, fakes = step()
            self.backward_and_step(optimizer, terms["train/g"])
        self.update_ema()
        return terms, fakes

    def discriminator_phase(
        self,
        judged: dict[str, tuple[nn.Module, torch.Tensor, torch.Tensor]],
        weight: float = 1.0,
    ) -> dict[str, torch.Tensor]:
        """One discriminator update on ``{name: (D, real, fake)}``:

            L_D = weight · Σ_name L_D(D(real), D(fake)) + penalties   (fakes detached)

        with the method's ``adversarial`` objective (DiffAugment, gradient penalty, R1).
        Returns ``train/d``, ``train/d_<name>`` per discriminator when there are several, and
        ``train/d_<penalty>`` summed over them."""
        optimizer = self.optimizers()[1]
        terms: dict[str, torch.Tensor] = {}
        with self.toggled_optimizer(optimizer):
            total = torch.zeros((), device=self.device)
            for name, (discriminator, real, fake) in judged.items():
                loss, penalties = self.adversarial.discriminator_loss(
                    discriminator, real, fake, self.batches_done
                )
                total = total + loss
                if len(judged) > 1:
                    terms[f"train/d_{name}"] = loss
                for penalty, value in penalties.items():
                    key = f"train/d_{penalty}"
                    terms[key] = terms[key] + value if key in terms else value
            terms["train/d"] = weight * total
            self.backward_and_step(optimizer, terms["train/d"])
        return terms

    def backward_and_step(self, optimizer: Any, loss: torch.Tensor) -> None:
        """One phase's update, inside ``with self.toggled_optimizer(optimizer)`` (the phases
        above call it): zero_grad →
        manual_backward → step, which clips to ``hparams.gradient_clip_norm`` (None = no
        clipping) in ``on_before_optimizer_step``.
        Through Lightning's calls, so precision plugins and DDP see every step.

        A non-finite loss is noted on the device, not read: reading a GPU value on the host
        waits for all the work queued before it, every phase. ``raise_if_diverged`` reads it
        every ``trainer.log_every_n_steps`` batches, before validation and before any
        checkpoint is written, so no checkpoint holds a diverged state.
        """
        phase = 0 if optimizer is self.optimizers()[0] else 1
        if self._first_non_finite is None:
            self._first_non_finite = torch.zeros((), dtype=torch.long, device=loss.device)
        first = self._first_non_finite
        bad = ~torch.isfinite(loss.detach()) & (first == 0)
        first.copy_(torch.where(bad, 2 * (self.batches_done + 1) + phase, first))
        optimizer.zero_grad()
        self.manual_backward(loss)
        optimizer.step()

    def raise_if_diverged(self) -> None:
        """DivergenceError naming the phase and batch of the first non-finite loss, if any."""
        code = 0 if self._first_non_finite is None else int(self._first_non_finite.item())
        if code:
            batch, phase = divmod(code, 2)
            raise DivergenceError(
                f"the {('generator', 'discriminator')[phase]} loss is not finite at batch "
                f"{batch}: training diverged; lower the learning rates (model.optimizer_g.lr, "
                "model.optimizer_d.lr) or set model.gradient_clip_norm, and resume from the "
                "last checkpoint"
            )

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.batches_done % self.trainer.log_every_n_steps == 0:
            self.raise_if_diverged()

    def on_train_end(self) -> None:
        self.raise_if_diverged()

    def on_before_optimizer_step(self, optimizer: Optimizer) -> None:
        # Clipping happens here, inside optimizer.step(): under 16-mixed the precision plugin
        # has unscaled the gradients by then (clipped before, they are still multiplied by the
        # loss scale, ~65536, Lightning #18089); for the other precisions it is the same place.
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
            # Once per epoch: a run resumed from the checkpoint written at an epoch's end
            # (max_batches reached there) runs this hook again for that epoch.
            if scheduler.last_epoch <= self.current_epoch:
                scheduler.step()

    def update_metrics(self, batch: Batch, translated: torch.Tensor) -> None:
        """Feed one validation batch to the metrics (not during the sanity check)."""
        if self.metrics and not self.trainer.sanity_checking:
            self.metrics.update(translated, batch["content"], batch["style"], batch.get("target"))

    def on_validation_start(self) -> None:
        self.raise_if_diverged()
        if self.metrics:
            self.metrics.to(self.device)

    def on_validation_epoch_end(self) -> None:
        if self.metrics and not self.trainer.sanity_checking:
            # Already synced across processes by torchmetrics.
            self.log_dict({f"val/{k}": v for k, v in self.metrics.compute().items()})

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.raise_if_diverged()
        if self.metrics:
            checkpoint["metrics_best"] = dict(self.metrics.best)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.metrics:
            self.metrics.best.update(checkpoint.get("metrics_best", {}))
