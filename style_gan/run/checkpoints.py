"""Writing checkpoints atomically, reading them, and checking one before resuming from it, so a
bad one fails in one clear line."""

from __future__ import annotations

import errno
import io
import shutil
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
from torch import nn

from style_gan.errors import CheckpointError, DivergenceError
from style_gan.files import check_can_create_files, write_atomically
from style_gan.run.stored_config import MODEL_KINDS, check_stored_config


class AtomicCheckpointIO(TorchCheckpointIO):
    """Every checkpoint the Trainer writes (latest, best, periodic): refused when its weights are
    not finite, else written to a temporary file in the checkpoint's own folder, fsynced and
    renamed over the old one. Lightning's own writer renames from /tmp and, across filesystems,
    copies over the old file in place; a kill or a full disk then truncates it."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        path = Path(path)
        bad = [
            key
            for key, tensor in checkpoint.get("state_dict", {}).items()
            if tensor.is_floating_point() and not torch.isfinite(tensor).all()
        ]
        if bad:
            raise DivergenceError(
                f"not writing {path}: {len(bad)} tensors are not finite (e.g. {bad[0]}); the "
                "run diverged: lower the learning rates or set model.gradient_clip_norm"
            )
        # Serialised in memory first (as Lightning does), so a failing disk surfaces as the
        # OSError it is, not as an error inside torch's zip writer.
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        try:
            write_atomically(path, lambda file: file.write(buffer.getbuffer()))
        except OSError as error:
            reason = {errno.ENOSPC: "the disk is full", errno.EFBIG: "the file is too large"}
            raise CheckpointError(
                f"cannot write {path}: {reason.get(error.errno, error.strerror)}; the previous "
                f"{path.name} is kept; free space in {path.parent} or set paths.output_dir to "
                "another disk"
            ) from error


def checkpoint_bytes(model: nn.Module) -> int:
    """About what one checkpoint of ``model`` takes on the disk: its tensors, and twice as much
    again for optimizer state (Adam keeps two moments per weight)."""
    return 3 * sum(t.numel() * t.element_size() for t in model.state_dict().values())


def check_room_for_checkpoints(folder: Path, needed: int) -> None:
    """Fail before training, in one line, when ``folder`` cannot take a checkpoint of ``needed``
    bytes: not creatable, not writable, or too little free space."""
    try:
        check_can_create_files(folder)
    except OSError as error:
        raise CheckpointError(
            f"cannot write checkpoints to {folder}: {error.strerror}; set paths.output_dir "
            "(or STYLE_GAN_ROOT) to a writable folder"
        ) from error
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise CheckpointError(
            f"{folder} has {free / 2**20:.1f} MiB free, less than one checkpoint needs "
            f"(about {needed / 2**20:.1f} MiB); free space or set paths.output_dir to another disk"
        )


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """A Lightning checkpoint's contents, or a one-line CheckpointError saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path} does not exist; pass ckpt_path=<run folder>/checkpoints/last.ckpt"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(error).__name__}); it is truncated or not "
            "a checkpoint: use another one from the same checkpoints/ folder"
        ) from error
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path} is not a Lightning checkpoint (it has no state_dict)")
    return checkpoint


def stored_model_config(checkpoint: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """The ``model`` config a style_gan checkpoint stores (how to rebuild its model), refused
    in one line unless it is plain data naming only style_gan's classes (``stored_config``)."""
    stored = checkpoint.get("style_gan_config")
    config = stored.get("model") if isinstance(stored, dict) else None
    if not isinstance(config, dict) or "_target_" not in config:
        raise CheckpointError(
            f"checkpoint {path} stores no style_gan model config; it was not written by "
            "style-gan-train"
        )
    check_stored_config(config, f"checkpoint {path}", MODEL_KINDS, "model")
    return config


def check_checkpoint(
    path: str | Path, model: nn.Module, model_config: dict[str, Any] | None = None
) -> None:
    """Raise a CheckpointError unless ``path`` is a readable Lightning checkpoint whose weights
    fit ``model`` exactly (same keys, same shapes). With ``model_config`` (this run's ``model``
    node), a mismatch names the settings the checkpoint was trained with that differ. A
    stored config that is not plain data naming style_gan's classes is refused here too, though
    resuming builds nothing from it: the same file must not pass here and fail elsewhere."""
    path = Path(path)
    checkpoint = read_checkpoint(path)
    if "style_gan_config" in checkpoint:
        stored_model_config(checkpoint, path)
    saved = checkpoint["state_dict"]
    expected = model.state_dict()
    missing = [key for key in expected if key not in saved]
    unexpected = [key for key in saved if key not in expected]
    mismatched = [
        f"{key} {tuple(saved[key].shape)} vs {tuple(value.shape)}"
        for key, value in expected.items()
        if key in saved and saved[key].shape != value.shape
    ]
    if missing or unexpected or mismatched:
        example = (mismatched or missing or unexpected)[0]
        trained = checkpoint.get("style_gan_config", {}).get("model")
        differences = _differences(trained, model_config, "model") if trained else []
        hint = f"it was trained with {', '.join(differences[:3])}; " if differences else ""
        raise CheckpointError(
            f"checkpoint {path} does not match the model: {len(missing)} missing, "
            f"{len(unexpected)} unexpected, {len(mismatched)} mismatched tensors (e.g. {example}); "
            f"{hint}resume with the config it was trained with (its run's .hydra/config.yaml)"
        )


def _differences(trained: Any, current: Any, prefix: str) -> list[str]:
    """``key=trained (now current)`` for every leaf setting that differs between two configs."""
    if isinstance(trained, dict) and isinstance(current, dict):
        return [
            difference
            for key in sorted(trained.keys() | current.keys())
            for difference in _differences(trained.get(key), current.get(key), f"{prefix}.{key}")
        ]
    return [] if trained == current else [f"{prefix}={trained} (now {current})"]
