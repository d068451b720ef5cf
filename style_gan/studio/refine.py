"""Refining a trained generator on one content image (and, for the exemplar method, one style
image): a few steps of fine-tuning from its current weights, with the loss weights a person's
feedback has set.

The loss of G on crops x of the content image, with s the style weight and c the content weight:

    L(G) = s · L_style(G(x)) / |L_style⁰| + c · L_content(G(x), x) / L_content⁰

- L_style of a domain method (CycleGAN, CUT, FastCUT, pix2pix) is its own adversarial loss
  against the checkpoint's frozen discriminator D of the style domain: G moves towards what
  D learned that domain looks like. Of the exemplar method it is AdaIN's style loss (channel
  means and deviations of φ's maps) against the style image.
- L_content is the MSE of φ's stride-16 maps of G(x) and x: objects and layout, not pixels.
- Each term is divided by its value at the first step (⁰), so s and c are relative pulls
  whatever the raw scale of a loss: s = c = 1 pulls equally.

φ is the frozen EfficientNet-Lite0 shipped with the package (no download). The generator is
fine-tuned in eval mode (instance norms use the crop's statistics, dropout is off) with Adam.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from style_gan.errors import DivergenceError
from style_gan.gan.perceptual import content_loss, style_loss
from style_gan.inference.critic import TrainedCritic
from style_gan.nets.feature_networks import feature_network

# φ's stride-16 map carries objects and layout; its three shallower maps, texture and colour.
CONTENT_LAYER = 3
STYLE_LAYERS = (0, 1, 2)
# Adam's β₁ = 0.5 as the methods train with; a rate below theirs (2e-4): a refine starts
# from a trained model and should move it a little.
ADAM_BETAS = (0.5, 0.999)


@dataclass(frozen=True)
class RefineStep:
    """What one step did: its number (from 1), of how many, and the two losses before
    weighting."""

    step: int
    steps: int
    style_loss: float
    content_loss: float


class Refiner:
    """Fine-tunes ``generator`` (changed in place) on one content image.

    ``critic``: the style domain's discriminator (domain methods); ``style``: the exemplar
    (the exemplar method) — exactly one of them. Images are (1, 3, H, W) in [-1, 1]; each step
    trains on a random crop of at most ``crop_side`` pixels a side (a multiple of the
    generator's ``size_multiple``) and a random horizontal flip.
    """

    def __init__(
        self,
        generator: nn.Module,
        content: torch.Tensor,
        critic: TrainedCritic | None = None,
        style: torch.Tensor | None = None,
        crop_side: int = 256,
        lr: float = 1e-4,
        seed: int = 0,
        feature_net: nn.Module | None = None,
    ) -> None:
        if (critic is None) == (style is None):
            raise ValueError("a refine needs a critic (domain methods) or a style image")
        self.generator = generator
        self.content = content
        self.critic = critic
        self.style = style
        self.crop_side = crop_side
        self.features = feature_net or feature_network("efficientnet_lite0")
        self.features.to(content.device)
        if critic is not None:
            critic.module.to(content.device)
        self.optimizer = torch.optim.Adam(generator.parameters(), lr=lr, betas=ADAM_BETAS)
        self.random = torch.Generator().manual_seed(seed)
        self.scales: tuple[float, float] | None = None

    def run(
        self,
        steps: int,
        style_weight: float,
        content_weight: float,
        on_step: Callable[[RefineStep], bool] | None = None,
    ) -> int:
        """Up to ``steps`` updates; ``on_step`` sees each and returns False to stop early.
        Returns the number of steps done. A non-finite loss raises DivergenceError before it
        reaches the weights."""
        self.generator.eval().requires_grad_(True)
        done = 0
        try:
            for step in range(1, steps + 1):
                loss_style, loss_content = self._losses(self._crop())
                if self.scales is None:
                    self.scales = (
                        max(abs(loss_style.item()), 1e-8),
                        max(loss_content.item(), 1e-8),
                    )
                total = (
                    style_weight * loss_style / self.scales[0]
                    + content_weight * loss_content / self.scales[1]
                )
                if not torch.isfinite(total):
                    raise DivergenceError(
                        f"the refine's loss is {total.item()} at step {step}: lower refine.lr "
                        "or the style weight (Weaker style)"
                    )
                self.optimizer.zero_grad(set_to_none=True)
                total.backward()
                self.optimizer.step()
                done = step
                report = RefineStep(step, steps, loss_style.item(), loss_content.item())
                if on_step is not None and on_step(report) is False:
                    break
        finally:
            self.generator.requires_grad_(False)
        return done

    def _losses(self, content: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.style is not None:
            output = self.generator(content, self.style)
            loss_style = style_loss(self.features, output, self.style, STYLE_LAYERS)
        else:
            output = self.generator(content)
            loss_style = self.critic.generator_loss(content, output)
        return loss_style, content_loss(self.features, output, content, CONTENT_LAYER)

    def _crop(self) -> torch.Tensor:
        multiple = int(getattr(self.generator, "size_multiple", 1))
        _, _, height, width = self.content.shape
        side_h = max(multiple, min(self.crop_side, height) // multiple * multiple)
        side_w = max(multiple, min(self.crop_side, width) // multiple * multiple)
        top = int(torch.randint(0, height - side_h + 1, (1,), generator=self.random))
        left = int(torch.randint(0, width - side_w + 1, (1,), generator=self.random))
        crop = self.content[:, :, top : top + side_h, left : left + side_w]
        if torch.rand((), generator=self.random) < 0.5:
            crop = crop.flip(-1)
        return crop
