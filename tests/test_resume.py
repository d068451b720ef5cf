"""A resumed run is the run that was not interrupted: 12 batches straight equal 6 (or one
epoch of 8) plus a resume to 12, bit for bit, on every weight, optimizer state and EMA."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from style_gan.train import train

RUN = [
    "trainer.limit_train_batches=8",
    "trainer.max_epochs=null",
    "trainer.deterministic=true",
    "model.ema_decay=0.9",
    "seed=42",
]


def tensors(value: object, prefix: str = "") -> dict[str, torch.Tensor]:
    """Every tensor in a (nested) checkpoint structure, by its path."""
    if isinstance(value, torch.Tensor):
        return {prefix: value}
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return {}
    found: dict[str, torch.Tensor] = {}
    for key, item in items:
        found.update(tensors(item, f"{prefix}/{key}"))
    return found


def final_state(run: Path) -> dict[str, torch.Tensor]:
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 24
    return tensors({key: checkpoint[key] for key in ("state_dict", "optimizer_states")})


@pytest.mark.parametrize("first_batches", [6, 8], ids=["mid-epoch", "epoch-boundary"])
def test_resume_is_bitwise_the_uninterrupted_run(train_config, tmp_path, first_batches) -> None:
    train(train_config(*RUN, "max_batches=12", run_dir=tmp_path / "straight"))
    train(train_config(*RUN, f"max_batches={first_batches}", run_dir=tmp_path / "first"))
    checkpoint = tmp_path / "first" / "checkpoints" / "last.ckpt"
    train(
        train_config(*RUN, "max_batches=12", f"ckpt_path={checkpoint}", run_dir=tmp_path / "rest")
    )
    straight, resumed = final_state(tmp_path / "straight"), final_state(tmp_path / "rest")
    assert straight.keys() == resumed.keys() and len(straight) > 100
    differing = [key for key in straight if not torch.equal(straight[key], resumed[key])]
    assert not differing, f"{len(differing)} tensors differ, e.g. {differing[:3]}"
