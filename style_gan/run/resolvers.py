"""OmegaConf resolvers the configs use for what depends on how Hydra runs the job or on other
groups: the sweep a job belongs to, the recipe's choices as tags, a cluster job's GPUs and a
best checkpoint's mode."""

from __future__ import annotations

from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from style_gan.errors import ConfigError
from style_gan.run.cli import in_multirun
from style_gan.run.objective import metric_direction, suite_directions


def sweep_name() -> str | None:
    """The sweep folder's name in a multirun (one W&B group per sweep), else None."""
    return Path(HydraConfig.get().sweep.dir).name if in_multirun() else None


def choice_tags(*groups: str) -> list[str]:
    """``group:option`` of each named config group Hydra chose (experiment:demo, ...)."""
    choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
    return [f"{group}:{choices[group]}" for group in groups if choices.get(group)]


def gpus_per_node(accelerator: str, devices: int | str) -> int:
    """GPUs to ask a cluster for per node: ``trainer.devices`` unless the run is on the CPU."""
    if accelerator == "cpu":
        return 0
    if not isinstance(devices, int) or devices < 1:
        raise ConfigError(
            f"trainer.devices={devices!r}: a cluster job needs a number of devices per node, "
            "e.g. trainer.devices=4"
        )
    return devices


def checkpoint_mode(monitor: str, *, _root_: DictConfig) -> str:
    """ModelCheckpoint's ``mode`` for the metric it monitors: the metric's own direction
    (``max`` for SSIM, ``min`` for a Fréchet distance or a loss)."""
    higher = metric_direction(monitor, suite_directions(_root_.get("metrics")))
    return "max" if higher else "min"


def register_resolvers() -> None:
    """Make ``${style_gan.sweep_name:}``, ``${style_gan.choice_tags:experiment,model}``,
    ``${style_gan.gpus_per_node:${trainer.accelerator},${trainer.devices}}`` and
    ``${style_gan.checkpoint_mode:${.monitor}}`` resolvable."""
    for name, resolver in (
        ("style_gan.sweep_name", sweep_name),
        ("style_gan.choice_tags", choice_tags),
        ("style_gan.gpus_per_node", gpus_per_node),
        ("style_gan.checkpoint_mode", checkpoint_mode),
    ):
        OmegaConf.register_new_resolver(name, resolver, replace=True)
