"""``<run>/run.json``: a run's outcome in one small file, for sweep summaries and dashboards
that must not parse logs: status, objective, the best and last value of each logged metric,
batches, wall time and restarts."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L

from style_gan.files import write_atomically
from style_gan.run.callbacks import batches_seen
from style_gan.run.last_checkpoint import LatestCheckpoint, RunInterrupted
from style_gan.run.objective import metric_direction

RECORD_NAME = "run.json"


def read_run_record(run_dir: Path) -> dict[str, Any] | None:
    """The record of the run in ``run_dir``, or None when it has none (yet) or it is unreadable."""
    try:
        return json.loads((run_dir / RECORD_NAME).read_text())
    except (OSError, ValueError):
        return None


class RunRecord(L.Callback):
    """Keeps ``<dirpath>/run.json`` up to date: written at the start, after every validation
    (one after training too) and epoch, and at the end with how the run ended. The best and
    last values and the wall time are also kept in checkpoints, so a resumed (requeued) run
    goes on counting from them.

    Status: ``running`` (started, not ended, or killed without a word), ``finished``,
    ``failed`` (with the error), ``requeued`` (stopped by a signal under SLURM, which starts it
    again) or ``interrupted`` (stopped by a signal elsewhere; resume by hand).

    ``objective``: the metric a sweep optimises (None = none); ``directions``: the metric
    suite's higher-is-better per metric (run/objective.py), which decides what "best" is.
    """

    def __init__(
        self,
        dirpath: str | Path,
        objective: str | None = None,
        directions: Mapping[str, bool] | None = None,
    ) -> None:
        self.path = Path(dirpath) / RECORD_NAME
        self.objective = objective
        self.directions = dict(directions or {})
        self.objective_higher = metric_direction(objective, self.directions) if objective else None
        self.metrics: dict[str, dict[str, float | None]] = {}
        self.wall_s_before = 0.0
        self.started = time.monotonic()
        self.status = "running"

    def state_dict(self) -> dict[str, Any]:
        return {"metrics": self.metrics, "wall_s": self.wall_s()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.metrics = {name: dict(values) for name, values in state_dict["metrics"].items()}
        self.wall_s_before = float(state_dict["wall_s"])

    def wall_s(self) -> float:
        return self.wall_s_before + time.monotonic() - self.started

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.started = time.monotonic()
        self.write(trainer, pl_module, "running")

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Also after training: a validation of the final weights keeps the run finished.
        if not trainer.sanity_checking:
            self.update(trainer.callback_metrics)
            self.write(trainer, pl_module, self.status)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.update(trainer.callback_metrics)
        self.write(trainer, pl_module, "running")

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.update(trainer.callback_metrics)
        self.write(trainer, pl_module, "finished")

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self.update(trainer.callback_metrics)
        # After a stop signal an error is its echo: the signal reaches the helper processes too
        # (seen under SLURM: W&B's service dies and its next call raises).
        stopping = any(
            isinstance(callback, LatestCheckpoint) and callback.received_signal is not None
            for callback in trainer.callbacks
        )
        if isinstance(exception, RunInterrupted) or stopping:
            status = "requeued" if "SLURM_JOB_ID" in os.environ else "interrupted"
            self.write(trainer, pl_module, status)
        else:
            error = " ".join(str(exception).split()) or type(exception).__name__
            self.write(trainer, pl_module, "failed", error=error)

    def update(self, logged: Mapping[str, Any]) -> None:
        """Fold the latest logged scalars into each metric's last and best value."""
        for name, tensor in logged.items():
            # Names without a "/" are progress-bar copies of logged losses.
            if "/" not in name:
                continue
            value = float(tensor)
            # best: None for a metric whose direction is unknown.
            entry = self.metrics.setdefault(name, {"last": value, "best": None})
            entry["last"] = value
            higher = metric_direction(name, self.directions)
            if higher is not None and not math.isnan(value):
                best = entry["best"]
                entry["best"] = value if best is None else (max if higher else min)(best, value)

    def write(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        status: str,
        error: str | None = None,
    ) -> None:
        self.status = status
        if not trainer.is_global_zero:
            return
        objective = self.metrics.get(self.objective) if self.objective else None
        record = {
            "status": status,
            "objective": self.objective,
            "objective_value": objective["last"] if objective else None,
            "higher_is_better": self.objective_higher,
            "batches": batches_seen(trainer, pl_module),
            "wall_s": round(self.wall_s(), 3),
            "restarts": int(os.environ.get("SLURM_RESTART_COUNT", 0)),
            "metrics": self.metrics,
            "error": error,
        }
        text = json.dumps(record, indent=1, allow_nan=True).encode()
        write_atomically(self.path, lambda file: file.write(text))
