"""Finding usable image files in a folder and reading them: upright (EXIF orientation), any
mode Pillow reads as RGB (+ alpha), with a pixel limit against decompression bombs."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from style_gan.errors import DataError, UnreadableImageError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
DEFAULT_MAX_PIXELS = 100_000_000


@dataclass
class InputImage:
    """An input as RGB, with its alpha channel (None when it has none) and where it came from
    (None for an image given as an object)."""

    rgb: Image.Image
    alpha: Image.Image | None
    path: Path | None


def scan_image_folder(folder: Path, min_size: int | None = None) -> list[Path]:
    """Sorted image files in ``folder`` whose headers parse, skipping the rest with a warning.

    Non-image files, zero-byte and unreadable images are skipped and counted, so one bad file
    does not stop a long run. ``min_size`` (None = no limit) is the smallest side a crop needs:
    images below it are an error, since cropping them would silently change the data.
    """
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist")
    usable: list[Path] = []
    skipped: list[str] = []
    too_small: list[str] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            skipped.append(f"{path.name} (not an image file)")
            continue
        try:
            with Image.open(path) as image:
                size = image.size
        except (UnidentifiedImageError, OSError) as error:
            reason = "empty file" if path.stat().st_size == 0 else type(error).__name__
            skipped.append(f"{path.name} ({reason})")
            continue
        if min_size is not None and min(size) < min_size:
            too_small.append(f"{path.name} {size[0]}x{size[1]}")
            continue
        usable.append(path)
    if skipped:
        log.warning(
            "skipped %d unusable file(s) in %s: %s", len(skipped), folder, ", ".join(skipped)
        )
    if too_small:
        raise DataError(
            f"{len(too_small)} image(s) in {folder} are smaller than the crop size {min_size} "
            f"(first: {too_small[0]}); use data.preprocess=resize_crop or a smaller data.crop_size"
        )
    if not usable:
        raise DataError(f"no usable images in {folder} (looked for {', '.join(IMAGE_EXTENSIONS)})")
    return usable


def open_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> InputImage:
    """``path`` upright (EXIF orientation applied) as RGB plus alpha. 16-bit and 32-bit
    grayscale are scaled to 8 bits rather than clipped; palette, CMYK, LA and RGBA convert.
    An UnreadableImageError names the file when it is unreadable or has more than
    ``max_pixels`` pixels (checked from the header, before anything is decoded)."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            # Pillow warns from its own limit on; ours is checked below, before decoding.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            file = Image.open(path)
        with file:
            width, height = file.size
            if width * height > max_pixels:
                raise UnreadableImageError(
                    f"{path} has {width}×{height} = {width * height / 1e6:.0f} MP, more than "
                    f"max_pixels={max_pixels}; raise max_pixels= if you trust the file"
                )
            file.load()
            # In place: a copy per image would be work on every training sample.
            ImageOps.exif_transpose(file, in_place=True)
            image = file
    except Image.DecompressionBombError as error:
        raise UnreadableImageError(f"{path} is refused as a decompression bomb: {error}") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UnreadableImageError(f"{path} is not a readable image ({error})") from error
    return InputImage(*to_rgb_and_alpha(image), path=path)


def to_rgb_and_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Any Pillow image as (RGB, alpha or None)."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float64)
        # Integer modes hold 16-bit data (0..65535) in every file format Pillow reads as such.
        peak = 65535.0 if image.mode != "F" and values.max() > 255 else 255.0
        gray = np.clip(values / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB"), None
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        alpha = image.getchannel("A")
        return image.convert("RGB"), alpha
    return image.convert("RGB"), None


def load_rgb(path: Path) -> Image.Image:
    """Decode ``path`` fully as an upright RGB image; transparent pixels are composited onto
    white (dropping alpha would expose arbitrary hidden colours)."""
    image = open_image(path)
    if image.alpha is None:
        return image.rgb
    background = Image.new("RGB", image.rgb.size, (255, 255, 255))
    return Image.composite(image.rgb, background, image.alpha)
