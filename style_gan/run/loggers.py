"""Logger factories whose defaults suit unattended cluster jobs."""

from __future__ import annotations

import csv
import logging
import netrc
import os
import secrets
import string
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lightning as L
from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger, Logger, WandbLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from style_gan.errors import check_choice
from style_gan.run.callbacks import batches_seen
from style_gan.run.last_checkpoint import RunInterrupted

log = logging.getLogger(__name__)

WANDB_MODES = ("auto", "online", "offline", "disabled")


def wandb_logged_in() -> bool:
    """Whether W&B has an API key (WANDB_API_KEY or a ~/.netrc entry), checked without prompting."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlsplit(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    netrc_path = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return netrc.netrc(netrc_path).authenticators(host or "") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def wandb_run_id(run_dir: Path) -> str:
    """The W&B run id of the run in ``run_dir``, made and kept in ``<run_dir>/wandb_run_id`` on
    first use: a requeued or re-run job in the same folder continues the same W&B run."""
    id_file = run_dir / "wandb_run_id"
    if id_file.is_file():
        return id_file.read_text().strip()
    # W&B's own ids: 8 characters of [a-z0-9].
    run_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
    run_dir.mkdir(parents=True, exist_ok=True)
    id_file.write_text(run_id + "\n")
    return run_id


def wandb_logger(mode: str = "auto", save_dir: str = ".", **kwargs: Any) -> WandbLogger:
    """A WandbLogger that never prompts for a login and resumes its run in the same run folder.

    mode: ``auto`` = the WANDB_MODE environment variable if set, else online when an API key is
    configured and offline otherwise (upload later with ``wandb sync``); ``online``,
    ``offline`` and ``disabled`` as in W&B. The run id is kept in ``<save_dir>/wandb_run_id``
    (see wandb_run_id) unless ``id`` is given.
    """
    check_choice("logger.wandb.mode", mode, WANDB_MODES)
    if mode == "auto":
        mode = os.environ.get("WANDB_MODE") or ("online" if wandb_logged_in() else "offline")
    run_id = kwargs.pop("id", None) or wandb_run_id(Path(save_dir))
    return WandbLogger(mode=mode, save_dir=save_dir, id=run_id, resume="allow", **kwargs)


class ContinuedExperimentWriter(ExperimentWriter):
    """Lightning's CSV writer, except that an existing ``metrics.csv`` is continued, never
    deleted: a run restarted in its folder (a requeued job, ``ckpt_path=``) keeps its history."""

    def _check_log_dir_exists(self) -> None:
        # Lightning deletes metrics.csv here. Its columns are taken over instead: rows are
        # appended under them, and a new column rewrites the file with the old rows kept.
        if not self._fs.isfile(self.metrics_file_path):
            return
        with self._fs.open(self.metrics_file_path, "r", newline="") as file:
            text = file.read()
        self.metrics_keys = next(csv.reader(text.splitlines()[:1]), [])
        if text and not text.endswith("\n"):
            # A row cut short by a kill: the next row starts on its own line.
            with self._fs.open(self.metrics_file_path, "a", newline="") as file:
                file.write("\r\n")

    def _rewrite_with_new_header(self, fieldnames: list[str]) -> None:
        # Through a temporary file and a rename: a kill mid-rewrite leaves the old file whole.
        with self._fs.open(self.metrics_file_path, "r", newline="") as file:
            rows = list(csv.DictReader(file))
        partial = f"{self.metrics_file_path}.partial"
        with self._fs.open(partial, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=fieldnames)
            writer.writeheader()
            writer.writerows(rows)
        self._fs.mv(partial, self.metrics_file_path)


class ContinuedCSVLogger(CSVLogger):
    """A CSVLogger whose ``metrics.csv`` goes on across restarts in the same run folder (see
    ContinuedExperimentWriter)."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ContinuedExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = ContinuedExperimentWriter(log_dir=self.log_dir)
        return self._experiment


class LogStepsFollowBatches(L.Callback):
    """Keeps the loggers' steps those of a run never stopped: each batch's own, each once.

    Lightning counts the step in ``_batches_that_stepped``, and on a resume at an epoch's end
    of a run with ``max_steps`` (``max_batches``) it reruns that epoch's end and counts one
    batch too many: every later step would be one ahead of the uninterrupted run's.
    """

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._set_step(trainer, pl_module)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._set_step(trainer, pl_module)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, RunInterrupted):
            # Stopped after a batch that last.ckpt holds, before Lightning passed its losses
            # to the loggers: the resumed run starts after it, so its row is written now.
            trainer._logger_connector.update_train_step_metrics()

    @staticmethod
    def _set_step(trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.fit_loop.epoch_loop._batches_that_stepped = batches_seen(trainer, pl_module)


def define_objective(loggers: list[Logger], name: str, higher_is_better: bool) -> None:
    """Show the best value of the sweep objective ``name`` in each W&B run's summary."""
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            logger.experiment.define_metric(name, summary="max" if higher_is_better else "min")


def finish_wandb_runs(loggers: list[Logger], failed: bool) -> None:
    """End the W&B runs a job started: the next job of a sweep in the same process then gets a
    run of its own instead of logging into this one."""
    for logger in loggers:
        if isinstance(logger, WandbLogger) and logger._experiment is not None:
            if not failed:
                logger.experiment.finish(exit_code=0)
                continue
            # The run's own error is the one to see (W&B's service may be gone with it).
            try:
                logger.experiment.finish(exit_code=1)
            except Exception as error:
                log.warning("could not close the W&B run %s: %s", logger.experiment.id, error)
