"""The trained models the studio offers: the checkpoints and safetensors exports it finds under
the logs folder, newest first, and any path the operator gives it; each one loaded only when a
person picks it (or the operator named it), and then once per process, however many sessions
use it."""

from __future__ import annotations

import datetime
import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from style_gan.errors import CheckpointError
from style_gan.inference.generator import (
    PRETRAINED_SPEC,
    TrainedGenerator,
    load_generator,
    load_pretrained,
)

MAX_LISTED = 50
NO_MODEL = (
    "no trained model found under {where}: train one with `style-gan-train` (the Quick start), "
    "or start the studio with ckpt_path=<checkpoint or export folder>"
)
CHOOSE_MODEL = "choose a model from the list ({count} found): none is loaded until you do"


@dataclass(frozen=True)
class ModelChoice:
    """One model the page lists: its label there and the file or export folder behind it."""

    label: str
    path: Path


def find_models(
    logs_dir: Path, given: list[Path], exclude: Sequence[Path] = ()
) -> list[ModelChoice]:
    """``given`` paths first (in order), then every ``*.ckpt`` and export folder (holding
    ``style_gan.json``) under ``logs_dir`` but not in an ``exclude`` folder (where browsers'
    uploads are stored), newest first; at most ``MAX_LISTED``."""
    found: list[Path] = []
    if logs_dir.is_dir():
        found = [*logs_dir.rglob("*.ckpt"), *(p.parent for p in logs_dir.rglob(PRETRAINED_SPEC))]
    excluded = [folder.resolve() for folder in exclude]
    found = [p for p in found if not any(p.resolve().is_relative_to(e) for e in excluded)]
    found = sorted(set(found), key=lambda p: p.stat().st_mtime, reverse=True)
    paths = [*given, *(p for p in found if p not in given)][:MAX_LISTED]
    return [ModelChoice(_label(path, logs_dir), path) for path in paths]


def _label(path: Path, logs_dir: Path) -> str:
    try:
        shown = str(path.resolve().relative_to(logs_dir.resolve()))
    except ValueError:
        shown = str(path)
    when = datetime.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    return f"{shown} ({when})"


_loading = threading.Lock()


def load_model(path: Path, direction: str = "AB") -> TrainedGenerator:
    """The generator of a checkpoint or export folder, loaded once per process (sessions copy
    its module before they change it); a one-line CheckpointError when it cannot be."""
    if not path.exists():
        raise CheckpointError(f"{path} does not exist (moved or deleted since it was listed)")
    stat = path.stat()
    with _loading:
        return _load(path.resolve(), direction, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _load(path: Path, direction: str, mtime_ns: int) -> TrainedGenerator:
    if path.is_dir():
        return load_pretrained(path)
    return load_generator(path, direction)
