"""Building objects from config nodes, with typo checks the entry points run first."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable
from typing import Any

import hydra
from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf

from style_gan.errors import ConfigError

_HYDRA_KEYS = {"_target_", "_partial_", "_recursive_", "_convert_", "_args_"}


def check_target_keys(cfg: DictConfig) -> None:
    """Raise a ConfigError for a key that its node's ``_target_`` does not accept.

    Hydra refuses unknown keys only when they are overridden without ``+``; this catches the
    rest (``+model.lambda_cycel=5``) before anything is built, with a suggestion. The config
    is read as plain data, unresolved, so no interpolation runs here.
    """
    _check_node(OmegaConf.to_container(cfg, resolve=False), "")


def _check_node(node: Any, path: str) -> None:
    if isinstance(node, list):
        for index, item in enumerate(node):
            _check_node(item, f"{path}[{index}]")
        return
    if not isinstance(node, dict) or path == "hydra":
        return
    target = node.get("_target_")
    if target is not None:
        allowed = accepted_keys(target)
        if allowed is not None:
            for key in node:
                if key not in allowed and key not in _HYDRA_KEYS:
                    raise ConfigError(unknown_key_message(f"{path}.{key}", allowed, target))
    for key, child in node.items():
        _check_node(child, f"{path}.{key}" if path else str(key))


def unknown_key_message(full_key: str, allowed: Iterable[str], owner: str) -> str:
    """``unknown key 'a.b' for <owner> (did you mean 'c'?); allowed: ...``, one line."""
    allowed = sorted(allowed)
    hint = difflib.get_close_matches(full_key.rsplit(".", 1)[-1], allowed, n=1)
    suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"unknown key '{full_key}' for {owner}{suggestion}; allowed: {', '.join(allowed)}"


def accepted_keys(target: str) -> set[str] | None:
    """Keyword names ``target`` accepts; None when it takes ``**kwargs`` or cannot be inspected."""
    try:
        signature = inspect.signature(get_object(target))
    except (ImportError, ValueError, TypeError):
        return None
    parameters = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.kind is not inspect.Parameter.VAR_POSITIONAL}


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate every ``_target_`` node of a group such as ``callbacks`` or ``logger``."""
    if not group:
        return []
    return [
        hydra.utils.instantiate(node)
        for node in group.values()
        if isinstance(node, DictConfig) and "_target_" in node
    ]
