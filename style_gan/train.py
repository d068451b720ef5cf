"""Training entry point: ``train(cfg)`` for code and tests, ``main`` for the command line.

style-gan-train                                   # the demo experiment, CPU is fine
style-gan-train experiment=horse2zebra data.root=/data/horse2zebra trainer=gpu
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import lightning as L
from lightning.pytorch.plugins.environments import SLURMEnvironment
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from style_gan.errors import ConfigError
from style_gan.precision import resolve_precision
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
from style_gan.run.help import answers_help
from style_gan.run.instantiate import check_target_keys, instantiate_group
from style_gan.run.last_checkpoint import LatestCheckpoint, RunInterrupted
from style_gan.run.loggers import LogStepsFollowBatches, define_objective, finish_wandb_runs
from style_gan.run.objective import objective_direction, objective_value, suite_directions
from style_gan.run.random_states import RandomStates
from style_gan.run.resolvers import register_resolvers
from style_gan.run.run_record import RunRecord
from style_gan.run.threads import local_training_processes, set_cpu_threads

log = logging.getLogger(__name__)
register_resolvers()


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
    directions = suite_directions(cfg.get("metrics"))
    objective = cfg.get("optimized_metric")
    objective_higher = objective_direction(objective, directions) if objective else None
    with lightning_console(max_batches=cfg.get("max_batches")):
        if cfg.get("seed") is not None:
            L.seed_everything(cfg.seed, workers=True)

        set_cpu_threads(cfg.get("cpu_threads", "auto"), local_training_processes(cfg.trainer))
        log.info("building data <%s> and model <%s>", cfg.data._target_, cfg.model._target_)
        datamodule: L.LightningDataModule = hydra.utils.instantiate(cfg.data)
        metrics = hydra.utils.instantiate(cfg.metrics) if cfg.get("metrics") else None
        model: L.LightningModule = hydra.utils.instantiate(cfg.model, metrics=metrics)
        output_dir = Path(cfg.paths.output_dir)
        if rank_zero_only.rank == 0:
            log.info("run folder: %s", output_dir.resolve())
        check_room_for_checkpoints(output_dir, checkpoint_bytes(model))
        precision, why = resolve_precision(cfg.trainer.precision, cfg.trainer.accelerator)
        if why is not None:
            log.info("trainer.precision=auto: %s (%s)", precision, why)
        # Tests compose with the hydra node included; it is no part of the run's settings.
        config = OmegaConf.to_container(
            OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"]), resolve=True
        )
        config["trainer"]["precision"] = precision  # what ran, not "auto"
        callbacks = [
            # First: the steps it sets are the ones the other callbacks log at.
            LogStepsFollowBatches(),
            *instantiate_group(cfg.get("callbacks")),
            StoreConfig(config),
            RandomStates(),
            RunRecord(output_dir, objective, directions),
        ]
        if cfg.get("seed") is not None:
            callbacks.append(PerRankSeed(cfg.seed))
        plugins: list = [AtomicCheckpointIO()]
        if SLURMEnvironment.detect():
            # Requeueing belongs to the launcher (submitit): its SIGUSR2 handler requeues once
            # LatestCheckpoint has written last.ckpt. Lightning's own would requeue a second time.
            plugins.append(SLURMEnvironment(auto_requeue=False))
        loggers = instantiate_group(cfg.get("logger"))
        trainer: L.Trainer = hydra.utils.instantiate(
            cfg.trainer,
            callbacks=callbacks,
            logger=loggers or False,
            plugins=plugins,
            precision=precision,
            max_steps=optimizer_steps(cfg.get("max_batches"), model),
        )
        for logger in loggers:
            logger.log_hyperparams(config)
        if objective and trainer.is_global_zero:
            define_objective(loggers, objective, objective_higher)

        latest = next((c for c in callbacks if isinstance(c, LatestCheckpoint)), None)
        ckpt_path = cfg.get("ckpt_path")
        if not ckpt_path and cfg.get("resume_in_run_folder", True):
            ckpt_path = own_last_checkpoint(latest)
        if ckpt_path:
            check_checkpoint(ckpt_path, model, config["model"])
        failed = True
        try:
            trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
            if (
                objective
                and objective not in trainer.callback_metrics
                and trainer.limit_val_batches
            ):
                # max_batches ended the run before its epoch's validation: the final weights are
                # validated, so a sweep gets the value it ranks this run by.
                log.info("validating the final weights for optimized_metric=%s", objective)
                trainer.validate(model, datamodule=datamodule, verbose=False)
            failed = False
            if trainer.is_global_zero:
                log.info(finished_message(output_dir))
        except Exception as error:
            if latest is None or latest.received_signal is None:
                raise
            # After a stop signal an error is its echo: SLURM signals every process of the job,
            # W&B's service among them, and the next call to it raises. The run stops as
            # interrupted (not failed, which would end a sweep's job for good).
            raise RunInterrupted(latest.received_signal, latest.path) from error
        finally:
            finish_wandb_runs(loggers, failed)
    return {name: float(value) for name, value in trainer.callback_metrics.items()}


def finished_message(output_dir: Path) -> str:
    """Where a finished run's results are: its folder, and its sample grid when it wrote one."""
    message = f"done; run folder: {output_dir.resolve()}"
    grid = output_dir / "samples" / "final.png"
    return f"{message} (samples: {grid.resolve()})" if grid.is_file() else message


def own_last_checkpoint(latest: LatestCheckpoint | None) -> Path | None:
    """The run folder's own ``last.ckpt`` when there is one: the job was requeued, or re-run
    into the same folder, and goes on from where it stopped."""
    if latest is None or not latest.path.is_file():
        return None
    log.info("resuming from %s, this run folder's own last checkpoint", latest.path)
    return latest.path


@answers_help("style-gan-train")
@one_line_composition_errors
@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
@one_line_errors
def main(cfg: DictConfig) -> float | None:
    """The command line; returns the value of ``optimized_metric`` for sweepers (None = none)."""
    logged = train(cfg)
    objective = cfg.get("optimized_metric")
    return objective_value(objective, logged) if objective else None


if __name__ == "__main__":
    main()
