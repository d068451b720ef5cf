"""Semantic preservation: does the stylised image still show what the content image showed?"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric

from style_gan.metrics.features import EfficientNetFeatures


class SemanticPreservation(Metric):
    """Agreement of a trained classifier's view of content and stylised images.

    ``cosine``: mean cosine similarity of the pooled deepest features (1 = the same
    representation). ``class_agreement``: fraction of pairs where the content image's top-1
    ImageNet class is among the stylised image's ``top_k`` classes (1 = the same top-1 class).
    Both use EfficientNet-Lite0. With a ``predictor`` of your own (a module mapping a
    [0, 1] batch to class logits (B, C) or segmentation logits (B, C, H, W)),
    ``prediction_agreement`` is the fraction of images, or pixels, whose argmax agrees.

    What it measures: whether the objects and layout an ImageNet classifier relies on survive
    the transfer. Limits: an ImageNet network is partly texture-biased, so a strong style
    change lowers the score even when a person sees the same scene; it knows ImageNet's 1000
    classes and no segmentation, so without a segmenter it says nothing about where things
    are. Inputs: uint8 [0, 255] or float [0, 1] batches.

    Why top-5 by default: on photo crops the classifier is unsure (mean top-1 probability
    0.40-0.44 at 64-224 px), so the exact top-1 class flips under light noise (agreement with
    the same crop plus N(0, 8/255) noise: 0.60 at 64 px, 0.59 at 224 px) and says little; the
    content's class among the top 5 mostly holds under that noise (0.86 at both sizes), drops
    under the demo's true ink print (0.46 / 0.61) and is 0.04 / 0.05 against an unrelated
    crop (``benchmarks/class_agreement.py``).
    """

    higher_is_better = True
    full_state_update = False

    def __init__(
        self,
        weights: str | Path | None = None,
        predictor: nn.Module | None = None,
        top_k: int = 5,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        self.features = EfficientNetFeatures(weights)
        self.top_k = top_k
        self.predictor = None if predictor is None else predictor.eval().requires_grad_(False)
        self.add_state("cosine_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state(
            "agreement_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum"
        )
        self.add_state(
            "prediction_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum"
        )
        self.add_state("total", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, content: torch.Tensor, stylised: torch.Tensor) -> None:
        if content.shape[0] != stylised.shape[0]:
            raise ValueError(
                f"content and stylised batches differ in size: {content.shape[0]} vs "
                f"{stylised.shape[0]}"
            )
        content_features, stylised_features = self.features(content), self.features(stylised)
        self.cosine_sum += F.cosine_similarity(content_features, stylised_features).double().sum()
        content_class = self.features.net.classify(content_features).argmax(-1, keepdim=True)
        stylised_top = self.features.net.classify(stylised_features).topk(self.top_k, -1).indices
        self.agreement_sum += (stylised_top == content_class).any(-1).double().sum()
        if self.predictor is not None:
            batch = content.shape[0]
            agree = self._predict(content) == self._predict(stylised)
            self.prediction_sum += agree.reshape(batch, -1).double().mean(1).sum()
        self.total += content.shape[0]

    def _predict(self, images: torch.Tensor) -> torch.Tensor:
        """The predictor's argmax over classes, per image or per pixel."""
        unit = images.float() / 255 if images.dtype == torch.uint8 else images
        return self.predictor(unit).argmax(1)

    def compute(self) -> dict[str, torch.Tensor]:
        total = self.total.clamp(min=1)
        values = {"cosine": self.cosine_sum / total, "class_agreement": self.agreement_sum / total}
        if self.predictor is not None:
            values["prediction_agreement"] = self.prediction_sum / total
        return values
