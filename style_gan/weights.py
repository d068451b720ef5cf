"""Finding pretrained weight files (given paths or torch's hub cache) without downloading
in the middle of a run; used by nets and metrics alike."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import torch

from style_gan.errors import CheckpointError


def hub_checkpoints_dir() -> Path:
    """torch's hub cache for weight files: ``$TORCH_HOME/hub/checkpoints``."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def find_weights(
    path: str | Path | None, filename: str, url: str, what: str, allow_download: bool
) -> Path | None:
    """The weights file to load for ``what``: ``path`` if given, else ``filename`` in torch's hub
    cache. None only when neither exists and ``allow_download`` is set (the library then
    downloads into the cache); otherwise a one-line CheckpointError that names the file, the
    folder it was looked for in and how to get it.
    """
    candidate = Path(path) if path is not None else hub_checkpoints_dir() / filename
    if candidate.is_file():
        return candidate
    if allow_download and path is None:
        return None
    raise CheckpointError(
        f"{what} weights {candidate.name} not found in {candidate.parent}; download {url} "
        f"there (or set TORCH_HOME), pass its path, or allow downloads with allow_download=true"
    )


@contextlib.contextmanager
def hub_dir(directory: str | Path | None) -> Iterator[None]:
    """Point torch's hub cache at ``directory`` (None = leave it) while building a metric."""
    if directory is None:
        yield
        return
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(directory))
    try:
        yield
    finally:
        torch.hub.set_dir(previous)
