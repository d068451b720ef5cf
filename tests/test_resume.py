"""A resumed run is the run that was not interrupted: 12 batches straight equal 6 (or one
epoch of 8) plus a resume to 12, bit for bit, on every weight, optimizer state and EMA; and
its run folder's CSV log holds the rows the uninterrupted run's does."""

from __future__ import annotations

import csv
import signal
from pathlib import Path

import pytest
import torch

from style_gan.run.last_checkpoint import RunInterrupted
from style_gan.run.loggers import ContinuedExperimentWriter
from style_gan.train import train
from tests.conftest import metric_rows

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
    state = tensors({key: checkpoint[key] for key in ("state_dict", "optimizer_states")})
    # How far each learning-rate schedule has gone (an epoch's end must step it once).
    for index, scheduler in enumerate(checkpoint["lr_schedulers"]):
        state[f"lr_schedulers/{index}/last_epoch"] = torch.tensor(scheduler["last_epoch"])
    return state


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


# Two batches an epoch (FAST_TRAINER); the first run stops where the name says.
BY_BATCHES = "trainer.max_epochs=null"


@pytest.mark.parametrize(
    ("first", "whole"),
    [
        (["trainer.max_epochs=1"], ["trainer.max_epochs=2"]),
        ([BY_BATCHES, "max_batches=2"], [BY_BATCHES, "max_batches=4"]),
        ([BY_BATCHES, "max_batches=3"], [BY_BATCHES, "max_batches=4"]),
    ],
    ids=["epoch-boundary", "epoch-boundary-max-batches", "mid-epoch"],
)
def test_a_run_restarted_in_its_folder_continues_its_csv_log(
    train_config, tmp_path, first, whole
) -> None:
    run = ["trainer.deterministic=true", "seed=42"]
    train(train_config(*run, *whole, run_dir=tmp_path / "straight"))
    train(train_config(*run, *first, run_dir=tmp_path / "restarted"))
    # Restarted in its own folder: it resumes from the folder's last.ckpt, as a requeue does.
    train(train_config(*run, *whole, run_dir=tmp_path / "restarted"))
    straight, restarted = metric_rows(tmp_path / "straight"), metric_rows(tmp_path / "restarted")
    assert [row["step"] for row in restarted] == [row["step"] for row in straight]
    assert restarted == straight


def _write_csv(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())


def test_a_new_column_after_a_restart_keeps_the_earlier_rows(tmp_path) -> None:
    log = tmp_path / "csv" / "metrics.csv"
    _write_csv(log, "step,train/g\r\n0,1.5\r\n1,1.25\r\n")
    writer = ContinuedExperimentWriter(str(log.parent))
    writer.log_metrics({"train/g": 1.0, "val/ssim": 0.5}, step=2)
    writer.save()
    with open(log, newline="") as file:
        assert list(csv.reader(file)) == [
            ["step", "train/g", "val/ssim"],
            ["0", "1.5", ""],
            ["1", "1.25", ""],
            ["2", "1.0", "0.5"],
        ]
    assert [path.name for path in log.parent.iterdir()] == ["metrics.csv"]


def test_a_row_cut_short_by_a_kill_does_not_swallow_the_next(tmp_path) -> None:
    log = tmp_path / "csv" / "metrics.csv"
    _write_csv(log, "step,train/g\r\n0,1.5\r\n1,1.2")
    writer = ContinuedExperimentWriter(str(log.parent))
    writer.log_metrics({"train/g": 1.0}, step=2)
    writer.save()
    with open(log, newline="") as file:
        assert list(csv.reader(file))[1:] == [["0", "1.5"], ["1", "1.2"], ["2", "1.0"]]


def test_a_run_stopped_by_a_signal_and_restarted_in_its_folder_logs_every_batch(
    train_config, tmp_path
) -> None:
    run = ["trainer.deterministic=true", "seed=42", "trainer.limit_train_batches=4"]
    train(train_config(*run, run_dir=tmp_path / "straight"))
    stop = [
        "+callbacks.signal._target_=tests.test_train.SendSignal",
        f"+callbacks.signal.signum={int(signal.SIGUSR1)}",
    ]
    with pytest.raises(RunInterrupted):  # during its second batch, as a requeue would
        train(train_config(*run, *stop, run_dir=tmp_path / "restarted"))
    train(train_config(*run, run_dir=tmp_path / "restarted"))
    assert metric_rows(tmp_path / "restarted") == metric_rows(tmp_path / "straight")
