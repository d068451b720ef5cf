"""Checking a checkpoint before resuming from it, so a bad one fails in one clear line."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from style_gan.errors import CheckpointError


def check_checkpoint(path: str | Path, model: nn.Module) -> None:
    """Raise a CheckpointError unless ``path`` is a readable Lightning checkpoint whose weights
    fit ``model`` exactly (same keys, same shapes)."""
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
            "a checkpoint: resume from another one in the same checkpoints/ folder"
        ) from error
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path} is not a Lightning checkpoint (it has no state_dict)")
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
        raise CheckpointError(
            f"checkpoint {path} does not match the model: {len(missing)} missing, "
            f"{len(unexpected)} unexpected, {len(mismatched)} mismatched tensors (e.g. {example}); "
            "resume with the config it was trained with (its run folder's .hydra/config.yaml)"
        )
