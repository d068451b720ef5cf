"""Finding usable image files in a folder and reading them: upright (EXIF orientation), any
mode Pillow reads as RGB (+ alpha), with a pixel limit against decompression bombs."""

from __future__ import annotations

import errno
import logging
import math
import os
import warnings
from collections import Counter, OrderedDict
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


def scan_image_folder(
    folder: Path, min_size: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> list[Path]:
    """Sorted image files in ``folder`` whose headers parse, skipping the rest with a warning.

    Every entry that cannot be used is skipped, named and counted by kind (not an image file,
    empty file, not a readable image, decompression bomb, over ``max_pixels``, symlink loop,
    broken link, no permission), so one bad file does not stop a long run; sub-folders are not
    searched. ``min_size`` (None = no limit) is the smallest side a crop needs: images below it
    are an error, since cropping them would silently change the data.
    """
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist")
    usable: list[Path] = []
    skipped: list[tuple[str, str]] = []
    too_small: list[str] = []
    for path in sorted(p for p in folder.iterdir() if not p.name.startswith(".")):
        if path.is_dir():
            continue
        size_or_reason = _header_size(path, max_pixels)
        if isinstance(size_or_reason, str):
            skipped.append((printable(path.name), size_or_reason))
        elif min_size is not None and min(size_or_reason) < min_size:
            width, height = size_or_reason
            too_small.append(f"{printable(path.name)} {width}x{height}")
        else:
            usable.append(path)
    if skipped:
        kinds = Counter(kind for _, kind in skipped)
        log.warning(
            "skipped %d unusable file(s) in %s (%s): %s",
            len(skipped),
            folder,
            ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())),
            ", ".join(f"{name} ({kind})" for name, kind in skipped),
        )
    if too_small:
        raise DataError(
            f"{len(too_small)} image(s) in {folder} are smaller than the crop size {min_size} "
            f"(first: {too_small[0]}); use data.preprocess=resize_crop or a smaller data.crop_size"
        )
    if not usable:
        raise DataError(f"no usable images in {folder} (looked for {', '.join(IMAGE_EXTENSIONS)})")
    return usable


def printable(path: Path | str) -> str:
    """``path`` as text that can be printed and logged, even when it is not valid UTF-8."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


def stat_failure(error: OSError) -> str:
    """Why a directory entry could not be stat'ed, in a few words."""
    return {errno.ELOOP: "symlink loop", errno.ENOENT: "broken link"}.get(
        error.errno, error.strerror or type(error).__name__
    )


def _header_size(path: Path, max_pixels: int) -> tuple[int, int] | str:
    """(width, height) from the file's header, or why the file cannot be used."""
    try:
        stat = path.stat()
    except OSError as error:
        return stat_failure(error)
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        return "not an image file"
    if stat.st_size == 0:
        return "empty file"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        return "decompression bomb"
    except PermissionError:
        return "no permission"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return "not a readable image"
    if width * height > max_pixels:
        return f"over max_pixels={max_pixels}"
    return width, height


def open_image(
    path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS, min_side: int | None = None
) -> InputImage:
    """``path`` upright (EXIF orientation applied) as RGB plus alpha. 16-bit and 32-bit
    grayscale are scaled to 8 bits rather than clipped; palette, CMYK, LA and RGBA convert.
    An UnreadableImageError names the file when it is unreadable or has more than
    ``max_pixels`` pixels (checked from the header, before anything is decoded).

    With ``min_side``, a JPEG at least twice that size on its shorter side is decoded at a
    reduced scale (1/2, 1/4 or 1/8, done by the JPEG decoder itself) that keeps the shorter
    side at ``min_side`` or more: the decode takes a fraction of the time and memory."""
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
                    f"{printable(path)} has {width}×{height} = {width * height / 1e6:.0f} MP, "
                    f"more than max_pixels={max_pixels}; raise max_pixels= if you trust the file"
                )
            if (
                min_side is not None
                and file.format == "JPEG"
                and min(width, height) >= 2 * min_side
            ):
                scale = min(width, height) / min_side
                file.draft(file.mode, (math.ceil(width / scale), math.ceil(height / scale)))
            file.load()
            # In place: a copy per image would be work on every training sample.
            ImageOps.exif_transpose(file, in_place=True)
            image = file
    except Image.DecompressionBombError as error:
        raise UnreadableImageError(
            f"{printable(path)} is refused as a decompression bomb: {error}"
        ) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UnreadableImageError(
            f"{printable(path)} is not a readable image ({error})"
        ) from error
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


# Large training images kept once reduced: only JPEG decodes at a reduced scale, and a
# 12000² PNG takes seconds each time it is drawn. Per process (each DataLoader worker keeps
# its own), the most recently drawn REDUCED_CACHE_SIZE.
REDUCED_CACHE_SIZE = 64
_reduced: OrderedDict[tuple[Path, int], Image.Image] = OrderedDict()


def load_rgb(path: Path, min_side: int | None = None) -> Image.Image:
    """Decode ``path`` as an upright RGB image; transparent pixels are composited onto white
    (dropping alpha would expose arbitrary hidden colours).

    With ``min_side``, an image at least twice that size on its shorter side comes back
    reduced by a whole factor that keeps the shorter side at ``min_side`` or more (a box
    filter, before the transforms' own resize), and is kept reduced for the next draw."""
    key = (path, min_side or 0)
    if key in _reduced:
        _reduced.move_to_end(key)
        return _reduced[key]
    image = open_image(path, min_side=min_side)
    rgb = image.rgb
    if image.alpha is not None:
        background = Image.new("RGB", rgb.size, (255, 255, 255))
        rgb = Image.composite(rgb, background, image.alpha)
    if min_side is not None and (factor := min(rgb.size) // min_side) >= 2:
        rgb = rgb.reduce(factor)
        _reduced[key] = rgb
        if len(_reduced) > REDUCED_CACHE_SIZE:
            _reduced.popitem(last=False)
    return rgb
