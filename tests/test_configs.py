"""Every config file composes and instantiates: data, model, trainer, callbacks, loggers."""

from __future__ import annotations

from pathlib import Path

import hydra
import lightning as L
import pytest
from omegaconf import DictConfig, OmegaConf

from style_gan.metrics.suite import MetricSuite
from style_gan.precision import resolve_precision
from style_gan.run.callbacks import BestCheckpoint
from style_gan.run.cli import CONFIG_DIR
from style_gan.run.instantiate import check_target_keys, instantiate_group
from style_gan.run.objective import suite_directions
from tests.conftest import compose_config


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def compose_with(override: str, tmp_path: Path) -> DictConfig:
    extra = {
        "data=unpaired": ["data.root=/datasets/somewhere"],
        "data=paired": ["data.root=/datasets/somewhere"],
        # No GPU here or in CI: build everything else the gpu config sets.
        "trainer=gpu": ["trainer.accelerator=cpu"],
    }.get(override, [])
    return compose_config("train", [override, *extra], tmp_path / "run", tmp_path / "data")


@pytest.mark.parametrize(
    "override",
    [f"data={o}" for o in options("data")]
    + [f"model/generator={o}" for o in options("model/generator")]
    + [f"model/discriminator={o}" for o in options("model/discriminator")]
    + [f"model/adversarial={o}" for o in options("model/adversarial")]
    + [f"model={o}" for o in options("model")]
    + [f"experiment={o}" for o in options("experiment")]
    + [f"metrics={o}" for o in options("metrics")],
)
def test_data_model_and_metrics_configs_instantiate(
    override: str, tmp_path: Path, fake_torch_home: Path, monkeypatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(fake_torch_home))  # fid, kid, lpips, artfid weights
    cfg = compose_with(override, tmp_path)
    check_target_keys(cfg)
    assert isinstance(hydra.utils.instantiate(cfg.data), L.LightningDataModule)
    metrics = hydra.utils.instantiate(cfg.metrics) if cfg.get("metrics") else None
    assert metrics is None or isinstance(metrics, MetricSuite)
    model = hydra.utils.instantiate(cfg.model, metrics=metrics)
    assert isinstance(model, L.LightningModule)


@pytest.mark.parametrize(
    "override",
    [f"trainer={o}" for o in options("trainer")]
    + [f"logger={o}" for o in options("logger")]
    + [f"callbacks={o}" for o in options("callbacks")]
    + [f"debug={o}" for o in options("debug")]
    + [f"paths={o}" for o in options("paths")]
    + [f"hydra={o}" for o in options("hydra")],
)
def test_trainer_logger_and_callback_configs_instantiate(
    override: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    cfg = compose_with(override, tmp_path)
    check_target_keys(cfg)
    callbacks = instantiate_group(cfg.get("callbacks"))
    loggers = instantiate_group(cfg.get("logger"))
    precision, _ = resolve_precision(cfg.trainer.precision, cfg.trainer.accelerator)
    trainer = hydra.utils.instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False, precision=precision
    )
    assert isinstance(trainer, L.Trainer)


def test_every_config_file_is_covered() -> None:
    groups = {p.parent.relative_to(CONFIG_DIR).as_posix() for p in CONFIG_DIR.rglob("*.yaml")}
    assert groups == {
        ".",
        "data",
        "model",
        "model/generator",
        "model/discriminator",
        "model/adversarial",
        "metrics",
        "trainer",
        "logger",
        "callbacks",
        "debug",
        "paths",
        "hydra",
        "hydra/sweeper",
        "hydra/launcher",
        "hparams_search",
        "experiment",
        "experiment_model",
    }


@pytest.mark.parametrize("search", options("hparams_search"))
def test_each_search_optimises_a_metric_of_its_recipe_over_keys_that_exist(
    search: str, tmp_path: Path
) -> None:
    cfg = compose_with(f"hparams_search={search}", tmp_path)
    assert cfg.hydra.sweeper._target_.endswith("StudySweeper")
    assert cfg.hydra.sweeper.study_name == search
    assert cfg.hydra.sweeper.storage.endswith(f"searches/{search}/optuna.db")
    directions = suite_directions(cfg.metrics)
    assert cfg.optimized_metric.removeprefix("val/").removesuffix("_best") in directions
    absent = object()
    for key in cfg.hydra.sweeper.params:
        assert OmegaConf.select(cfg, key, default=absent) is not absent, f"{search}: {key}"


@pytest.mark.parametrize(
    ("overrides", "tasks", "gpus", "nodes"),
    [
        (["trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"], 4, 4, 2),
        (["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"], 2, 0, 1),
        ([], 1, 1, 1),
    ],
)
def test_the_slurm_launcher_asks_for_a_task_and_a_gpu_per_device(
    overrides: list[str], tasks: int, gpus: int, nodes: int, tmp_path: Path
) -> None:
    cfg = compose_config(
        "train", ["hydra/launcher=slurm", *overrides], tmp_path / "run", tmp_path / "data"
    )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.tasks_per_node, launcher.gpus_per_node, launcher.nodes) == (tasks, gpus, nodes)
    assert launcher.signal_delay_s == 120 and launcher.max_num_timeout == 20


def test_the_local_launcher_composes(tmp_path: Path) -> None:
    cfg = compose_config("train", ["hydra/launcher=local"], tmp_path / "run", tmp_path / "data")
    assert cfg.hydra.launcher._target_.endswith("LocalLauncher")
    assert cfg.hydra.launcher.tasks_per_node == 1


@pytest.mark.parametrize("name", options("experiment_model"))
def test_each_experiment_model_file_is_picked_by_its_experiment_and_model(
    name: str, tmp_path: Path
) -> None:
    # A file whose name matches no <experiment>_<model> pair would silently never apply.
    experiment, model = next(
        (e, name.removeprefix(f"{e}_"))
        for e in options("experiment")
        if name.startswith(f"{e}_") and name.removeprefix(f"{e}_") in options("model")
    )
    cfg = compose_with(f"model={model}", tmp_path)
    assert cfg.hydra.runtime.choices["experiment"] == experiment
    assert cfg.hydra.runtime.choices["experiment_model@_global_"] == name


@pytest.mark.parametrize(
    ("monitor", "mode"), [("val/fd_effnet", "min"), ("val/ssim", "max"), ("val/cycle", "min")]
)
def test_the_best_checkpoint_takes_its_metrics_direction(
    monitor: str, mode: str, tmp_path: Path
) -> None:
    cfg = compose_config(
        "train",
        ["callbacks=best", f"callbacks.best_checkpoint.monitor={monitor}"],
        tmp_path / "run",
        tmp_path / "data",
    )
    assert cfg.callbacks.best_checkpoint.mode == mode
    (best,) = [c for c in instantiate_group(cfg.callbacks) if isinstance(c, BestCheckpoint)]
    assert best.mode == mode
