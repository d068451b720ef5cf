"""Finding usable image files in a folder and reading them as RGB."""

from __future__ import annotations

import logging
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from style_gan.errors import DataError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


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


def load_rgb(path: Path) -> Image.Image:
    """Decode ``path`` fully as an RGB image (grayscale, palette and RGBA are converted)."""
    with Image.open(path) as image:
        image.load()
        if image.mode == "RGBA" or (image.mode == "P" and "transparency" in image.info):
            # Composite onto white: dropping alpha would expose arbitrary hidden colours.
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(background, rgba).convert("RGB")
        return image.convert("RGB")
