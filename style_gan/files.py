"""Writing files so that an interruption (kill -9, a full disk, a crash) never leaves half of
one: what is written goes to a temporary file beside its destination, is flushed to the disk,
then renamed over it (a rename within one folder is atomic on POSIX filesystems)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

# Temporary files are named ``.<name>.<random>.partial``; one left behind by a killed process
# is removed by remove_partial_files.
PARTIAL_SUFFIX = ".partial"


def write_atomically(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """``write(file)`` into a temporary file beside ``path``, fsync, then a rename over it: an
    interrupted write leaves ``path`` as it was, never half a file. The file gets the mode a new
    file gets here (mkstemp's own is 0o600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX, dir=path.parent
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def check_can_create_files(folder: Path) -> None:
    """Make ``folder`` if needed and create (and drop) a file in it: the OSError a later write
    would meet, raised now, before any work is done."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder):
        pass


def remove_partial_files(folder: Path) -> list[Path]:
    """Delete the temporary files that killed writers left in ``folder``; return them."""
    leftovers = sorted(folder.glob(f".*{PARTIAL_SUFFIX}")) if folder.is_dir() else []
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    return leftovers


def _fsync_folder(folder: Path) -> None:
    # The rename itself is durable only once the folder's entry is on the disk.
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
