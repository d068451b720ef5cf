"""pix2pix (Isola et al. 2017): paired translation x (content, A) -> y (target, B).

A U-Net generator G and a *conditional* PatchGAN D that judges pairs: D(x, y) sees the channel
concatenation [x, y] (6 channels), so it asks "is y a real translation of this x?", not only
"is y a real B?". With the vanilla objective (the paper's):

    L_cGAN(G, D) = E[log D(x, y)] + E[log(1 - D(x, G(x)))]
    L_L1(G)      = E‖y - G(x)‖₁
    G* = arg min_G max_D L_cGAN(G, D) + λ_L1 · L_L1(G)        (λ_L1 = 100)

G minimises the non-saturating -log D(x, G(x)) + λ_L1·‖y - G(x)‖₁; D's loss is halved, which
slows D relative to G, as in the paper. The adversarial terms are those of ``adversarial``
(objective, DiffAugment, gradient penalty / R1): D's input is the pair, so DiffAugment shifts
and cuts x and y together, and its colour op works per 3-channel image.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from style_gan.errors import ConfigError
from style_gan.gan.adversarial import Adversarial
from style_gan.methods.base import Batch, GanMethod, OptimizerFactory
from style_gan.metrics.suite import MetricSuite
from style_gan.nets.init import init_weights

NO_TARGET = (
    "pix2pix needs paired data: batches must carry a 'target' (the true translation of each "
    "content image); use data=paired data.root=/path/to/pairs, or the demo data (data=demo)"
)


def pair(source: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """The conditional D's input: source and (real or fake) target, channel-concatenated."""
    return torch.cat([source, image], dim=1)


class Pix2Pix(GanMethod):
    """pix2pix with manual dual-optimizer steps.

    ``generator``/``discriminator`` build one network each; the discriminator must take
    6 input channels (source and target concatenated). ``lambda_l1`` weights ‖y - G(x)‖₁.
    ``ema_decay`` (None = off) keeps an exponential moving average of G, which then
    validates and samples. ``gradient_clip_norm`` None = no clipping. The learning
    rate is constant for ``lr_constant_epochs`` then decays linearly to ~0 over
    ``lr_decay_epochs``. ``metrics`` (None = none) score G's translations of the validation
    split. Evaluation runs G in eval mode (dropout off, BatchNorm on running statistics).
    """

    critic_sees_source: ClassVar[bool] = True

    def __init__(
        self,
        generator: Callable[[], nn.Module],
        discriminator: Callable[[], nn.Module],
        optimizer_g: OptimizerFactory,
        optimizer_d: OptimizerFactory,
        adversarial: Adversarial | None = None,
        lambda_l1: float = 100.0,
        init_type: str = "normal",
        init_gain: float = 0.02,
        lr_constant_epochs: int = 100,
        lr_decay_epochs: int = 100,
        ema_decay: float | None = None,
        gradient_clip_norm: float | None = None,
        metrics: MetricSuite | None = None,
    ) -> None:
        super().__init__(optimizer_g, optimizer_d, lr_constant_epochs, lr_decay_epochs, metrics)
        if lambda_l1 < 0:
            raise ConfigError(f"model.lambda_l1={lambda_l1} must be >= 0 (100 in the paper)")
        self.generator = init_weights(generator(), init_type, init_gain)
        self.discriminator = init_weights(discriminator(), init_type, init_gain)
        first_conv = next(
            (m for m in self.discriminator.modules() if isinstance(m, nn.Conv2d)), None
        )
        # A projected D's first conv follows its frozen backbone: it says what it takes.
        in_channels = getattr(self.discriminator, "in_channels", None) or (
            first_conv.in_channels if first_conv is not None else 6
        )
        if in_channels != 6:
            raise ConfigError(
                f"pix2pix's discriminator sees source and target concatenated (6 channels), "
                f"but model.discriminator.in_channels={in_channels}; set it to 6"
            )
        self.keep_ema(ema_decay)
        self.adversarial = adversarial or Adversarial(mode="vanilla")

    def generator_parameters(self) -> Iterable[nn.Parameter]:
        return self.generator.parameters()

    def discriminator_parameters(self) -> Iterable[nn.Parameter]:
        return self.discriminator.parameters()

    @staticmethod
    def source_and_target(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) of a paired batch; a batch without ``target`` is a config error."""
        if "target" not in batch:
            raise ConfigError(NO_TARGET)
        return batch["content"], batch["target"]

    def training_step(self, batch: Batch, batch_idx: int) -> None:
        source, target = self.source_and_target(batch)

        def generator_step() -> tuple[dict[str, torch.Tensor], torch.Tensor]:
            fake = self.generator(source)
            loss_adv = self.adversarial.generator_loss(self.discriminator, pair(source, fake))
            loss_l1 = F.l1_loss(fake, target)
            return {
                "train/g": loss_adv + self.hparams.lambda_l1 * loss_l1,
                "train/g_adv": loss_adv,
                "train/l1": loss_l1,
            }, fake

        losses, fake = self.generator_phase(generator_step)
        # On the same fake (detached by the objective), at half G's pace as in the paper.
        judged = (self.discriminator, pair(source, target), pair(source, fake))
        losses |= self.discriminator_phase({"": judged}, weight=0.5)
        self.log_losses(losses, batch_size=source.shape[0])

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        source, target = self.source_and_target(batch)
        fake = self(source)
        loss_adv = self.adversarial.loss.generator_loss(self.discriminator(pair(source, fake)))
        self.log_dict(
            {"val/l1": F.l1_loss(fake, target), "val/g_adv": loss_adv},
            batch_size=source.shape[0],
            sync_dist=True,
        )
        self.update_metrics(batch, fake)

    @torch.no_grad()
    def sample_images(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Named image rows for a sample grid: content, translated, target."""
        source, target = self.source_and_target(batch)
        source = source.to(self.device)
        return {"content": source, "translated": self(source), "target": target.to(self.device)}
