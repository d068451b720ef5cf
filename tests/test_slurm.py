"""A sweep on a real single-node SLURM cluster (tests/slurm/cluster.sh), through
hydra/launcher=slurm: one job requeued mid-run with `scontrol requeue` resumes from its own
last.ckpt in the same folder and W&B run, and finishes its batches."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.test_sweeps import REPO, TWO_BATCHES, of_type, wandb_records

pytestmark = pytest.mark.slow
CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
MAX_BATCHES = 40
# A sweep through the SLURM launcher, of small CycleGANs without metrics.
SLURM_SWEEP = [
    sys.executable,
    "-m",
    "style_gan.train",
    "-m",
    "hydra/launcher=slurm",
    "hydra.launcher.timeout_min=10",
    *[
        o
        for o in TWO_BATCHES
        if not o.startswith(("trainer.max_epochs", "trainer.limit_t", "metrics"))
    ],
    "metrics=none",
]


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A running cluster; the environment its commands need (SLURM_CONF)."""
    path = f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"
    if shutil.which("slurmctld", path=path) is None or shutil.which("munged", path=path) is None:
        message = "needs Debian's slurm-wlm and munge (apt-get install slurm-wlm munge)"
        # CI installs them and sets this: there a missing cluster is a failure, not a skip.
        if os.environ.get("STYLE_GAN_REQUIRE_SLURM") == "1":
            pytest.fail(message)
        pytest.skip(message)
    state = tmp_path_factory.mktemp("slurm")
    env = {**os.environ, "PATH": path, "SLURM_CONF": str(state / "slurm.conf")}
    subprocess.run([CLUSTER, "start", state], check=True, env=env, timeout=120)
    try:
        yield env
    finally:
        subprocess.run([CLUSTER, "stop", state], check=False, env=env, timeout=60)


def wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.5)


def batches_done(run: Path) -> int:
    try:
        return json.loads((run / "run.json").read_text())["batches"]
    except (OSError, ValueError, KeyError):
        return 0


def test_a_requeued_job_resumes_in_its_folder_with_its_wandb_run(slurm, tmp_path) -> None:
    env = {**slurm, "STYLE_GAN_ROOT": str(tmp_path), "WANDB_MODE": "offline"}
    env["PYTHONPATH"] = str(REPO)
    sweep = subprocess.Popen(
        [
            *SLURM_SWEEP,
            f"max_batches={MAX_BATCHES}",
            "trainer.max_epochs=100",
            "trainer.limit_train_batches=10",
            "callbacks.latest_checkpoint.every_n_batches=2",
            "logger=[csv,wandb]",
            "model.lambda_cycle=5,10",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        multiruns = tmp_path / "logs" / "train" / "multiruns"
        wait_for(lambda: multiruns.is_dir() and any(multiruns.iterdir()), 120, "the sweep folder")
        (sweep_dir,) = multiruns.iterdir()
        job = sweep_dir / "0"
        wait_for(lambda: batches_done(job) >= 6, 180, "job 0 to run 6 batches")
        run_id = (job / "wandb_run_id").read_text().strip()
        queue = subprocess.run(
            ["squeue", "-h", "-o", "%i"], env=slurm, capture_output=True, text=True, check=True
        )
        (array_task,) = [j for j in queue.stdout.split() if j.endswith("_0")]
        subprocess.run(["scontrol", "requeue", array_task], env=slurm, check=True)
        output, _ = sweep.communicate(timeout=420)
    finally:
        sweep.kill()
    assert sweep.returncode == 0, output[-4000:]

    record = json.loads((job / "run.json").read_text())
    assert record["status"] == "finished" and record["restarts"] == 1
    assert record["batches"] == MAX_BATCHES
    last = torch.load(job / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 2 * MAX_BATCHES
    assert (
        "resuming from " + str(job / "checkpoints" / "last.ckpt") in (job / "train.log").read_text()
    )
    # The same W&B run, continued: one offline folder per attempt, both of that run id. (The
    # first may hold no records: SLURM's signal also ends W&B's service process, and what it
    # had not yet written to the file is lost; the resumed run logs from last.ckpt's batch.)
    assert (job / "wandb_run_id").read_text().strip() == run_id
    attempts = sorted((job / "wandb").glob("offline-run-*"))
    assert len(attempts) == 2 and all(a.name.endswith(f"-{run_id}") for a in attempts)
    pieces = wandb_records(job)
    assert {run.run_id for records in pieces for run in of_type(records, "run")} == {run_id}
    resumed = pieces[-1]
    (run,) = of_type(resumed, "run")
    assert run.run_group == sweep_dir.name
    steps = [int(r.step.num) for r in of_type(resumed, "history")]
    assert steps and steps == sorted(steps)
    other = json.loads((sweep_dir / "1" / "run.json").read_text())
    assert other["status"] == "finished" and other["restarts"] == 0
    assert other["batches"] == MAX_BATCHES
    rows = (sweep_dir / "summary.csv").read_text().splitlines()
    assert len(rows) == 3 and all(",finished," in row for row in rows[1:])


def test_a_ddp_job_runs_one_slurm_task_per_device(slurm, tmp_path) -> None:
    env = {**slurm, "STYLE_GAN_ROOT": str(tmp_path), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [
            *SLURM_SWEEP,
            "trainer.max_epochs=1",
            "trainer.limit_train_batches=2",
            "trainer=ddp",
            "trainer.devices=2",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    (job,) = (tmp_path / "logs" / "train" / "multiruns").glob("*/0")
    log = (job / "train.log").read_text()
    # Lightning took both ranks from SLURM's two tasks; it started no processes itself.
    assert "GLOBAL_RANK: 0, MEMBER: 1/2" in log and "GLOBAL_RANK: 1, MEMBER: 2/2" in log
    record = json.loads((job / "run.json").read_text())
    assert record["status"] == "finished" and record["batches"] == 2
