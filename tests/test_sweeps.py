"""Sweeps as users run them: the real `style-gan-train -m` command with the Optuna sweeper
(SQLite study), Hydra's basic launcher and submitit's local one, the sweep summary, W&B runs
that stay apart, and a run folder's own last.ckpt and W&B run picked up again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import lightning as L
import optuna
import pytest
import torch

from style_gan.errors import ConfigError
from style_gan.run.callbacks import batches_seen
from style_gan.run.last_checkpoint import RunInterrupted
from style_gan.run.objective import (
    objective_direction,
    objective_value,
    suite_directions,
)
from style_gan.sweeps.summary import main as summary_main
from style_gan.train import train
from tests.conftest import compose_config

REPO = Path(__file__).resolve().parents[1]
# Two batches of a small CycleGAN, then one validation batch with the Fréchet distance.
TWO_BATCHES = [
    "trainer.accelerator=cpu",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.num_sanity_val_steps=0",
    "~callbacks.progress_bar",
    "callbacks=default",
    "metrics=fd_effnet",
    "data.image_size=32",
    "data.batch_size=2",
    "data.eval_batch_size=2",
    "model.generator.base_channels=8",
    "model.discriminator.base_channels=8",
]


def style_gan_train(root: Path, *overrides: str, check: bool = True) -> subprocess.CompletedProcess:
    """The installed command, in ``root`` (runs and data under it), W&B offline."""
    env = {
        **os.environ,
        "STYLE_GAN_ROOT": str(root),
        "WANDB_MODE": "offline",
        "PYTHONPATH": str(REPO),
    }
    result = subprocess.run(
        [sys.executable, "-m", "style_gan.train", *overrides],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def wandb_records(run_dir: Path) -> list:
    """The records of each offline W&B run under ``run_dir``/wandb, decoded from its .wandb
    file (a LevelDB-style log: 32 KiB blocks of records with a 7-byte header each)."""
    from wandb.proto import wandb_internal_pb2

    runs = []
    for path in sorted((run_dir / "wandb").glob("offline-run-*/run-*.wandb")):
        data, position, pending, records = path.read_bytes(), 7, b"", []
        while position + 7 <= len(data):
            if 32768 - position % 32768 < 7:
                position += 32768 - position % 32768
                continue
            _, length, kind = struct.unpack("<IHB", data[position : position + 7])
            pending += data[position + 7 : position + 7 + length]
            position += 7 + length
            if kind in (1, 4):  # a whole record, or the last piece of one
                record = wandb_internal_pb2.Record()
                record.ParseFromString(pending)
                records.append(record)
                pending = b""
        runs.append(records)
    return runs


def of_type(records: list, kind: str) -> list:
    return [getattr(r, kind) for r in records if r.WhichOneof("record_type") == kind]


class SignalAtBatch(L.Callback):
    """Sends this process ``signum`` after batch ``batch`` of sweep job ``at_job`` (``job`` is
    the job's own number, ``${hydra:job.num}``), as Ctrl-C or a scheduler would."""

    def __init__(self, job: int, at_job: int, batch: int = 1, signum: int = 2) -> None:
        self.job, self.at_job, self.batch, self.signum = job, at_job, batch, signum

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.job == self.at_job and batches_seen(trainer, pl_module) == self.batch:
            os.kill(os.getpid(), self.signum)


def trial_states(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        return [s for (s,) in connection.execute("SELECT state FROM trials ORDER BY number")]


def test_directions_come_from_the_metrics_and_typos_are_one_line(tmp_path) -> None:
    cfg = compose_config("train", ["metrics=[fd_effnet,semantic,ssim,psnr]"], tmp_path, tmp_path)
    directions = suite_directions(cfg.metrics)
    assert directions == {"fd_effnet": False, "semantic": True, "ssim": True, "psnr": True}
    assert objective_direction("val/fd_effnet_best", directions) is False
    assert objective_direction("val/semantic/cosine", directions) is True
    assert objective_direction("val/ssim", directions) is True
    assert objective_direction("train/g", directions) is False
    with pytest.raises(ConfigError, match=r"did you mean val/fd_effnet_best\?"):
        objective_direction("val/fd_efnet_best", directions)
    with pytest.raises(ConfigError, match=r"neither a validation metric nor a loss"):
        objective_direction("epoch", directions)
    with pytest.raises(ConfigError, match=r"was not logged by this run \(logged: train/g, val/x\)"):
        objective_value("val/ssim_best", {"val/x": 1.0, "train/g": 2.0})


def test_missing_objective_is_one_line_naming_what_was_logged(tmp_path) -> None:
    result = style_gan_train(tmp_path, *TWO_BATCHES, "optimized_metric=val/cycle_x", check=False)
    assert result.returncode == 2
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "optimized_metric=val/cycle_x was not logged" in error[0]
    assert "val/fd_effnet_best" in error[0]


def test_a_run_that_stops_mid_epoch_validates_its_final_weights_for_the_objective(
    train_config, tmp_path
) -> None:
    run = tmp_path / "run"
    logged = train(
        train_config(
            "max_batches=1", "metrics=fd_effnet", "optimized_metric=val/fd_effnet_best", run_dir=run
        )
    )
    record = json.loads((run / "run.json").read_text())
    assert record["batches"] == 1 and record["status"] == "finished"
    assert record["objective_value"] == pytest.approx(logged["val/fd_effnet_best"])


# Slow: two sweeps of three trials in subprocesses (~25 s), run by CI's slow step.
@pytest.mark.slow
def test_optuna_study_interrupted_and_run_again_completes_its_trials(tmp_path) -> None:
    search = [
        "-m",
        "hparams_search=cyclegan_optuna",
        "hydra.sweeper.n_trials=3",
        *TWO_BATCHES,
        "+callbacks.interrupt._target_=tests.test_sweeps.SignalAtBatch",
        "+callbacks.interrupt.job=${hydra:job.num}",
        "+callbacks.interrupt.at_job=1",
    ]
    study_dir = tmp_path / "logs" / "train" / "searches" / "cyclegan_optuna"
    database = study_dir / "optuna.db"

    first = style_gan_train(tmp_path, *search, check=False)
    # Ctrl-C in trial 1: the sweep stops as interrupted, the trial is marked failed at once.
    assert first.returncode == 128 + signal.SIGINT, first.stderr[-3000:]
    assert trial_states(database) == ["COMPLETE", "FAIL"]
    assert json.loads((study_dir / "1" / "run.json").read_text())["status"] == "interrupted"
    # A sweep killed outright leaves its trial RUNNING; the next start marks it failed.
    storage = f"sqlite:///{database}"
    optuna.load_study(study_name="cyclegan_optuna", storage=storage).ask()

    second = style_gan_train(tmp_path, *search)
    assert "1 of 3 trials done, 2 to run, from job 3" in second.stderr + second.stdout
    assert trial_states(database) == ["COMPLETE", "FAIL", "FAIL", "COMPLETE", "COMPLETE"]
    # Trial N ran in folder N; no folder was reused.
    assert sorted(p.name for p in study_dir.iterdir() if p.name.isdigit()) == ["0", "1", "3", "4"]

    study = optuna.load_study(study_name="cyclegan_optuna", storage=storage)
    # The continued sweep drew new parameters (a fixed seed would propose trial 0's again).
    proposed = [json.dumps(t.params, sort_keys=True) for t in study.trials if t.params]
    assert len(proposed) == 4 and len(set(proposed)) == 4
    completed = sorted(
        (t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE),
        key=lambda t: t.value,
    )
    rows = (study_dir / "summary.csv").read_text().splitlines()
    assert len(rows) == 1 + 4
    header = rows[0].split(",")
    assert header[:4] == ["job", "status", "objective", "objective_value"]
    jobs = [row.split(",")[0] for row in rows[1:]]
    assert jobs[:3] == [str(t.number) for t in completed]  # best (lowest FD) first
    assert jobs[3] == "1" and rows[4].split(",")[1] == "interrupted"
    assert (
        f"best of 4 jobs: {completed[0].number} with val/fd_effnet_best="
        in second.stdout + second.stderr
    )
    record = json.loads((study_dir / jobs[0] / "run.json").read_text())
    assert record["objective_value"] == pytest.approx(completed[0].value)
    assert record["batches"] == 2 and record["status"] == "finished"
    assert record["metrics"]["val/fd_effnet"]["best"] == record["objective_value"]
    summary_md = (study_dir / "summary.md").read_text()
    assert "model.lambda_cycle=" in summary_md and "trainer.max_epochs" not in summary_md

    # The command rebuilds it, e.g. for a sweep still running.
    (study_dir / "summary.csv").unlink()
    summary_main([str(study_dir)])
    assert (study_dir / "summary.csv").read_text().splitlines() == rows

    # Run once more: the study is complete, nothing runs.
    third = style_gan_train(tmp_path, *search)
    assert "3 of 3 trials done, 0 to run" in third.stderr + third.stdout
    assert len(trial_states(database)) == 5


@pytest.mark.parametrize("launcher", ["basic", "local"])
def test_multirun_jobs_get_their_own_grouped_wandb_runs(tmp_path, launcher) -> None:
    overrides = ["-m", *TWO_BATCHES, "model.lambda_cycle=5,10", "logger=[csv,wandb]"]
    if launcher == "local":
        overrides.append("hydra/launcher=local")
    result = style_gan_train(tmp_path, *overrides, "optimized_metric=val/fd_effnet_best")
    (sweep,) = (tmp_path / "logs" / "train" / "multiruns").iterdir()
    run_ids = []
    for job in ("0", "1"):
        run_id = (sweep / job / "wandb_run_id").read_text().strip()
        (records,) = wandb_records(sweep / job)
        (run,) = of_type(records, "run")
        assert run.run_id == run_id and run.run_group == sweep.name and run.job_type == "train"
        assert list(run.tags) == ["experiment:demo", "model:cyclegan", "data:demo"]
        assert any(
            m.name == "val/fd_effnet_best" and m.summary.min for m in of_type(records, "metric")
        )
        run_ids.append(run_id)
        steps = [int(r.step.num) for r in of_type(records, "history")]
        assert steps == sorted(steps)  # one run's steps only, not two jobs' interleaved
    assert run_ids[0] != run_ids[1]
    # submitit's local executor ran each job in a process of its own.
    assert (launcher == "local") == (sweep / ".submitit").is_dir()
    assert len((sweep / "summary.csv").read_text().splitlines()) == 3
    assert "best of 2 jobs" in result.stdout + result.stderr


def test_a_run_folder_resumes_its_own_last_checkpoint_and_wandb_run(
    train_config, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    run = tmp_path / "run"
    train(train_config("logger=wandb", run_dir=run))
    run_id = (run / "wandb_run_id").read_text().strip()
    # Requeued (or re-run) into the same folder with a longer budget: it goes on from batch 2.
    train(train_config("logger=wandb", "trainer.max_epochs=2", run_dir=run))
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 8
    assert (run / "wandb_run_id").read_text().strip() == run_id
    runs = wandb_records(run)
    assert len(runs) == 2 and {of_type(r, "run")[0].run_id for r in runs} == {run_id}
    record = json.loads((run / "run.json").read_text())
    assert record["batches"] == 4 and record["status"] == "finished"
    # resume_in_run_folder=false starts over.
    train(train_config("logger=wandb", "resume_in_run_folder=false", run_dir=run))
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 4


def test_log_model_puts_the_best_checkpoint_in_the_offline_run_as_an_artifact(
    train_config, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    run = tmp_path / "run"
    train(
        train_config(
            "logger=wandb",
            "logger.wandb.log_model=true",
            "callbacks=best",
            "metrics=fd_effnet",
            "optimized_metric=val/fd_effnet_best",
            run_dir=run,
        )
    )
    (records,) = wandb_records(run)
    run_id = (run / "wandb_run_id").read_text().strip()
    (artifact,) = of_type(records, "artifact")
    assert (artifact.name, artifact.type) == (f"model-{run_id}", "model")
    assert any(m.name == "val/fd_effnet_best" and m.summary.min for m in of_type(records, "metric"))
    captions = [
        json.loads(item.value_json)
        for r in of_type(records, "history")
        for item in r.item
        if list(item.nested_key) == ["samples", "captions"]
    ]
    assert captions == [["epoch=000-batch=0000002"], ["final"]]


def test_submitits_signal_gets_last_ckpt_written_before_its_handler_requeues(
    train_config, tmp_path, monkeypatch
) -> None:
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    run = tmp_path / "run"
    calls = []

    def requeue_and_exit(signum, frame):  # what submitit's SIGUSR2 handler does
        calls.append((run / "checkpoints" / "last.ckpt").is_file())
        raise SystemExit(-1)

    previous = signal.signal(signal.SIGUSR2, requeue_and_exit)
    try:
        cfg = train_config(
            "trainer.limit_train_batches=4",
            "+callbacks.usr2._target_=tests.test_sweeps.SignalAtBatch",
            "+callbacks.usr2.job=0",
            "+callbacks.usr2.at_job=0",
            f"+callbacks.usr2.signum={int(signal.SIGUSR2)}",
            run_dir=run,
        )
        with pytest.raises(RunInterrupted) as stopped:
            train(cfg)
        assert signal.getsignal(signal.SIGUSR2) is requeue_and_exit
    finally:
        signal.signal(signal.SIGUSR2, previous)
    assert calls == [True]
    assert stopped.value.code == 128 + signal.SIGUSR2
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 2
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"


def test_summary_of_a_folder_without_jobs_is_one_line(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_code:
        summary_main([str(tmp_path)])
    assert exit_code.value.code == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path} holds no sweep jobs")


def test_search_configs_compose_with_their_method_and_objective(tmp_path) -> None:
    for search, method in (("cyclegan_optuna", "CycleGAN"), ("cut_optuna", "CUT")):
        cfg = compose_config("train", [f"hparams_search={search}"], tmp_path, tmp_path)
        assert cfg.model._target_.endswith(f".{method}")
        assert cfg.hydra.sweeper.study_name == search
        assert cfg.hydra.sweeper.sampler.seed == 42
        assert cfg.optimized_metric == "val/fd_effnet_best"
