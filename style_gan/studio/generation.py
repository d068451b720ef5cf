"""One generation of the studio: a content image (and style image) through the session's
generator with the feedback's parameters, at the content's own size.

With x the content, y = G(x) the model's translation, s the strength and c the content weight:

    domain methods   y_s = x + s · (y − x)               (s > 1 extrapolates the change)
    exemplar         y_s = Dec(E_c(x), s · E_s(style) + (1 − s) · E_s(x))   (AdaIN's α)
    then             y' = y_s + k · (H(x) − H(y_s)),  k = 1 − 1/c,  H(z) = z − blur_σ=2(z)

so a content weight c keeps the share k of the content's fine detail (edges, texture: H, its
high frequencies) while the colours and tones (the low frequencies, where the style lives)
stay the model's. Seed n > 0 runs a variation: the content shifted by a few pixels and maybe
mirrored (a convolutional generator is not exactly shift- or flip-equivariant), the exemplar
cropped; the result is shifted and mirrored back.
"""

from __future__ import annotations

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image, ImageOps

from style_gan.data.images import InputImage
from style_gan.inference.stylizer import Stylizer
from style_gan.studio.feedback import Parameters

DETAIL_BLUR_SIGMA = 2.0
MAX_SHIFT = 16
# The share of the exemplar's shorter side a variation's crop keeps, at least.
MIN_STYLE_CROP = 0.6
SAMPLES_PER_GENERATION = 8


def generate(
    stylizer: Stylizer,
    content: InputImage | None,
    style: InputImage | None,
    parameters: Parameters,
) -> Image.Image:
    """The result image: the content's size for image methods; for a noise model (DCGAN),
    a row of ``SAMPLES_PER_GENERATION`` samples of the seed."""
    if stylizer.generator.input == "noise":
        samples = stylizer.generate(SAMPLES_PER_GENERATION, parameters.seed)
        row = Image.new("RGB", (sum(s.width for s in samples), samples[0].height))
        for index, sample in enumerate(samples):
            row.paste(sample, (index * sample.width, 0))
        return row
    if content is None:
        raise ValueError("an image model needs a content image")
    source = content.rgb
    random = np.random.default_rng(parameters.seed)
    flip = parameters.seed > 0 and bool(random.random() < 0.5)
    shift = tuple(random.integers(1, MAX_SHIFT, size=2)) if parameters.seed > 0 else (0, 0)
    shifted = _shift_and_flip(source, shift, flip)
    if stylizer.needs_style:
        exemplar = _style_crop(style, random) if parameters.seed > 0 else style
        output = stylizer.stylize(_plain(shifted), exemplar, alpha=parameters.strength)
    else:
        output = stylizer.stylize(_plain(shifted))
    output = _unshift_and_unflip(output, shift, flip, source.size)
    x, y = unit_tensor(source), unit_tensor(output)
    if not stylizer.needs_style:
        y = x + parameters.strength * (y - x)
    if parameters.content_weight > 1:
        keep = 1 - 1 / parameters.content_weight
        y = y + keep * (high_pass(x) - high_pass(y))
    return _image(y)


def _plain(image: Image.Image) -> InputImage:
    return InputImage(rgb=image, alpha=None, path=None)


def _shift_and_flip(image: Image.Image, shift: tuple[int, int], flip: bool) -> Image.Image:
    if flip:
        image = ImageOps.mirror(image)
    if shift == (0, 0):
        return image
    pixels = np.asarray(image)
    dy, dx = shift
    mode = "reflect" if min(pixels.shape[:2]) > max(dy, dx) else "edge"
    return Image.fromarray(np.pad(pixels, ((dy, 0), (dx, 0), (0, 0)), mode=mode))


def _unshift_and_unflip(
    image: Image.Image, shift: tuple[int, int], flip: bool, size: tuple[int, int]
) -> Image.Image:
    dy, dx = shift
    image = image.crop((dx, dy, dx + size[0], dy + size[1]))
    return ImageOps.mirror(image) if flip else image


def _style_crop(style: InputImage | None, random: np.random.Generator) -> InputImage | None:
    if style is None:
        return None
    width, height = style.rgb.size
    side = int(min(width, height) * random.uniform(MIN_STYLE_CROP, 1.0))
    left = int(random.integers(0, width - side + 1))
    top = int(random.integers(0, height - side + 1))
    return _plain(style.rgb.crop((left, top, left + side, top + side)))


def unit_tensor(image: Image.Image) -> torch.Tensor:
    """An image as (1, 3, H, W) in [0, 1]."""
    pixels = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32).copy())
    return pixels.permute(2, 0, 1)[None] / 255


def high_pass(image: torch.Tensor) -> torch.Tensor:
    """H(z) = z - blur_σ(z): an image's fine detail (edges, texture), without its colours."""
    kernel = 2 * round(3 * DETAIL_BLUR_SIGMA) + 1
    return image - TF.gaussian_blur(image, [kernel, kernel], [DETAIL_BLUR_SIGMA] * 2)


def _image(image: torch.Tensor) -> Image.Image:
    pixels = (image[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(pixels, "RGB")
