"""A run's validation metrics, each comparing translated images with the reference it needs."""

from __future__ import annotations

import math

import torch
from torch import nn
from torchmetrics import Metric

from style_gan.errors import ConfigError
from style_gan.metrics.features import EfficientNetFeatures
from style_gan.ranges import to_uint8, to_unit_range


class MetricSuite(nn.Module):
    """Named torchmetrics metrics in three groups, by what they compare the translation with.

    ``style``: distribution distances to the style-domain images (Fréchet, kernel). They get
    uint8 images through ``update(images, real=...)``; the style images only in the first
    validation of a run, since their statistics are kept (``reset_real_features=False``).
    ``content``: ``update(content, translated)`` in [0, 1], e.g. semantic preservation.
    ``target``: ``update(translated, target)`` in [0, 1] against a known true stylisation (SSIM,
    PSNR), for batches that carry one (paired test folders) and skipped otherwise.

    ``artfid`` (None = off) names an LPIPS content metric and an FID style metric of the suite,
    ``{"lpips": ..., "fid": ...}``, and adds ArtFID = (1 + LPIPS(content, translated)) ·
    (1 + FID(style, translated)) (Wright & Ommer 2022; lower is better).

    Metrics that measure with the same EfficientNet (same weights and input size) are given
    one shared copy of it, which caches features by image: each image goes through it once
    per validation, and the content images once per run.

    ``compute()`` gives each value under its name (dict-valued metrics as ``name/key``; a
    (mean, std) pair as its mean) and the best so far as ``<name>_best``, by the metric's own
    ``higher_is_better``.
    """

    def __init__(
        self,
        style: dict[str, Metric] | None = None,
        content: dict[str, Metric] | None = None,
        target: dict[str, Metric] | None = None,
        artfid: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.style = nn.ModuleDict(style or {})
        self.content = nn.ModuleDict(content or {})
        self.target = nn.ModuleDict(target or {})
        names = [*self.style, *self.content, *self.target]
        if len(set(names)) != len(names):
            raise ConfigError(f"metric names must be unique across groups, got {names}")
        for name, metric in self.style.items():
            if getattr(metric, "reset_real_features", False):
                raise ConfigError(
                    f"metrics.style.{name} must set reset_real_features: false; the style "
                    "images' statistics are computed once per run"
                )
        if artfid is not None and (
            artfid.get("lpips") not in self.content or artfid.get("fid") not in self.style
        ):
            raise ConfigError(
                f"metrics.artfid={dict(artfid)} must name a content LPIPS metric and a style "
                f"FID metric of the suite (content: {list(self.content)}, style: "
                f"{list(self.style)})"
            )
        self.artfid = None if artfid is None else dict(artfid)
        self.feature_networks = _share_feature_networks(
            [*self.style.values(), *self.content.values(), *self.target.values()]
        )
        self.best: dict[str, float] = {}
        self.real_done = False

    def __len__(self) -> int:
        return len(self.style) + len(self.content) + len(self.target)

    def weights_used(self) -> dict[str, str]:
        """Per metric, the trained network it measures with ("none" for pixel metrics)."""
        groups = (self.style, self.content, self.target)
        return {
            name: next(
                (
                    m.weights_description
                    for m in metric.modules()
                    if hasattr(m, "weights_description")
                ),
                "none",
            )
            for group in groups
            for name, metric in group.items()
        }

    def update(
        self,
        translated: torch.Tensor,
        content: torch.Tensor,
        style: torch.Tensor,
        target: torch.Tensor | None = None,
    ) -> None:
        """Accumulate one batch; all images in the generators' [-1, 1]."""
        if self.style:
            translated_uint8 = to_uint8(translated)
            style_uint8 = None if self.real_done else to_uint8(style)
            for metric in self.style.values():
                if style_uint8 is not None:
                    metric.update(style_uint8, real=True)
                metric.update(translated_uint8, real=False)
        translated_unit = to_unit_range(translated)
        if self.content:
            content_unit = to_unit_range(content)
            for metric in self.content.values():
                metric.update(content_unit, translated_unit)
        if target is not None and self.target:
            target_unit = to_unit_range(target)
            for metric in self.target.values():
                metric.update(translated_unit, target_unit)

    def compute(self) -> dict[str, float]:
        """Values of the metrics that saw data, and their best so far; then reset for the next
        validation (keeping the style statistics)."""
        values: dict[str, float] = {}
        saw_style = any(metric.update_called for metric in self.style.values())
        for group in (self.style, self.content, self.target):
            for name, metric in group.items():
                if not metric.update_called:
                    continue
                for key, value in _scalars(name, metric.compute()).items():
                    self._record(values, key, value, metric.higher_is_better)
                metric.reset()
        if self.artfid and {self.artfid["lpips"], self.artfid["fid"]} <= values.keys():
            artfid = (1 + values[self.artfid["lpips"]]) * (1 + values[self.artfid["fid"]])
            self._record(values, "artfid", artfid, higher_is_better=False)
        self.real_done = self.real_done or saw_style
        for network in self.feature_networks:
            network.forget_unused()
        return values

    def _record(
        self, values: dict[str, float], key: str, value: float, higher_is_better: bool
    ) -> None:
        values[key] = value
        if math.isfinite(value):  # NaN: too few images for this metric yet
            better = max if higher_is_better else min
            self.best[key] = better(self.best.get(key, value), value)
        if key in self.best:
            values[f"{key}_best"] = self.best[key]


def _share_feature_networks(metrics: list[Metric]) -> list[EfficientNetFeatures]:
    """Point every metric at one EfficientNetFeatures per ``sharing_key``; return those."""
    shared: dict[tuple, EfficientNetFeatures] = {}
    for metric in metrics:
        for parent in list(metric.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, EfficientNetFeatures):
                    setattr(parent, name, shared.setdefault(child.sharing_key, child))
    return list(shared.values())


def _scalars(name: str, result: torch.Tensor | tuple | dict) -> dict[str, float]:
    if isinstance(result, dict):
        return {f"{name}/{key}": float(value) for key, value in result.items()}
    if isinstance(result, tuple):  # kernel distances return (mean, std)
        result = result[0]
    return {name: float(result)}
