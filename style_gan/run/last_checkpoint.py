"""The rolling ``last.ckpt`` a run resumes from, and stopping cleanly on a signal."""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Checkpoint

from style_gan.errors import StyleGanError
from style_gan.files import remove_partial_files
from style_gan.run.callbacks import batches_seen

log = logging.getLogger(__name__)

# Signals that stop a run after its current batch with last.ckpt written: Ctrl-C, a
# scheduler's stop (SIGTERM, also SLURM's on preemption and `scontrol requeue`), SLURM's usual
# warning before a time limit (SIGUSR1) and submitit's (SIGUSR2).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)
# Signals whose earlier Python handler gets them once last.ckpt is written: submitit's SIGUSR2
# handler requeues the job (the one owner of requeueing; Lightning's is switched off) and exits.
HANDOVER_SIGNALS = (signal.SIGUSR2,)


class RunInterrupted(SystemExit):
    """A run stopped by a signal after writing ``last.ckpt``. Its exit code is the shell's
    128 + signal number, so a scheduler sees the run as interrupted, not finished."""

    def __init__(self, signum: int, checkpoint: Path) -> None:
        super().__init__(128 + signum)
        self.signum = signum
        self.checkpoint = checkpoint


class LatestCheckpoint(Checkpoint):
    """One rolling ``last.ckpt``: written at every epoch end, every ``every_n_batches`` batches
    and every ``every_n_minutes`` minutes of training (None = off), at the end of training, and
    after the current batch when a stop signal arrives (then the run exits 128 + signal).

    It is written only between batches, so it always holds one consistent state (G and D after
    the same batch): an error between batches (in validation) writes it, a crash inside a batch
    keeps the previous one. Writes are atomic (see
    AtomicCheckpointIO); temporary files a killed run left behind are removed at the start.
    Being a ``Checkpoint``, Lightning runs its epoch-end hook after the module's, so the saved
    learning-rate schedule has already stepped.
    """

    def __init__(
        self,
        dirpath: str | Path,
        every_n_batches: int | None = None,
        every_n_minutes: float | None = 10.0,
    ) -> None:
        self.dirpath = Path(dirpath)
        self.every_n_batches = every_n_batches
        self.every_n_minutes = every_n_minutes
        self.last_write = time.monotonic()
        self.saved_batches: int | None = None
        self.received_signal: int | None = None
        self.previous_handlers: dict[int, Any] = {}
        self.in_batch = False

    @property
    def path(self) -> Path:
        return self.dirpath / "last.ckpt"

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            for leftover in remove_partial_files(self.dirpath):
                log.info("removed %s, an unfinished write of an interrupted run", leftover)
        self.last_write = time.monotonic()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Installed after Lightning's own SIGTERM handler, which it replaces: one owner.
        self.received_signal = None
        self.previous_handlers = {
            signum: signal.signal(signum, self._on_signal) for signum in STOP_SIGNALS
        }

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("received %s: stopping after this batch", signal.Signals(signum).name)
        self.received_signal = signum

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self.in_batch = True

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self.in_batch = False
        batches = batches_seen(trainer, pl_module)
        minutes = (time.monotonic() - self.last_write) / 60
        # Rank 0's clock and signal decide, so every rank writes (and stops) at the same batch.
        stop, due = trainer.strategy.broadcast(
            (
                self.received_signal,
                bool(self.every_n_batches and batches % self.every_n_batches == 0)
                or bool(self.every_n_minutes and minutes >= self.every_n_minutes),
            ),
            src=0,
        )
        if due or stop is not None:
            self.save(trainer, pl_module)
        if stop is not None:
            log.info(
                "stopped by %s after batch %d; resume with ckpt_path=%s",
                signal.Signals(stop).name,
                batches,
                self.path,
            )
            self._hand_over(stop)
            raise RunInterrupted(stop, self.path)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.save(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.save(trainer, pl_module)
        self._restore_handlers()

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self._restore_handlers()
        if isinstance(exception, RunInterrupted):
            return
        if not self.in_batch:
            # Between batches (in validation, say) the state is consistent: keep it.
            with contextlib.suppress(StyleGanError):
                self.save(trainer, pl_module)
        elif self.saved_batches is not None:
            log.info(
                "%s is kept from batch %d (the failed batch is not in it)",
                self.path,
                self.saved_batches,
            )

    def save(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Write ``last.ckpt`` now, unless it already holds this batch."""
        batches = batches_seen(trainer, pl_module)
        if batches == self.saved_batches or trainer.sanity_checking:
            return
        # The whole training state; said explicitly, or Lightning logs its default each time.
        trainer.save_checkpoint(self.path, weights_only=False)
        self.saved_batches = batches
        self.last_write = time.monotonic()

    def _hand_over(self, signum: int) -> None:
        """Call the handler ``signum`` had before this run's, if it is a HANDOVER_SIGNALS one
        set from Python; its exit becomes RunInterrupted, so the run ends as interrupted."""
        previous = self.previous_handlers.get(signum)
        if signum not in HANDOVER_SIGNALS or not callable(previous):
            return
        self._restore_handlers()
        try:
            previous(signum, None)
        except SystemExit as handler_exit:
            raise RunInterrupted(signum, self.path) from handler_exit

    def _restore_handlers(self) -> None:
        for signum, handler in self.previous_handlers.items():
            signal.signal(signum, handler)
        self.previous_handlers = {}
