"""Training entry point: ``train(cfg)`` for code and tests, ``main`` for the command line.

style-gan-train                                   # the demo experiment, CPU is fine
style-gan-train experiment=horse2zebra data.root=/data/horse2zebra trainer=gpu
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import lightning as L
from omegaconf import DictConfig, OmegaConf

from style_gan.errors import ConfigError
from style_gan.run.callbacks import PerRankSeed, StoreConfig
from style_gan.run.checkpoints import (
    AtomicCheckpointIO,
    check_checkpoint,
    check_room_for_checkpoints,
    checkpoint_bytes,
)
from style_gan.run.cli import CONFIG_DIR, one_line_composition_errors, one_line_errors
from style_gan.run.config_values import check_config_values
from style_gan.run.console import lightning_console
from style_gan.run.instantiate import check_target_keys, instantiate_group
from style_gan.run.random_states import RandomStates

log = logging.getLogger(__name__)


def optimizer_steps(max_batches: int | None, model: L.LightningModule) -> int:
    """Lightning's ``max_steps`` for ``max_batches`` batches (None = no limit, -1).

    Lightning counts every optimizer step in ``global_step`` (Lightning #17958), so a GAN that
    steps G and D once per batch reaches max_steps=N after N/2 batches.
    """
    if max_batches is None:
        return -1
    if max_batches <= 0:
        raise ConfigError(f"max_batches={max_batches} must be a positive number of batches")
    return max_batches * getattr(model, "optimizer_steps_per_batch", 1)


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit the configured method on the configured data; return the last logged metrics."""
    check_target_keys(cfg)
    check_config_values(cfg)
    if cfg.trainer.get("max_steps", -1) != -1:
        raise ConfigError(
            "trainer.max_steps counts optimizer steps (two per GAN batch, Lightning #17958); "
            "set max_batches=N or trainer.max_epochs=N instead"
        )
    with lightning_console(max_batches=cfg.get("max_batches")):
        if cfg.get("seed") is not None:
            L.seed_everything(cfg.seed, workers=True)

        log.info("building data <%s> and model <%s>", cfg.data._target_, cfg.model._target_)
        datamodule: L.LightningDataModule = hydra.utils.instantiate(cfg.data)
        metrics = hydra.utils.instantiate(cfg.metrics) if cfg.get("metrics") else None
        model: L.LightningModule = hydra.utils.instantiate(cfg.model, metrics=metrics)
        check_room_for_checkpoints(Path(cfg.paths.output_dir), checkpoint_bytes(model))
        # Tests compose with the hydra node included; it is no part of the run's settings.
        config = OmegaConf.to_container(
            OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"]), resolve=True
        )
        callbacks = [*instantiate_group(cfg.get("callbacks")), StoreConfig(config), RandomStates()]
        if cfg.get("seed") is not None:
            callbacks.append(PerRankSeed(cfg.seed))
        loggers = instantiate_group(cfg.get("logger"))
        trainer: L.Trainer = hydra.utils.instantiate(
            cfg.trainer,
            callbacks=callbacks,
            logger=loggers or False,
            plugins=[AtomicCheckpointIO()],
            max_steps=optimizer_steps(cfg.get("max_batches"), model),
        )
        for logger in loggers:
            logger.log_hyperparams(config)

        ckpt_path = cfg.get("ckpt_path")
        if ckpt_path:
            check_checkpoint(ckpt_path, model, config["model"])
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    return {name: float(value) for name, value in trainer.callback_metrics.items()}


@one_line_composition_errors
@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
@one_line_errors
def main(cfg: DictConfig) -> None:
    train(cfg)


if __name__ == "__main__":
    main()
