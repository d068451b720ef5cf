"""The console's progress bar: Lightning's rich bar, counting toward ``max_batches`` when the run
has that budget (a bar of one epoch's batches of ``max_epochs`` says nothing about when a
300-batch run ends), and reading the logged losses only as often as the loggers do. Its rate
and time left are this run's own average, and log lines print above it rather than through it.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import timedelta
from typing import IO, Any

import lightning as L
from lightning.pytorch.callbacks import RichProgressBar
from lightning.pytorch.callbacks.progress.rich_progress import (
    CustomTimeColumn,
    ProcessingSpeedColumn,
)
from rich.file_proxy import FileProxy
from rich.progress import Task
from rich.text import Text

from style_gan.run.callbacks import batches_seen


class BatchRate:
    """Training batches per second since this process started training: a resumed run's
    earlier batches are not counted, and validation time is (it is part of what is left)."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.first = 0
        self.done = 0

    def start(self, done: int, now: float | None = None) -> None:
        self.started = time.monotonic() if now is None else now
        self.first = self.done = done

    def update(self, done: int) -> None:
        self.done = done

    def elapsed(self, now: float | None = None) -> float | None:
        if self.started is None:
            return None
        return (time.monotonic() if now is None else now) - self.started

    def per_second(self, now: float | None = None) -> float | None:
        """None until a batch is done."""
        elapsed = self.elapsed(now)
        if elapsed is None or elapsed <= 0 or self.done <= self.first:
            return None
        return (self.done - self.first) / elapsed

    def seconds_left(self, batches: float, now: float | None = None) -> float | None:
        """The time ``batches`` more batches take at this rate (None = not known yet)."""
        rate = self.per_second(now)
        if rate is None or batches == float("inf"):
            return None
        return max(0.0, batches) / rate


def clock(seconds: float | None) -> str:
    return "-:--:--" if seconds is None else str(timedelta(seconds=int(seconds)))


def rate_text(rate: float | None) -> str:
    """Batches a second, or seconds a batch when slower than one a second (0.08it/s reads as
    nothing happening)."""
    if rate is None:
        return "-.--it/s"
    return f"{rate:.2f}it/s" if rate >= 1 else f"{1 / rate:.2f}s/it"


class TimeColumn(CustomTimeColumn):
    """Elapsed • left; for the training bar, from the run's BatchRate (rich's own estimate keeps
    30 s of samples: with slower batches it has none, and no time left)."""

    def __init__(self, bar: BatchBudgetBar, style: Any) -> None:
        super().__init__(style)
        self.bar = bar

    def render(self, task: Task) -> Text:
        if task.id != self.bar.train_progress_bar_id:
            return super().render(task)
        rate = self.bar.rate
        total = float("inf") if task.total is None else task.total
        left = 0.0 if task.finished else rate.seconds_left(total - task.completed)
        return Text(f"{clock(rate.elapsed())} • {clock(left)}", style=self.style)


class SpeedColumn(ProcessingSpeedColumn):
    """The training bar's rate from the run's BatchRate, other bars' from rich; "-.--" rather
    than Lightning's "0.00" while there is none yet."""

    def __init__(self, bar: BatchBudgetBar, style: Any) -> None:
        super().__init__(style)
        self.bar = bar

    def render(self, task: Task) -> Text:
        is_training = task.id == self.bar.train_progress_bar_id
        rate = self.bar.rate.per_second() if is_training else task.speed
        return Text(rate_text(rate), style=self.style)


class BatchBudgetBar(RichProgressBar):
    """RichProgressBar; with ``max_batches`` set, its training bar shows the run's batches done
    (a resumed run starts where it stopped) out of ``max_batches``, and the epoch. The losses
    it shows are read every ``trainer.log_every_n_steps`` batches. Its rate and time left are
    the run's average so far; while it is shown, console log lines print above it."""

    def __init__(self, max_batches: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_batches = max_batches
        self.rate = BatchRate()
        self._shown: dict[str, int | str | float | dict[str, float]] = {}
        self._shown_at: int | None = None
        self._rerouted: list[tuple[logging.StreamHandler, IO[str]]] = []

    def configure_columns(self, trainer: L.Trainer) -> list:
        columns = super().configure_columns(trainer)
        replaced = {
            CustomTimeColumn: TimeColumn(self, self.theme.time),
            ProcessingSpeedColumn: SpeedColumn(self, self.theme.processing_speed),
        }
        return [replaced.get(type(column), column) for column in columns]

    def _init_progress(self, trainer: L.Trainer) -> None:
        super()._init_progress(trainer)
        if self.progress is not None and not self._progress_stopped and not self._rerouted:
            self._rerouted = route_console_logging()

    def _stop_progress(self) -> None:
        super()._stop_progress()
        for handler, stream in self._rerouted:
            handler.setStream(stream)
        self._rerouted = []

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self.rate.start(batches_seen(trainer, pl_module))

    def get_metrics(
        self, trainer: L.Trainer, pl_module: L.LightningModule
    ) -> dict[str, int | str | float | dict[str, float]]:
        # Lightning turns the bar's logged tensors into numbers each time it is drawn; for a
        # tensor on a GPU that waits for all the work queued before it, every batch.
        done = batches_seen(trainer, pl_module)
        due = self._shown_at is None or done - self._shown_at >= trainer.log_every_n_steps
        if due or not trainer.training:
            self._shown = super().get_metrics(trainer, pl_module)
            self._shown_at = done
        return self._shown

    @property
    def total_train_batches(self) -> int | float:
        return super().total_train_batches if self.max_batches is None else self.max_batches

    def _get_train_description(self, current_epoch: int) -> str:
        if self.max_batches is None:
            return super()._get_train_description(current_epoch)
        return f"{f'Epoch {current_epoch}, batch':{len(self.validation_description)}}"

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_start(trainer, pl_module)
        if self.max_batches is not None:
            self._update(self.train_progress_bar_id, batches_seen(trainer, pl_module))

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self.rate.update(batches_seen(trainer, pl_module))
        if self.max_batches is None:
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
            return
        if not self.is_disabled and self.train_progress_bar_id is None:
            self._initialize_train_progress_bar_id()
        self._update(self.train_progress_bar_id, batches_seen(trainer, pl_module))
        self._update_metrics(trainer, pl_module)


def route_console_logging() -> list[tuple[logging.StreamHandler, IO[str]]]:
    """Point the root logger's console handlers at rich's proxies of stdout and stderr, which
    print above a live bar (a handler keeps the stream it was configured with, so its lines
    would otherwise be drawn through the bar); returns (handler, stream) to restore."""
    proxies = {
        id(proxy.rich_proxied_file): proxy
        for proxy in (sys.stdout, sys.stderr)
        if isinstance(proxy, FileProxy)
    }
    rerouted = []
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler and id(handler.stream) in proxies:
            rerouted.append((handler, handler.setStream(proxies[id(handler.stream)])))
    return rerouted
