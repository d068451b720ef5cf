"""Training callbacks: the best checkpoint, the stored config, a seed per process, sample
image grids and the model's size (the rolling last.ckpt is in last_checkpoint.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.model_summary import get_human_readable_count
from torchvision.utils import save_image

from style_gan.errors import ConfigError
from style_gan.run.sample_grid import make_sample_grid

log = logging.getLogger(__name__)


def batches_seen(trainer: L.Trainer, pl_module: L.LightningModule) -> int:
    """Training batches run so far. ``global_step`` counts optimizer steps (two per GAN batch,
    Lightning #17958), so it is divided by the module's ``optimizer_steps_per_batch``."""
    return trainer.global_step // getattr(pl_module, "optimizer_steps_per_batch", 1)


class BestCheckpoint(ModelCheckpoint):
    """The checkpoint of the best value of a logged validation metric (``monitor``, ``mode``).

    A monitored metric that validation did not log is a config error, said in one line with
    the metrics that were logged (Lightning's own check raises a traceback).
    """

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        logged = trainer.callback_metrics
        if not trainer.sanity_checking and self.monitor not in logged:
            names = ", ".join(sorted(key for key in logged if key.startswith("val/")))
            raise ConfigError(
                f"the best checkpoint monitors {self.monitor}, which validation did not log "
                f"(logged: {names or 'nothing'}); add its metric to metrics=, monitor another "
                "with callbacks.best_checkpoint.monitor=..., or drop it: ~callbacks.best_checkpoint"
            )
        super().on_validation_end(trainer, pl_module)


class StoreConfig(L.Callback):
    """Stores the run's resolved config in every checkpoint (key ``style_gan_config``), so a
    checkpoint says how to rebuild its model and what a mismatched resume differs in."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint["style_gan_config"] = self.config


class PerRankSeed(L.Callback):
    """Seeds process ``rank`` of a multi-process run with ``seed + rank`` once the processes
    exist, so what a step draws (DCGAN's z, DiffAugment, CUT's patches, the image pool, the
    style image a content is paired with) differs between GPUs instead of repeating on each.
    Rank 0 keeps ``seed``: a one-process run draws what it always drew. The weights stay
    identical: DDP copies rank 0's to the others."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if trainer.global_rank > 0:
            L.seed_everything(self.seed + trainer.global_rank, workers=True, verbose=False)


class ModelSize(L.Callback):
    """One log line with the trainable parameters of each network, in place of Lightning's
    summary table (whose FLOPs column reads 0 for a module without an example input)."""

    @rank_zero_only
    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        counts = {
            name: sum(p.numel() for p in child.parameters() if p.requires_grad)
            for name, child in pl_module.named_children()
        }
        networks = ", ".join(
            f"{name} {get_human_readable_count(count)}" for name, count in counts.items() if count
        )
        total = get_human_readable_count(sum(counts.values()))
        log.info("%s: %s trainable parameters (%s)", type(pl_module).__name__, total, networks)


class SampleGrid(L.Callback):
    """Grid of a fixed validation batch through the model, after every validation and at the end
    (a training batch stands in until the first validation, or for good without validation).

    The method's ``sample_images(batch)`` returns named (N, 3, H, W) tensors in [-1, 1]: each
    entry is a labelled column (for CycleGAN: content | result | reconstruction | style), one
    row per example (``sample_grid.make_sample_grid``). Grids go to
    ``dirpath/epoch=E-batch=B.png`` (``final.png`` at the end) and to every logger that takes
    images (TensorBoard, W&B). ``every_n_batches`` None = only after validation.
    """

    def __init__(
        self, dirpath: str | Path, num_examples: int = 4, every_n_batches: int | None = None
    ) -> None:
        self.dirpath = Path(dirpath)
        self.num_examples = num_examples
        self.every_n_batches = every_n_batches
        self.batch: dict[str, Any] | None = None
        self.batch_is_validation = False

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if not self.batch_is_validation and batch_idx == 0 and dataloader_idx == 0:
            self.batch = self._keep(batch)
            self.batch_is_validation = True

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking and self.batch is not None:
            self._write(trainer, pl_module, self._name(trainer, pl_module))

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if self.batch is None:
            self.batch = self._keep(batch)
        if self.every_n_batches and batches_seen(trainer, pl_module) % self.every_n_batches == 0:
            self._write(trainer, pl_module, self._name(trainer, pl_module))

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.batch is not None:
            self._write(trainer, pl_module, "final")

    def _keep(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {
            key: value[: self.num_examples].detach().cpu()
            for key, value in batch.items()
            if isinstance(value, torch.Tensor)
        }

    @staticmethod
    def _name(trainer: L.Trainer, pl_module: L.LightningModule) -> str:
        return f"epoch={trainer.current_epoch:03d}-batch={batches_seen(trainer, pl_module):07d}"

    @rank_zero_only
    def _write(self, trainer: L.Trainer, pl_module: L.LightningModule, name: str) -> None:
        was_training = pl_module.training
        pl_module.eval()
        images = pl_module.sample_images(self.batch)
        pl_module.train(was_training)
        grid = make_sample_grid(images)
        self.dirpath.mkdir(parents=True, exist_ok=True)
        save_image(grid, self.dirpath / f"{name}.png")
        step = batches_seen(trainer, pl_module)
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("samples", grid, step)
            elif isinstance(logger, WandbLogger):
                logger.log_image("samples", [grid], step=step, caption=[name])
