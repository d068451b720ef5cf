"""Images a browser sends the studio, checked before anything is decoded: that the file is one
this server stored an upload in (a request naming any other path is refused unopened), size in
bytes, type by content (not by name), pixels from the header (a decompression bomb is refused
unread), and sides large enough to translate. Every refusal is one line the page shows."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from style_gan.data.images import InputImage, open_image
from style_gan.errors import DataError

# What Pillow may decode for the studio, by the format its header declares.
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF")


class UploadRefused(DataError):
    """An upload the studio will not use; its message says why and what is accepted."""


@dataclass(frozen=True)
class UploadLimits:
    """The most bytes and pixels an upload may have, and the least pixels a side."""

    max_bytes: int = 20 * 2**20
    max_pixels: int = 4096 * 4096
    min_side: int = 16

    def describe(self) -> str:
        return (
            f"{', '.join(ACCEPTED_FORMATS)} up to {self.max_bytes / 2**20:.0f} MB and "
            f"{self.max_pixels / 1e6:.0f} MP, at least {self.min_side} px a side"
        )


def uploaded_file(stored: str, upload_dir: Path) -> Path:
    """The file named by an upload event (``stored``: the path the request carries), if it lies
    in ``upload_dir``, where this server stores what its page uploads, once every symlink is
    resolved; UploadRefused otherwise, before the file is opened."""
    path = Path(os.path.realpath(stored))
    # The request is the client's: it can name any path, or a link out of the folder.
    if not path.is_relative_to(os.path.realpath(upload_dir)) or not path.is_file():
        raise UploadRefused(
            "the studio opens only images uploaded through its page: upload the image again"
        )
    return path


def read_upload(path: Path, name: str, limits: UploadLimits) -> InputImage:
    """The image in the file the upload was stored in (``path``, chosen by the server; ``name``
    is the browser's file name, used in messages only), or UploadRefused."""
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise UploadRefused(
            f"{name} is {size / 2**20:.1f} MB; the studio takes {limits.describe()}"
        )
    try:
        with Image.open(path) as header:
            image_format = header.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UploadRefused(
            f"{name} is not an image file; the studio takes {limits.describe()}"
        ) from error
    except Image.DecompressionBombError as error:
        raise UploadRefused(f"{name} is refused as a decompression bomb ({error})") from error
    if image_format not in ACCEPTED_FORMATS:
        raise UploadRefused(
            f"{name} is a {image_format} image; the studio takes {limits.describe()}"
        )
    try:
        image = open_image(path, limits.max_pixels)
    except DataError as error:
        reason = str(error).replace(str(path), name)
        raise UploadRefused(f"{reason}; the studio takes {limits.describe()}") from error
    width, height = image.rgb.size
    if min(width, height) < limits.min_side:
        raise UploadRefused(
            f"{name} is {width}×{height} px; the studio needs at least {limits.min_side} px a side"
        )
    return InputImage(rgb=image.rgb, alpha=None, path=None)
