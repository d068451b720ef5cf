"""Values checked before anything is built: one line naming the key and what is allowed."""

from __future__ import annotations

import shutil
from typing import NamedTuple

import pytest
import torch

from style_gan.errors import CheckpointError, ConfigError
from style_gan.run.config_values import check_config_values
from style_gan.train import train


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.optimizer_g.lr=-1", "model.optimizer_g.lr=-1 must be > 0"),
        ("model.optimizer_d.lr=0", "model.optimizer_d.lr=0 must be > 0"),
        ("data.batch_size=0", "data.batch_size=0 must be > 0"),
        ("data.image_size=-1", "data.image_size=-1 must be > 0"),
        ("model.lambda_cycle=abc", "model.lambda_cycle='abc' must be a number"),
        ("model.lambda_cycle=-5", "model.lambda_cycle=-5 must be >= 0, a loss weight"),
        ("model.lambda_identity=nan", "model.lambda_identity=nan must be >= 0"),
        ("model.pool_size=2.5", "model.pool_size=2.5 must be a whole number"),
        ("model.ema_decay=1.5", "model.ema_decay=1.5 must be in [0, 1)"),
        ("data.flip=maybe", "data.flip='maybe' must be true or false"),
        (
            "callbacks.latest_checkpoint.every_n_batches=0",
            "callbacks.latest_checkpoint.every_n_batches=0 must be > 0",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_the_key(train_config, override, message) -> None:
    with pytest.raises(ConfigError) as error:
        train(train_config(override))
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("trainer.max_epochs=-5", "trainer.max_epochs=-5 must be >= 0, or -1 for no limit"),
        ("trainer.max_epochs=2.5", "trainer.max_epochs=2.5 must be a whole number"),
        ("+trainer.min_epochs=-1", "trainer.min_epochs=-1 must be >= 0"),
        ("trainer.limit_val_batches=1.5", "trainer.limit_val_batches=1.5 must be a whole number"),
        ("trainer.limit_train_batches=-1", "trainer.limit_train_batches=-1 must be a whole"),
        ("+trainer.val_check_interval=0", "trainer.val_check_interval=0 must be a whole number"),
        ("trainer.check_val_every_n_epoch=0", "trainer.check_val_every_n_epoch=0 must be >= 1"),
        ("trainer.log_every_n_steps=0", "trainer.log_every_n_steps=0 must be >= 1"),
        ("+trainer.num_nodes=0", "trainer.num_nodes=0 must be >= 1"),
        ("trainer.devices=0", "trainer.devices=0 must be a number of processes >= 1"),
        ("trainer.devices=[0,1]", "trainer.devices=[0, 1] must be a number of processes >= 1"),
        ("+trainer.accumulate_grad_batches=2", "trainer.accumulate_grad_batches=2 must be 1"),
        ("+trainer.gradient_clip_val=1", "trainer.gradient_clip_val=1 must be 0 or null"),
        ("trainer.precision=17", "trainer.precision=17 is not allowed; choose one of: auto, 64"),
        ("trainer.accelerator=npu", "trainer.accelerator='npu' is not allowed; choose one of"),
    ],
)
def test_a_bad_trainer_value_is_one_line_naming_the_key(train_config, override, message) -> None:
    with pytest.raises(ConfigError) as error:
        train(train_config(override))
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_gpu_asked_of_a_machine_without_one_says_to_use_the_cpu(train_config) -> None:
    with pytest.raises(ConfigError, match=r"no GPU was found on this machine; .* trainer=cpu"):
        train(train_config("trainer.accelerator=gpu"))


@pytest.mark.parametrize(
    "overrides",
    [
        ["debug=fdr"],  # trainer.fast_dev_run=true: an int or a bool
        ["trainer.max_epochs=-1", "trainer.limit_val_batches=1.0", "trainer.devices=auto"],
        ["+trainer.val_check_interval=0.5", "trainer.check_val_every_n_epoch=null"],
        ["trainer=ddp", "trainer.accelerator=cpu", "trainer.precision=bf16-mixed"],
    ],
)
def test_trainer_values_lightning_accepts_are_accepted(train_config, overrides) -> None:
    check_config_values(train_config(*overrides))


def test_a_crop_size_out_of_range_is_refused_for_folder_data(compose_train, tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"^data\.crop_size=-1 must be > 0"):
        train(compose_train("data=unpaired", f"data.root={tmp_path}", "data.crop_size=-1"))


def test_an_output_folder_that_cannot_be_written_fails_before_training(
    train_config, tmp_path
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(CheckpointError, match=r"cannot write checkpoints to .*a_file/run"):
        train(train_config(run_dir=blocker / "run"))


class _Usage(NamedTuple):
    total: int
    used: int
    free: int


def test_too_little_free_space_for_one_checkpoint_fails_before_training(
    train_config, tmp_path, monkeypatch
) -> None:
    # The disk's answer replaced by an almost full one: a real full disk cannot be made here.
    monkeypatch.setattr(shutil, "disk_usage", lambda path: _Usage(2**30, 2**30 - 4096, 4096))
    with pytest.raises(CheckpointError, match=r"has 0\.0 MiB free, less than one checkpoint"):
        train(train_config(run_dir=tmp_path / "run"))
    assert not (tmp_path / "run" / "checkpoints").exists()
