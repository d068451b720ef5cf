"""Users' images in and out: files, folders and globs as inputs, PIL images and arrays, and
outputs written atomically with their metadata embedded."""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin

from style_gan.data.images import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    InputImage,
    open_image,
    printable,
    stat_failure,
    to_rgb_and_alpha,
)
from style_gan.errors import DataError
from style_gan.files import write_atomically

# Where the provenance JSON lives inside a written file.
PNG_TEXT_KEY = "style_gan"
ORIENTATION_TAG = 0x0112
XMP_NAMESPACE = "https://github.com/style_gan/provenance/1.0/"


def find_images(source: str | Path, recursive: bool = False) -> list[Path]:
    """The image files ``source`` names (see ``find_inputs``); a DataError when it names none."""
    found, unusable = find_inputs(source, recursive)
    if not found:
        name, why = unusable[0]
        raise DataError(
            f"input={source}: {printable(name)} cannot be read ({why}); fix or remove it"
        )
    return found


def find_inputs(
    source: str | Path, recursive: bool = False, extensions: Iterable[str] = IMAGE_EXTENSIONS
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The files ``source`` names: one file, a folder's files ending in one of ``extensions``
    (and its subfolders' with ``recursive``), or a glob pattern; sorted. Also the entries so
    named that are no file (a symlink loop, a broken link), with why, so they can be counted
    as skipped.
    A DataError when it names neither."""
    text = str(source)
    path = Path(text).expanduser()
    if path.is_file():
        return [path], []
    if path.is_dir():
        pattern = "**/*" if recursive else "*"
        candidates = [p for p in path.glob(pattern) if p.suffix.lower() in extensions]
    elif glob.has_magic(text):
        candidates = [
            Path(p)
            for p in glob.glob(text, recursive=recursive)
            if Path(p).suffix.lower() in extensions
        ]
    elif path.is_symlink():
        candidates = [path]
    else:
        raise DataError(f"input={text} does not exist; give an image file, a folder or a glob")
    found: list[Path] = []
    unusable: list[tuple[Path, str]] = []
    for candidate in sorted(candidates):
        try:
            candidate.stat()
        except OSError as error:
            unusable.append((candidate, stat_failure(error)))
        else:
            if candidate.is_file():
                found.append(candidate)
    if not found and not unusable:
        where = f"{text} or its subfolders" if recursive and path.is_dir() else text
        raise DataError(
            f"input={text}: no files ending in {', '.join(sorted(extensions))} in {where}"
            + ("" if recursive or not path.is_dir() else "; recursive=true looks in subfolders")
        )
    return found, unusable


def as_input_image(image: Any, max_pixels: int = DEFAULT_MAX_PIXELS) -> InputImage:
    """A path, a PIL image or an HWC uint8 array (H×W gray, H×W×3 RGB, H×W×4 RGBA)."""
    if isinstance(image, str | os.PathLike):
        return open_image(image, max_pixels)
    if isinstance(image, Image.Image):
        return InputImage(*to_rgb_and_alpha(ImageOps.exif_transpose(image)), path=None)
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise DataError(
                f"an image array must be HWC uint8 (H×W, H×W×3 or H×W×4), got {image.dtype} "
                f"with shape {image.shape}"
            )
        return InputImage(*to_rgb_and_alpha(Image.fromarray(image)), path=None)
    raise DataError(
        f"cannot read an image from a {type(image).__name__}; give a path, a PIL image or an "
        "HWC uint8 array"
    )


def save_image(
    image: Image.Image,
    path: Path,
    metadata: dict[str, Any] | None = None,
    exif: Image.Exif | None = None,
    quality: int = 95,
) -> None:
    """Write ``image`` to ``path`` (format by suffix) through a temporary file in the same folder
    and a rename, so an interrupted write leaves no half file. ``metadata`` is embedded as JSON:
    a PNG iTXt chunk, XMP in JPEG and WebP; ``exif`` (None = none) is written as given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    options: dict[str, Any] = {} if exif is None else {"exif": exif}
    text = None if metadata is None else json.dumps(metadata, sort_keys=True)
    if suffix == ".png":
        info = PngImagePlugin.PngInfo()
        if text is not None:
            info.add_itxt(PNG_TEXT_KEY, text)
        options["pnginfo"] = info
    elif suffix in (".jpg", ".jpeg", ".webp"):
        options["quality"] = quality
        if text is not None:
            options["xmp"] = _xmp_packet(text)
        if suffix != ".webp":
            image = image.convert("RGB")
    image_format = Image.registered_extensions()[suffix]
    write_atomically(path, lambda file: image.save(file, format=image_format, **options))


def upright_exif(path: Path) -> Image.Exif:
    """``path``'s EXIF with the orientation reset: the pixels written are already upright."""
    with Image.open(path) as image:
        exif = image.getexif()
    exif[ORIENTATION_TAG] = 1
    return exif


def embedded_metadata(path: str | Path) -> dict[str, Any] | None:
    """The JSON :func:`save_image` embedded in ``path``, or None when there is none."""
    with Image.open(path) as image:
        text = image.info.get(PNG_TEXT_KEY)
        if text is None:
            xmp = image.info.get("xmp")
            text = None if xmp is None else _from_xmp_packet(xmp)
    return None if text is None else json.loads(text)


def _xmp_packet(text: str) -> bytes:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description xmlns:sg="{XMP_NAMESPACE}"><sg:provenance>{escaped}'
        "</sg:provenance></rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def _from_xmp_packet(xmp: bytes | str) -> str | None:
    text = xmp.decode() if isinstance(xmp, bytes) else xmp
    start, end = text.find("<sg:provenance>"), text.find("</sg:provenance>")
    if start < 0 or end < 0:
        return None
    inner = text[start + len("<sg:provenance>") : end]
    return inner.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
