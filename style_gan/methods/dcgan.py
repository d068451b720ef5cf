"""DCGAN (Radford et al. 2016): learn the distribution of the style-domain images, noise -> image.

The seed documents' reference architecture. A generator G maps noise z ~ N(0, I) to an image,
a discriminator D outputs one logit per image. The content images are not used: DCGAN has no
input image, so it *generates* style-domain images rather than translating content. Per batch
of real style images x, one generator phase then one discriminator phase on the same fakes:

    L_G = L_adv(D(G(z)))                      vanilla: -log σ(D(G(z)))   (non-saturating)
    L_D = L_D(D(x), D(G(z)))                  vanilla: -log σ(D(x)) - log(1 - σ(D(G(z))))

i.e. D maximises E[log D(x)] + E[log(1 - D(G(z)))] and G maximises E[log D(G(z))] instead of
minimising E[log(1 - D(G(z)))] (the paper's and Goodfellow et al.'s practice: the same fixed
point, stronger gradients early on). L_adv and L_D are those of ``adversarial`` (objective,
DiffAugment, gradient penalty / R1), so lsgan/hinge/wgangp work here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ClassVar

import torch
from torch import nn

from style_gan.errors import ConfigError
from style_gan.gan.adversarial import Adversarial
from style_gan.methods.base import Batch, GanMethod, OptimizerFactory
from style_gan.metrics.suite import MetricSuite
from style_gan.nets.init import init_weights

BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


class DCGAN(GanMethod):
    """DCGAN with manual dual-optimizer steps, trained on ``batch["style"]`` alone.

    ``generator`` must expose ``latent_dim`` and ``image_size`` (like
    :class:`~style_gan.nets.dcgan.DCGANGenerator`); ``discriminator`` outputs one logit per
    image. ``num_fixed_samples`` noise vectors drawn with ``fixed_noise_seed`` (independent of
    the run's seed) are a buffer, so checkpoints carry them and the sample grid shows the same
    z all through training and after a resume. ``ema_decay`` (None = off) keeps an exponential
    moving average of G for validation and samples; ``gradient_clip_norm`` None = no
    clipping; ``lr_decay_epochs`` 0 = the paper's constant learning rate.

    ``metrics`` may only hold style-distribution metrics (FD/KID): there is no content image a
    generated sample could preserve, so content and target metrics raise a ConfigError.
    """

    generator_input: ClassVar[str] = "noise"

    def __init__(
        self,
        generator: Callable[[], nn.Module],
        discriminator: Callable[[], nn.Module],
        optimizer_g: OptimizerFactory,
        optimizer_d: OptimizerFactory,
        adversarial: Adversarial | None = None,
        num_fixed_samples: int = 16,
        fixed_noise_seed: int = 0,
        init_type: str = "normal",
        init_gain: float = 0.02,
        lr_constant_epochs: int = 25,
        lr_decay_epochs: int = 0,
        ema_decay: float | None = None,
        gradient_clip_norm: float | None = None,
        metrics: MetricSuite | None = None,
    ) -> None:
        if metrics is not None and (len(metrics.content) or len(metrics.target)):
            raise ConfigError(
                "DCGAN generates from noise, so content metrics (semantic, lpips, ssim, psnr, "
                f"artfid) do not apply (got {[*metrics.content, *metrics.target]}); use "
                "metrics=fd_effnet|kid_effnet|fid|kid"
            )
        if num_fixed_samples < 1:
            raise ConfigError(f"model.num_fixed_samples={num_fixed_samples} must be >= 1")
        super().__init__(optimizer_g, optimizer_d, lr_constant_epochs, lr_decay_epochs, metrics)
        self.generator = init_weights(generator(), init_type, init_gain)
        self.discriminator = init_weights(discriminator(), init_type, init_gain)
        self.keep_ema(ema_decay)
        self.adversarial = adversarial or Adversarial(mode="vanilla")
        if self.adversarial.mode == "wgangp" and any(
            isinstance(m, BATCH_NORMS) for m in self.discriminator.modules()
        ):
            raise ConfigError(
                "model.adversarial.mode=wgangp penalises D's gradient per sample, which batch "
                "norm couples; set model.discriminator.norm=instance or none"
            )
        self.latent_dim: int = self.generator.latent_dim
        self.image_size: int = self.generator.image_size
        seeded = torch.Generator().manual_seed(fixed_noise_seed)
        self.register_buffer(
            "fixed_noise", torch.randn(num_fixed_samples, self.latent_dim, 1, 1, generator=seeded)
        )

    def noise(self, batch_size: int) -> torch.Tensor:
        """Fresh z ~ N(0, I) of shape (batch_size, latent_dim, 1, 1) on the model's device."""
        return torch.randn(batch_size, self.latent_dim, 1, 1, device=self.device)

    def translate(self, batch: Batch) -> torch.Tensor:
        """Not a translation: as many *generated* images as the batch has style images, from
        fresh noise (the batch's images are not inputs). Metrics compare their distribution
        with the style images'."""
        return self(self.noise(batch["style"].shape[0]))

    def generator_parameters(self) -> Iterable[nn.Parameter]:
        return self.generator.parameters()

    def discriminator_parameters(self) -> Iterable[nn.Parameter]:
        return self.discriminator.parameters()

    def _real(self, batch: Batch) -> torch.Tensor:
        real = batch["style"]
        if real.shape[-2:] != (self.image_size, self.image_size):
            raise ConfigError(
                f"DCGAN generates {self.image_size} px images but the style images are "
                f"{tuple(real.shape[-2:])}; set model.generator.image_size to the data's "
                "image size (data.image_size or data.crop_size)"
            )
        return real

    def training_step(self, batch: Batch, batch_idx: int) -> None:
        real = self._real(batch)

        def generator_step() -> tuple[dict[str, torch.Tensor], torch.Tensor]:
            fake = self.generator(self.noise(real.shape[0]))
            return {"train/g": self.adversarial.generator_loss(self.discriminator, fake)}, fake

        losses, fake = self.generator_phase(generator_step)
        # On the same fakes (detached by the objective).
        losses |= self.discriminator_phase({"": (self.discriminator, real, fake)})
        self.log_losses(losses, batch_size=real.shape[0])

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        real = self._real(batch)
        fake = self.translate(batch)
        fake_logits = self.discriminator(fake)
        loss = self.adversarial.loss
        self.log_dict(
            {
                "val/g_adv": loss.generator_loss(fake_logits),
                "val/d": loss.discriminator_loss(self.discriminator(real), fake_logits),
            },
            batch_size=real.shape[0],
            sync_dist=True,
        )
        self.update_metrics(batch, fake)

    @torch.no_grad()
    def sample_images(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Image columns for a sample grid: G(fixed noise), the same z at every call, split into
        ``generated_<j>`` columns of as many rows as the batch has examples, then ``style``
        (real style images, the last column)."""
        style = batch["style"].to(self.device)
        fakes = self(self.fixed_noise)
        rows = min(style.shape[0], fakes.shape[0])
        columns = fakes.shape[0] // rows
        samples = {f"generated_{j}": fakes[j * rows : (j + 1) * rows] for j in range(columns)}
        samples["style"] = style
        return samples
