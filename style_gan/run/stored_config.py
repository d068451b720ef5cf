"""Building objects from a config someone else stored: a checkpoint's ``style_gan_config`` or an
export folder's ``style_gan.json``.

Such a config is data, not code. Handing it to Hydra would call whatever ``_target_`` it names
(``builtins.open`` empties a file, a ``.pth`` file in site-packages runs at the next start), and
a prefix test is no fence (``style_gan.nets.generators.torch.builtins.open`` starts with
``style_gan.nets.`` and reaches ``open`` through the module's attributes), nor is a walk over
keys when an ``${oc.create:...}`` value builds a node at resolution time. So:

- a ``_target_`` must be one of the exact dotted names in ``STORED_CLASSES`` (of the kinds the
  caller builds); it is imported as that module and that attribute, nothing else is walked;
- nothing may interpolate: a string holding ``${`` anywhere (key or value) is refused, and the
  config is built here from plain dicts and lists, never through OmegaConf, so no resolver runs;
- only plain data: dicts with string keys, lists, str, int, float, bool, None;
- of Hydra's keys only ``_target_``, ``_partial_`` (a bool), ``_args_`` (a list, itself
  checked) and ``_convert_`` are understood. Nodes are built as Hydra's ``_convert_: all`` does:
  children first, as plain containers.

Every refusal is one CheckpointError line naming the key.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable
from typing import Any

from style_gan.errors import CheckpointError

# The classes a stored config may build, by kind, each by the full dotted name our configs use.
STORED_CLASSES: dict[str, frozenset[str]] = {
    "method": frozenset(
        {
            "style_gan.methods.cyclegan.CycleGAN",
            "style_gan.methods.cut.CUT",
            "style_gan.methods.pix2pix.Pix2Pix",
            "style_gan.methods.dcgan.DCGAN",
            "style_gan.methods.exemplar.ExemplarStyleTransfer",
        }
    ),
    "network": frozenset(
        {
            "style_gan.nets.generators.ResnetGenerator",
            "style_gan.nets.generators.UnetGenerator",
            "style_gan.nets.style_transfer.StyleTransferGenerator",
            "style_gan.nets.discriminators.PatchDiscriminator",
            "style_gan.nets.projected.ProjectedDiscriminator",
            "style_gan.nets.dcgan.DCGANGenerator",
            "style_gan.nets.dcgan.DCGANDiscriminator",
        }
    ),
    "objective": frozenset({"style_gan.gan.adversarial.Adversarial"}),
    "optimizer": frozenset(
        {"torch.optim.Adam", "torch.optim.AdamW", "torch.optim.SGD", "torch.optim.RMSprop"}
    ),
}
# Everything a stored method config may name: the method and the parts it is given.
MODEL_KINDS = ("method", "network", "objective", "optimizer")

_HYDRA_KEYS = {"_target_", "_partial_", "_args_", "_convert_"}
_CONVERT_MODES = {"none", "partial", "object", "all"}
_PLAIN_VALUES = (str, int, float, bool, type(None))


def register_stored_class(cls: type, kind: str) -> None:
    """Let stored configs build ``cls`` (your own network, say) as a ``kind``: a choice made in
    code by whoever runs it, never by the file being loaded."""
    STORED_CLASSES[kind] = STORED_CLASSES[kind] | {f"{cls.__module__}.{cls.__qualname__}"}


def check_stored_config(node: Any, source: str, kinds: Iterable[str], key: str = "") -> None:
    """Raise a one-line CheckpointError unless ``node`` is plain data that names only classes
    of ``kinds`` in ``STORED_CLASSES``. ``source`` names the file in the message and ``key``
    where ``node`` sits in it (``model.generator``)."""
    allowed = frozenset().union(*(STORED_CLASSES[kind] for kind in kinds))

    def refuse(at: str, problem: str) -> CheckpointError:
        return CheckpointError(
            f"{source} is refused: its stored config key {at or '<root>'} {problem} (a stored "
            "config is data: it may name only style_gan's own classes and holds no interpolation)"
        )

    def walk(value: Any, at: str) -> None:
        if isinstance(value, dict):
            for name in value:
                if not isinstance(name, str):
                    raise refuse(at, f"has a key of type {type(name).__name__}")
                if "${" in name:
                    raise refuse(f"{at}.{name}" if at else name, "is an interpolation")
            walk_node(value, at)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{at}[{index}]")
        elif isinstance(value, str):
            if "${" in value:
                raise refuse(at, f"holds an interpolation ({value[:60]!r})")
        elif not isinstance(value, _PLAIN_VALUES):
            raise refuse(at, f"holds a {type(value).__name__}, not plain data")

    def walk_node(node: dict[str, Any], at: str) -> None:
        def child(name: str) -> str:
            return f"{at}.{name}" if at else name

        if "_target_" in node and node["_target_"] not in allowed:
            raise refuse(
                child("_target_"),
                f"names {node['_target_']!r}, which is not one of the {'/'.join(kinds)} "
                "classes style_gan builds from a stored config",
            )
        for name in node:
            if name.startswith("_") and name.endswith("_") and name not in _HYDRA_KEYS:
                raise refuse(child(name), "is a Hydra key that stored configs may not use")
        if not isinstance(node.get("_partial_", False), bool):
            raise refuse(child("_partial_"), "is not true or false")
        if not isinstance(node.get("_args_", []), list):
            raise refuse(child("_args_"), "is not a list")
        if node.get("_convert_", "all") not in _CONVERT_MODES:
            raise refuse(child("_convert_"), f"is not one of {sorted(_CONVERT_MODES)}")
        for name, value in node.items():
            walk(value, child(name))

    walk(node, key)


def build_stored(node: Any, source: str, kinds: Iterable[str], key: str = "") -> Any:
    """What ``node`` describes, built after ``check_stored_config`` passed: each ``_target_``
    called with its built ``_args_`` and keywords (or a functools.partial of it)."""
    kinds = tuple(kinds)
    check_stored_config(node, source, kinds, key)
    return _build(node)


def stored_class(target: Any, source: str, kind: str, key: str = "") -> Any:
    """The class a stored ``_target_`` at ``key`` names, when it is one of ``kind``; else a
    one-line CheckpointError."""
    check_stored_config({"_target_": target}, source, (kind,), key)
    return _import(target)


def _build(node: Any) -> Any:
    if isinstance(node, list):
        return [_build(item) for item in node]
    if not isinstance(node, dict):
        return node
    keywords = {name: _build(value) for name, value in node.items() if name not in _HYDRA_KEYS}
    if "_target_" not in node:
        return keywords
    target = _import(node["_target_"])
    arguments = [_build(item) for item in node.get("_args_", [])]
    if node.get("_partial_", False):
        return functools.partial(target, *arguments, **keywords)
    return target(*arguments, **keywords)


@functools.cache
def _import(target: str) -> Any:
    # ``target`` is a checked, exact registry name: import its module, take one attribute.
    module, _, name = target.rpartition(".")
    return getattr(importlib.import_module(module), name)
