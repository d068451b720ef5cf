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

import lightning as L
from hydra.utils import get_object
from lightning.pytorch.accelerators import AcceleratorRegistry
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

# The Trainer's numbers, which Lightning checks only as the Trainer is built (several lines of
# Hydra's and Lightning's). Apart from _RANGES: elsewhere in a config these names could mean
# something else.
_AT_LEAST_ONE = (lambda value: value >= 1, ">= 1")
_BATCH_LIMIT = (
    # An int counts batches, a float is a fraction of them: 1 is one batch, 1.0 all.
    lambda value: value >= 0 if isinstance(value, int) else 0 <= value <= 1,
    "a whole number of batches >= 0 or a fraction in [0.0, 1.0]",
)
# The methods step their own optimizers (manual optimization), which Lightning refuses to
# combine with its gradient clipping or accumulation.
_MANUAL_OPTIMIZATION = "style_gan's methods step their optimizers themselves"
_TRAINER_RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "max_epochs": (lambda value: value >= -1, ">= 0, or -1 for no limit"),
    "min_epochs": _NON_NEGATIVE,
    "limit_train_batches": _BATCH_LIMIT,
    "limit_val_batches": _BATCH_LIMIT,
    "limit_test_batches": _BATCH_LIMIT,
    "limit_predict_batches": _BATCH_LIMIT,
    "val_check_interval": (
        lambda value: value >= 1 if isinstance(value, int) else 0 < value <= 1,
        "a whole number of batches >= 1 or a fraction of an epoch in (0.0, 1.0]",
    ),
    "check_val_every_n_epoch": (lambda value: value >= 1, ">= 1, or null"),
    "log_every_n_steps": _AT_LEAST_ONE,
    "num_nodes": _AT_LEAST_ONE,
    "accumulate_grad_batches": (
        lambda value: value == 1,
        f"1: {_MANUAL_OPTIMIZATION}; a larger data.batch_size averages over more images",
    ),
    "gradient_clip_val": (
        lambda value: value == 0,
        f"0 or null: {_MANUAL_OPTIMIZATION}; set model.gradient_clip_norm instead",
    ),
}
# What trainer.precision=auto adds to Lightning's values (see style_gan.precision).
_PRECISION_AUTO = "auto"


def check_config_values(cfg: DictConfig) -> None:
    """Raise a ConfigError for the first value of the wrong type or out of range.

    Types come from the annotations of each node's ``_target_`` (``lambda_cycle: float``
    refuses ``abc``); ranges from the key's name. Values are read resolved where they resolve;
    a ``???`` is left to its own error.
    """
    plain = _plain(cfg)
    _check_node(plain, "")
    if isinstance(plain.get("trainer"), dict):
        _check_trainer(plain["trainer"])


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
    if isinstance(value, bool) and bool in accepted:
        # One of the types is bool (trainer.fast_dev_run: int | bool), though a bool is an int.
        return
    is_number = _is_number(value)
    if float in accepted and not is_number:
        raise ConfigError(f"{full_key}={value!r} must be a number")
    is_whole = is_number and math.isfinite(value) and value == int(value)
    if float not in accepted and int in accepted and not is_whole:
        raise ConfigError(f"{full_key}={value!r} must be a whole number")
    if bool in accepted and accepted <= {bool, type(None)} and not isinstance(value, bool):
        raise ConfigError(f"{full_key}={value!r} must be true or false")


def _check_range(key: str, full_key: str, value: Any) -> None:
    if not _is_number(value):
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


def _check_trainer(trainer: dict[str, Any]) -> None:
    """The Trainer's settings that Lightning would refuse, and an accelerator not here."""
    for key, (test, allowed) in _TRAINER_RANGES.items():
        value = trainer.get(key)
        if _is_number(value) and (math.isnan(value) or not test(value)):
            raise ConfigError(f"trainer.{key}={value!r} must be {allowed}")
    accelerator = trainer.get("accelerator")
    _check_accelerator(accelerator)
    on_cpu = accelerator == "cpu" or (accelerator == "auto" and not _available("cuda", "mps"))
    _check_devices(trainer.get("devices"), on_cpu)
    _check_precision(trainer.get("precision"))


def _check_accelerator(accelerator: Any) -> None:
    """A known accelerator name, and one this machine has (Lightning: several lines, and for
    ``gpu`` only ``No supported gpu backend found!``)."""
    if not isinstance(accelerator, str) or _is_interpolation(accelerator):
        return
    registered = sorted(AcceleratorRegistry.available_accelerators())
    if accelerator not in ("auto", "gpu", *registered):
        choices = ", ".join(["auto", "gpu", *registered])
        raise ConfigError(
            f"trainer.accelerator={accelerator!r} is not allowed; choose one of: {choices}"
        )
    # gpu: CUDA where there is one, else Apple's MPS, as Lightning picks.
    backends = ("cuda", "mps") if accelerator == "gpu" else (accelerator,)
    if accelerator not in ("auto", "cpu") and not _available(*backends):
        device = "GPU" if accelerator in ("gpu", "cuda", "mps") else accelerator.upper()
        raise ConfigError(
            f"trainer.accelerator={accelerator!r}: no {device} was found on this machine; "
            "train on the CPU with trainer=cpu"
        )


def _available(*accelerators: str) -> bool:
    """Whether this machine has any of Lightning's ``accelerators`` (``cuda``, ``mps``...)."""
    return any(AcceleratorRegistry[name]["accelerator"].is_available() for name in accelerators)


def _check_devices(devices: Any, on_cpu: bool) -> None:
    """Lightning's forms of ``trainer.devices``: ``auto``, a count (``2`` or ``"2"``) and, off
    the CPU, -1 for all or device indices (``[0, 1]``, ``"0,1"``)."""
    if devices is None or _is_interpolation(devices):
        return
    count = devices.strip() if isinstance(devices, str) else devices
    if count == "auto":
        return
    if isinstance(count, str) and count.lstrip("-").isdigit():
        count = int(count)
    if on_cpu:
        if not (_is_whole_number(count) and count >= 1):
            raise ConfigError(
                f"trainer.devices={devices!r} must be a number of processes >= 1, or auto, "
                "on the CPU"
            )
        return
    if isinstance(count, str):
        count = [index.strip() for index in count.split(",") if index.strip()]
    indices = isinstance(count, list) and bool(count)
    indices = indices and all(str(index).isdigit() for index in count)
    if not indices and not (_is_whole_number(count) and (count >= 1 or count == -1)):
        raise ConfigError(
            f"trainer.devices={devices!r} must be a count >= 1, -1 for all, auto, or a list "
            "of device indices"
        )


def _check_precision(precision: Any) -> None:
    """Lightning's precisions, read from its annotation, and ``auto``."""
    if precision is None or _is_interpolation(precision):
        return
    hint = typing.get_type_hints(L.Trainer.__init__)["precision"]
    precisions = [_PRECISION_AUTO, *_literal_values(hint)]
    if precision not in precisions:
        allowed = ", ".join(dict.fromkeys(str(value) for value in precisions))
        raise ConfigError(
            f"trainer.precision={precision!r} is not allowed; choose one of: {allowed}"
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _literal_values(hint: Any) -> list[Any]:
    """The values of the Literal types in ``hint``: ``Literal[16, "bf16"] | None`` ->
    [16, "bf16"]."""
    if typing.get_origin(hint) is typing.Literal:
        return list(typing.get_args(hint))
    return [value for argument in typing.get_args(hint) for value in _literal_values(argument)]


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
