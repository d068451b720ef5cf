"""End to end: real Lightning runs of train(cfg) for a few batches, resume, DDP, bf16, loggers."""

from __future__ import annotations

import logging
import os
import re
import signal
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import RichProgressBar

from style_gan.errors import CheckpointError, ConfigError
from style_gan.run.last_checkpoint import STOP_SIGNALS, RunInterrupted
from style_gan.train import train
from tests.conftest import (
    FAST_TRAINER,
    compose_config,
    metric_rows,
    train_steps,
    write_unpaired_layout,
)


def test_demo_experiment_leaves_checkpoint_grid_and_per_step_losses(train_config, tmp_path) -> None:
    run = tmp_path / "run"
    metrics = train(
        train_config(
            "trainer.limit_train_batches=3",
            "metrics=[fd_effnet,semantic,ssim,psnr]",  # the demo recipe's
            "callbacks=best",
            run_dir=run,
        )
    )
    # last.ckpt and the best by val/fd_effnet; no checkpoint per epoch.
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "best_epoch_000.ckpt",
        "last.ckpt",
    ]
    assert (run / "samples" / "final.png").is_file()
    assert len(list((run / "samples").glob("epoch=000-batch=*.png"))) == 1
    assert train_steps(run) == [0, 1, 2]
    assert {"train/g", "train/d", "train/cycle", "val/cycle"} <= set(metrics)
    # The demo recipe's validation metrics, last and best, also in the CSV log.
    for name in ("fd_effnet", "semantic/cosine", "semantic/class_agreement", "ssim", "psnr"):
        assert {f"val/{name}", f"val/{name}_best"} <= set(metrics)
        assert metric_rows(run)[-1][f"val/{name}"]
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values())


def test_best_checkpoint_by_a_validation_metric(train_config, tmp_path) -> None:
    run = tmp_path / "run"
    train(train_config("callbacks=best", "metrics=fd_effnet", "trainer.max_epochs=2", run_dir=run))
    (best,) = (run / "checkpoints").glob("best_epoch_*.ckpt")
    checkpoint = torch.load(best, weights_only=True)
    assert checkpoint["metrics_best"]["fd_effnet"] == pytest.approx(
        min(float(r["val/fd_effnet"]) for r in metric_rows(run) if r["val/fd_effnet"])
    )
    assert not any(key.startswith("metrics") for key in checkpoint["state_dict"])


def test_a_best_checkpoint_of_a_metric_never_logged_is_one_config_error(train_config) -> None:
    cfg = train_config("callbacks=best", "metrics=ssim", "trainer.max_epochs=2")
    with pytest.raises(ConfigError, match=r"monitors val/fd_effnet.*logged: .*val/ssim"):
        train(cfg)
    assert (Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt").is_file()  # nothing lost


# Slow: the paper-size networks at 256 px (~17 s), run by CI's slow step.
@pytest.mark.slow
def test_horse2zebra_recipe_trains_on_a_cyclegan_layout_folder(tmp_path, data_dir) -> None:
    root = write_unpaired_layout(tmp_path / "horse2zebra", count=2, size=(300, 290))
    cfg = compose_config(
        "train",
        [
            *FAST_TRAINER,
            "experiment=horse2zebra",
            f"data.root={root}",
            "data.num_workers=0",
            "data.pin_memory=false",
            "data.eval_batch_size=1",
        ],
        tmp_path / "run",
        data_dir,
    )
    assert cfg.model.generator.n_blocks == 9 and cfg.data.crop_size == 256
    train(cfg)
    assert train_steps(tmp_path / "run") == [0, 1]


def test_max_batches_counts_batches_not_optimizer_steps(train_config, tmp_path) -> None:
    run = tmp_path / "run"
    train(
        train_config(
            "max_batches=3", "trainer.limit_train_batches=1.0", "trainer.max_epochs=5", run_dir=run
        )
    )
    assert train_steps(run) == [0, 1, 2]
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 6


def test_the_progress_bar_counts_the_runs_batches_toward_max_batches(
    train_config, tmp_path, capfd
) -> None:
    # Two batches an epoch (FAST_TRAINER): the third batch is the second epoch's first.
    bar = [
        "+callbacks.progress_bar._target_=style_gan.run.progress.BatchBudgetBar",
        "+callbacks.progress_bar.max_batches=3",
    ]
    train(train_config("max_batches=3", "trainer.max_epochs=5", *bar, run_dir=tmp_path / "run"))
    final = capfd.readouterr().out.strip().splitlines()[0]
    assert final.startswith("Epoch 1, batch") and " 3/3 " in final
    # The run's own rate, not Lightning's 0.00it/s, and nothing left.
    assert re.search(r" 3/3 \d+:\d\d:\d\d • 0:00:00 \d+\.\d\d(it/s|s/it) ", final), final
    assert "0.00it/s" not in final


def test_the_run_folder_is_said_at_the_start_and_at_the_end_with_the_sample_grid(
    train_config, tmp_path, caplog
) -> None:
    run = tmp_path / "run"
    caplog.set_level(logging.INFO, logger="style_gan.train")
    train(train_config(run_dir=run))
    said = [r.getMessage() for r in caplog.records if r.name == "style_gan.train"]
    assert f"run folder: {run.resolve()}" in said
    grid = run.resolve() / "samples" / "final.png"
    assert said[-1] == f"done; run folder: {run.resolve()} (samples: {grid})"


def test_the_progress_bar_reads_the_losses_only_every_log_every_n_steps_batches(
    train_config, tmp_path, monkeypatch
) -> None:
    # Reading a logged loss copies it to the host, which waits for a GPU's queued work.
    reads: list[int] = []
    read = RichProgressBar.get_metrics

    def counting(self, trainer, pl_module):
        if trainer.training:
            reads.append(trainer.global_step // 2)
        return read(self, trainer, pl_module)

    monkeypatch.setattr(RichProgressBar, "get_metrics", counting)
    bar = [
        "+callbacks.progress_bar._target_=style_gan.run.progress.BatchBudgetBar",
        "+callbacks.progress_bar.max_batches=6",
    ]
    cfg = train_config(
        "max_batches=6",
        "trainer.max_epochs=5",
        "trainer.log_every_n_steps=2",
        *bar,
        run_dir=tmp_path / "run",
    )
    train(cfg)
    assert reads[0] == 1 and len(reads) <= 3, reads  # six batches, read after 1, 3 and 5


def test_trainer_max_steps_is_refused_with_the_reason(train_config) -> None:
    with pytest.raises(ConfigError, match=r"two per GAN batch.*max_batches"):
        train(train_config("trainer.max_steps=10"))


def _lr(checkpoint: dict) -> float:
    return checkpoint["optimizer_states"][0]["param_groups"][0]["lr"]


def test_resume_continues_step_count_schedule_and_image_pool(train_config, tmp_path) -> None:
    schedule = ["model.lr_constant_epochs=1", "model.lr_decay_epochs=2"]
    straight = tmp_path / "straight"
    train(train_config(*schedule, "trainer.max_epochs=3", run_dir=straight))
    first = tmp_path / "first"
    train(train_config(*schedule, "trainer.max_epochs=1", run_dir=first))
    stopped = torch.load(first / "checkpoints" / "last.ckpt", weights_only=True)
    resumed = tmp_path / "resumed"
    train(
        train_config(
            *schedule,
            "trainer.max_epochs=3",
            f"ckpt_path={first / 'checkpoints' / 'last.ckpt'}",
            run_dir=resumed,
        )
    )

    expected = torch.load(straight / "checkpoints" / "last.ckpt", weights_only=True)
    final = torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=True)
    assert stopped["global_step"] == 4 and final["global_step"] == expected["global_step"] == 12
    assert final["epoch"] == expected["epoch"] == 2
    assert _lr(final) == pytest.approx(_lr(expected)) and _lr(final) < _lr(stopped)
    assert final["lr_schedulers"][0]["last_epoch"] == expected["lr_schedulers"][0]["last_epoch"]
    assert train_steps(resumed) == [2, 3, 4, 5]
    assert stopped["image_pools"]["a"]["images"].shape[0] == 4
    # The first run's checkpoint is untouched by the resumed run.
    assert (first / "checkpoints" / "last.ckpt").is_file()


class SendSignal(L.Callback):
    """Sends the process ``signum`` during its second batch, as a scheduler or Ctrl-C would."""

    def __init__(self, signum: int) -> None:
        self.signum = signum

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if batch_idx == 1:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2])
def test_a_stop_signal_ends_the_batch_writes_last_and_exits_nonzero(
    train_config, tmp_path, signum
) -> None:
    cfg = train_config(
        "trainer.limit_train_batches=4",
        "+callbacks.signal._target_=tests.test_train.SendSignal",
        f"+callbacks.signal.signum={int(signum)}",
        run_dir=tmp_path / "run",
    )
    handlers = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    with pytest.raises(RunInterrupted) as stopped:
        train(cfg)
    assert stopped.value.code == 128 + signum
    assert {s: signal.getsignal(s) for s in handlers} == handlers  # ours are gone again
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == 4  # 2 batches, G and D each
    train(
        train_config(
            "trainer.limit_train_batches=4", f"ckpt_path={last}", run_dir=tmp_path / "resumed"
        )
    )
    assert train_steps(tmp_path / "resumed") == [2, 3]


@pytest.fixture
def finished_checkpoint(train_config, tmp_path) -> Path:
    train(train_config(run_dir=tmp_path / "finished"))
    return tmp_path / "finished" / "checkpoints" / "last.ckpt"


def test_checkpoint_for_another_model_fails_clearly_and_is_kept(
    train_config, tmp_path, finished_checkpoint
) -> None:
    before = finished_checkpoint.read_bytes()
    cfg = train_config(
        "model.generator.base_channels=16",
        f"ckpt_path={finished_checkpoint}",
        run_dir=tmp_path / "other",
    )
    with pytest.raises(CheckpointError, match=r"does not match the model: .* mismatched") as error:
        train(cfg)
    assert "trained with model.generator.base_channels=8 (now 16)" in str(error.value)
    assert finished_checkpoint.read_bytes() == before


def test_corrupt_and_missing_checkpoints_fail_clearly(
    train_config, tmp_path, finished_checkpoint
) -> None:
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(finished_checkpoint.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="cannot be read"):
        train(train_config(f"ckpt_path={truncated}", run_dir=tmp_path / "a"))
    with pytest.raises(CheckpointError, match="does not exist"):
        train(train_config(f"ckpt_path={tmp_path / 'nope.ckpt'}", run_dir=tmp_path / "b"))


def test_bf16_mixed_precision_trains(train_config) -> None:
    # 16-mixed (fp16 with a gradient scaler) needs a GPU: Lightning runs bf16 on a CPU instead.
    metrics = train(train_config("trainer.precision=bf16-mixed"))
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values())


class FirstDrawPerRank(L.Callback):
    """Saves, in each process, what torch's RNG draws at the first batch, as rank<N>.pt."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == 0:
            torch.save(torch.rand(8), self.folder / f"rank{trainer.global_rank}.pt")


def test_ddp_with_two_cpu_processes_each_drawing_its_own_randomness(train_config, tmp_path) -> None:
    run = tmp_path / "run"
    train(
        train_config(
            "trainer=ddp",
            "trainer.accelerator=cpu",
            "trainer.devices=2",
            "trainer.strategy=ddp_spawn_find_unused_parameters_true",
            "+callbacks.draws._target_=tests.test_train.FirstDrawPerRank",
            f"+callbacks.draws.folder={tmp_path}",
            run_dir=run,
        )
    )
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 4
    assert train_steps(run) == [0, 1]
    rank0, rank1 = (torch.load(tmp_path / f"rank{rank}.pt") for rank in (0, 1))
    assert not torch.equal(rank0, rank1)


def test_csv_tensorboard_and_offline_wandb_at_once(train_config, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    run = tmp_path / "run"
    train(train_config("logger=[csv,tensorboard,wandb]", run_dir=run))
    assert train_steps(run) == [0, 1]
    events = list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 10_000  # scalars, config and a sample grid
    offline_runs = list((run / "wandb").glob("offline-run-*"))
    assert offline_runs, "W&B should have written an offline run"
    assert any(offline_runs[0].rglob("*.wandb"))
    assert list((offline_runs[0] / "files" / "media" / "images").glob("samples_*.png"))
