"""The number a sweeper optimises: one logged metric, and which way it is better."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from hydra.utils import get_class

from style_gan.errors import ConfigError

# Metric groups of a MetricSuite config (see metrics/suite.py).
SUITE_GROUPS = ("style", "content", "target")
# Suite values computed from other metrics: ArtFID = (1 + LPIPS)(1 + FID), lower is better.
DERIVED_HIGHER_IS_BETTER = {"artfid": False}


def suite_directions(metrics: Mapping[str, Mapping] | None) -> dict[str, bool]:
    """``higher_is_better`` of each metric a MetricSuite config names, read from its class
    (torchmetrics metrics declare it), without building the metric."""
    if not metrics:
        return {}
    directions: dict[str, bool] = {}
    for group in SUITE_GROUPS:
        for name, node in (metrics.get(group) or {}).items():
            target = node.get("_target_") if isinstance(node, Mapping) else None
            if target is None:
                continue
            higher = getattr(get_class(target), "higher_is_better", None)
            if higher is not None:
                directions[name] = bool(higher)
    if metrics.get("artfid"):
        directions.update(DERIVED_HIGHER_IS_BETTER)
    return directions


def suite_metric(name: str) -> str:
    """The metric of the suite a logged ``val/<metric>[/<key>][_best]`` value comes from."""
    return name.removeprefix("val/").split("/", 1)[0].removesuffix("_best")


def metric_direction(name: str, directions: Mapping[str, bool]) -> bool | None:
    """Whether a larger value of the logged metric ``name`` is better (None = unknown).

    ``val/<metric>[/<key>][_best]`` of the metric suite takes its metric's own direction
    (``directions`` from suite_directions); the other ``train/`` and ``val/`` values are the
    methods' losses, lower-is-better. Anything else (learning rates, epoch) has none.
    """
    if name.startswith("val/"):
        return directions.get(suite_metric(name), False)
    if name.startswith("train/"):
        return False
    return None


def objective_direction(name: str, directions: Mapping[str, bool]) -> bool:
    """metric_direction of the objective ``name``; a ConfigError listing what can be
    optimised when it has none. (A ``val/`` name that is no metric of the suite is taken for
    a validation loss; if the run logs no such value, objective_value says so at its end.)"""
    metric = suite_metric(name)
    close = difflib.get_close_matches(metric, list(directions), n=1)
    if name.startswith("val/") and metric not in directions and close:
        raise ConfigError(
            f"optimized_metric={name}: no metric {metric!r} in this run's metrics= (did you "
            f"mean {name.replace(metric, close[0], 1)}?)"
        )
    higher = metric_direction(name, directions)
    if higher is None:
        known = sorted(f"val/{metric}, val/{metric}_best" for metric in directions)
        raise ConfigError(
            f"optimized_metric={name} is neither a validation metric nor a loss; choose one "
            f"of: {', '.join([*known, 'train/<loss>', 'val/<loss>'])}"
        )
    return higher


def objective_value(name: str, logged: Mapping[str, float]) -> float:
    """The value of ``name`` among the metrics a run ``logged``; a ConfigError naming what was
    logged when it is missing."""
    if name not in logged:
        names = ", ".join(sorted(logged)) or "nothing"
        raise ConfigError(
            f"optimized_metric={name} was not logged by this run (logged: {names}); pick one of "
            "those, or add the metric that logs it to metrics=..."
        )
    return float(logged[name])
