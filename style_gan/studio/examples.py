"""The studio's built-in images, written once per studio start (nothing is downloaded): held-out
photos of the demo (scikit-image's) as content, and the demo's ink-print style applied to other
photos as the style gallery an exemplar model needs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from style_gan.data.demo import TEST_PHOTOS, ink_print, sample_photo

CONTENT_PHOTOS = TEST_PHOTOS
STYLE_PHOTOS = ("astronaut", "rocket", "hubble_deep_field")
# Content at a size a laptop CPU translates in about a second; styles at the size exemplar
# statistics are taken from.
CONTENT_SIDE = 512
STYLE_SIDE = 256


def write_examples(folder: Path) -> dict[str, dict[str, Path]]:
    """``{"content": {name: png}, "style": {name: png}}`` written to ``folder``."""
    examples: dict[str, dict[str, Path]] = {"content": {}, "style": {}}
    for role, names, side in (
        ("content", CONTENT_PHOTOS, CONTENT_SIDE),
        ("style", STYLE_PHOTOS, STYLE_SIDE),
    ):
        for name in names:
            path = folder / role / f"{name}.png"
            if not path.is_file():
                image = _resized(sample_photo(name), side)
                if role == "style":
                    image = ink_print(image)
                path.parent.mkdir(parents=True, exist_ok=True)
                _save(image, path)
            examples[role][name] = path
    return examples


def _resized(photo: np.ndarray, side: int) -> torch.Tensor:
    """(1, 3, h, w) in [0, 1] with the longer side ``side``."""
    image = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 255
    height, width = image.shape[-2:]
    scale = side / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return F.interpolate(image, size=size, mode="area")


def _save(image: torch.Tensor, path: Path) -> None:
    pixels = (image[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(pixels).save(path)
