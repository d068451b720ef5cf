"""Checking a config's values before anything is built: numbers where a class takes numbers,
and the ranges that make sense for learning rates, sizes, counts and loss weights. A bad value
is one line naming the key and what is allowed, instead of a failure deep inside a step (or a
negative loss weight that trains silently)."""

from __future__ import annotations

import math
import numbers
import types
import typing
from collections.abc import Callable
from typing import Any

from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf

from style_gan.errors import ConfigError

# (test, what is allowed) per key name, wherever the key sits in the config.
_POSITIVE = (lambda value: value > 0, "> 0")
_NON_NEGATIVE = (lambda value: value >= 0, ">= 0")
_FRACTION = (lambda value: 0 <= value < 1, "in [0, 1)")
_RANGES: dict[str, tuple[Callable[[float], bool], str]] = {
    "lr": _POSITIVE,
    "batch_size": _POSITIVE,
    "eval_batch_size": _POSITIVE,
    "image_size": _POSITIVE,
    "crop_size": _POSITIVE,
    "load_size": _POSITIVE,
    "base_channels": _POSITIVE,
    "gradient_clip_norm": _POSITIVE,
    "every_n_batches": _POSITIVE,
    "every_n_minutes": _POSITIVE,
    "nce_temperature": _POSITIVE,
    "num_patches": _POSITIVE,
    "tile_size": _POSITIVE,
    "num_workers": _NON_NEGATIVE,
    "pool_size": _NON_NEGATIVE,
    "gp_weight": _NON_NEGATIVE,
    "r1_gamma": _NON_NEGATIVE,
    "init_gain": _NON_NEGATIVE,
    "tile_overlap": _NON_NEGATIVE,
    "ema_decay": _FRACTION,
    "dropout": _FRACTION,
}
# Loss weights: 0 switches a loss off; a negative one would ascend it.
_LOSS_WEIGHT_PREFIX = "lambda_"


def check_config_values(cfg: DictConfig) -> None:
    """Raise a ConfigError for the first value of the wrong type or out of range.

    Types come from the annotations of each node's ``_target_`` (``lambda_cycle: float``
    refuses ``abc``); ranges from the key's name. Values are read resolved where they resolve;
    a ``???`` is left to its own error.
    """
    _check_node(_plain(cfg), "")


def _plain(cfg: DictConfig) -> Any:
    nodes = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    try:
        return OmegaConf.to_container(nodes, resolve=True, throw_on_missing=False)
    except Exception:
        # An interpolation that cannot resolve yet (a resolver only Hydra's run provides)
        # fails later in its own words; the literal values are still checked.
        return OmegaConf.to_container(nodes, resolve=False)


def _check_node(node: Any, path: str) -> None:
    if isinstance(node, list):
        for index, item in enumerate(node):
            _check_node(item, f"{path}[{index}]")
        return
    if not isinstance(node, dict):
        return
    hints = _parameter_types(node.get("_target_"))
    for key, value in node.items():
        full_key = f"{path}.{key}" if path else str(key)
        if isinstance(value, (dict, list)):
            _check_node(value, full_key)
            continue
        if value is None or value == "???" or _is_interpolation(value):
            continue
        if key in hints:
            _check_type(full_key, value, hints[key])
        _check_range(str(key), full_key, value)


def _is_interpolation(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${")


def _check_type(full_key: str, value: Any, hint: Any) -> None:
    accepted = _accepted_types(hint)
    if not accepted or str in accepted or object in accepted:
        return
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if float in accepted and not is_number:
        raise ConfigError(f"{full_key}={value!r} must be a number")
    is_whole = is_number and math.isfinite(value) and value == int(value)
    if float not in accepted and int in accepted and not is_whole:
        raise ConfigError(f"{full_key}={value!r} must be a whole number")
    if bool in accepted and accepted <= {bool, type(None)} and not isinstance(value, bool):
        raise ConfigError(f"{full_key}={value!r} must be true or false")


def _check_range(key: str, full_key: str, value: Any) -> None:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return
    if key.startswith(_LOSS_WEIGHT_PREFIX):
        test, allowed = _NON_NEGATIVE
        what = "a loss weight (0 switches the loss off)"
    elif key in _RANGES:
        test, allowed = _RANGES[key]
        what = None
    else:
        return
    if math.isnan(value) or not test(value):
        detail = f", {what}" if what else ""
        raise ConfigError(f"{full_key}={value!r} must be {allowed}{detail}")


def _parameter_types(target: Any) -> dict[str, Any]:
    """Annotated parameter types of ``target`` (a class's ``__init__``); {} when unknown."""
    if not isinstance(target, str):
        return {}
    try:
        built = get_object(target)
        function = built.__init__ if isinstance(built, type) else built
        return typing.get_type_hints(function)
    except Exception:
        # Annotations naming what only type checkers import cannot be evaluated; such a
        # target's values are checked by range alone.
        return {}


def _accepted_types(hint: Any) -> set[type]:
    """The plain types a hint allows: ``float | None`` -> {float, NoneType}; {} for others."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        accepted: set[type] = set()
        for argument in typing.get_args(hint):
            accepted |= _accepted_types(argument) or {object}
        return accepted
    if hint is float:
        # PEP 484: an int is accepted where a float is.
        return {float, int}
    if isinstance(hint, type):
        return {hint}
    return set()
