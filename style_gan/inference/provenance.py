"""What made a stylised image: software, model, checkpoint and inputs by sha256, settings and
date; embedded in the image file and in a ``<name>.json`` beside it, and read back."""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from style_gan import __version__
from style_gan.files import write_atomically
from style_gan.inference.images import embedded_metadata
from style_gan.inference.video import is_video, video_metadata


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes; a file unchanged since (same size and mtime) is hashed
    once per process, so a checkpoint is not re-read for every output."""
    stat = path.stat()
    return _sha256(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def provenance_record(
    method: str,
    checkpoint: Path,
    batches: int,
    direction: str,
    content: Path | None,
    styles: list[Path],
    settings: dict[str, Any],
) -> dict[str, Any]:
    """The provenance of one output: ``content`` and ``styles`` are the input files (None /
    empty for generated images); ``settings`` what else shaped it (alpha, seed, tiling)."""
    return {
        "software": f"style_gan {__version__}",
        "method": method,
        "checkpoint": {"file": checkpoint.name, "sha256": file_sha256(checkpoint)},
        "batches_trained": batches,
        "direction": direction,
        "content": None
        if content is None
        else {"file": content.name, "sha256": file_sha256(content)},
        "styles": [{"file": style.name, "sha256": file_sha256(style)} for style in styles],
        "settings": settings,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def sidecar_path(image_path: Path) -> Path:
    return image_path.with_name(image_path.name + ".json")


def write_sidecar(image_path: Path, record: dict[str, Any]) -> None:
    """``<image>.json`` beside the image, written atomically."""
    text = json.dumps(record, indent=2, sort_keys=True).encode()
    write_atomically(sidecar_path(image_path), lambda file: file.write(text))


def read_provenance(image_path: str | Path) -> dict[str, Any] | None:
    """The provenance embedded in ``image_path`` (an image or a video), else its sidecar's;
    None when it has none."""
    path = Path(image_path)
    record = video_metadata(path) if is_video(path) else embedded_metadata(path)
    if record is None and sidecar_path(path).is_file():
        record = json.loads(sidecar_path(path).read_text())
    return record
