"""The console's progress bar: Lightning's rich bar, counting toward ``max_batches`` when the run
has that budget (a bar of one epoch's batches of ``max_epochs`` says nothing about when a
300-batch run ends), and reading the logged losses only as often as the loggers do."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import RichProgressBar

from style_gan.run.callbacks import batches_seen


class BatchBudgetBar(RichProgressBar):
    """RichProgressBar; with ``max_batches`` set, its training bar shows the run's batches done
    (a resumed run starts where it stopped) out of ``max_batches``, and the epoch. The losses
    it shows are read every ``trainer.log_every_n_steps`` batches."""

    def __init__(self, max_batches: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_batches = max_batches
        self._shown: dict[str, int | str | float | dict[str, float]] = {}
        self._shown_at: int | None = None

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
        if self.max_batches is None:
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
            return
        if not self.is_disabled and self.train_progress_bar_id is None:
            self._initialize_train_progress_bar_id()
        self._update(self.train_progress_bar_id, batches_seen(trainer, pl_module))
        self._update_metrics(trainer, pl_module)
