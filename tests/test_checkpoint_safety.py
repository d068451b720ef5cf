"""Checkpoints that survive kill -9, a full disk and a diverged run; last.ckpt mid-epoch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import ClassVar

import lightning as L
import pytest
import torch

from style_gan.errors import CheckpointError, DivergenceError
from style_gan.run.checkpoints import AtomicCheckpointIO
from style_gan.train import train


def small_checkpoint(value: float, step: int = 1) -> dict:
    return {"state_dict": {"weight": torch.full((4,), value)}, "global_step": step}


def run_python(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_9_during_a_checkpoint_write_keeps_the_previous_one(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint(small_checkpoint(1.0, step=1), path)
    # The writer has the new file's bytes in its temporary file and hangs in fsync until killed.
    writer = run_python(
        """
        import os, sys, time, torch
        from pathlib import Path
        import style_gan.files
        from style_gan.run.checkpoints import AtomicCheckpointIO

        def slow_fsync(descriptor):
            print("writing", flush=True)
            time.sleep(60)

        style_gan.files.os.fsync = slow_fsync
        checkpoint = {"state_dict": {"weight": torch.zeros(25_000)}}
        AtomicCheckpointIO().save_checkpoint(checkpoint, Path(sys.argv[1]))
        """,
        str(path),
    )
    try:
        assert writer.stdout.readline().strip() == "writing", writer.stderr.read()
    finally:
        writer.kill()
        writer.wait()
    assert torch.load(path, weights_only=True)["global_step"] == 1
    leftovers = list(tmp_path.glob(".last.ckpt.*.partial"))
    assert len(leftovers) == 1 and leftovers[0].stat().st_size > 100_000


def test_a_full_disk_keeps_the_previous_checkpoint_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint(small_checkpoint(1.0, step=1), path)
    # A file-size limit of 64 KiB fails the write the way a full disk does (with EFBIG).
    writer = run_python(
        """
        import resource, signal, sys, torch
        from pathlib import Path
        from style_gan.errors import CheckpointError
        from style_gan.run.checkpoints import AtomicCheckpointIO

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
        try:
            AtomicCheckpointIO().save_checkpoint(
                {"state_dict": {"weight": torch.zeros(100_000)}}, Path(sys.argv[1])
            )
        except CheckpointError as error:
            print(error)
        """,
        str(path),
    )
    out, err = writer.communicate(timeout=120)
    assert "cannot write" in out and "the previous last.ckpt is kept" in out, err
    assert torch.load(path, weights_only=True)["global_step"] == 1
    assert not list(tmp_path.glob("*.partial"))


def test_non_finite_weights_are_never_written(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint(small_checkpoint(1.0, step=1), path)
    with pytest.raises(DivergenceError, match="1 tensors are not finite"):
        AtomicCheckpointIO().save_checkpoint(small_checkpoint(float("nan"), step=2), path)
    assert torch.load(path, weights_only=True)["global_step"] == 1


def test_an_unwritable_checkpoint_folder_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CheckpointError, match="cannot write"):
        AtomicCheckpointIO().save_checkpoint(
            small_checkpoint(1.0, step=1), blocker / "x" / "last.ckpt"
        )


def test_a_diverging_run_stops_in_one_line_and_writes_no_nan_checkpoint(train_config) -> None:
    cfg = train_config(
        "model.optimizer_g.lr=1e30", "model.optimizer_d.lr=1e30", "trainer.limit_train_batches=4"
    )
    with pytest.raises(DivergenceError, match=r"loss is not finite at batch \d"):
        train(cfg)
    record = json.loads((Path(cfg.paths.output_dir) / "run.json").read_text())
    assert record["status"] == "failed" and "training diverged" in record["error"]
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    if last.exists():
        weights = torch.load(last, weights_only=True)["state_dict"].values()
        assert all(torch.isfinite(w).all() for w in weights if w.is_floating_point())


class LastCheckpointSteps(L.Callback):
    """Notes in ``seen``, at each batch's start, the global_step last.ckpt holds when it has
    changed (a class attribute: Hydra builds the instance)."""

    seen: ClassVar[list[int]] = []

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        LastCheckpointSteps.seen = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.path.exists():
            step = torch.load(self.path, weights_only=True)["global_step"]
            if not self.seen or self.seen[-1] != step:
                self.seen.append(step)


def test_last_checkpoint_every_n_batches_mid_epoch_and_leftovers_removed(
    train_config, tmp_path
) -> None:
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    leftover = last.parent / ".last.ckpt.abc.partial"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a checkpoint")
    cfg = train_config(
        "trainer.limit_train_batches=5",
        "callbacks.latest_checkpoint.every_n_batches=2",
        "+callbacks.watch._target_=tests.test_checkpoint_safety.LastCheckpointSteps",
        f"+callbacks.watch.path={last}",
        run_dir=tmp_path / "run",
    )
    train(cfg)
    assert not leftover.exists()
    # After batches 2 and 4 (optimizer steps 4 and 8), then at the epoch's end after batch 5.
    assert LastCheckpointSteps.seen == [4, 8]
    assert torch.load(last, weights_only=True)["global_step"] == 10
