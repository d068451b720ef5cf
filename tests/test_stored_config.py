"""Stored configs are data: crafted checkpoints and export folders that try to run code are
refused in one line naming the key, by every entry that reads one, and nothing is written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from style_gan.errors import CheckpointError
from style_gan.eval import load_trained_model
from style_gan.inference.critic import load_critic
from style_gan.inference.export import export_safetensors
from style_gan.inference.generator import load_generator, load_pretrained
from style_gan.run.checkpoints import check_checkpoint
from style_gan.run.cli import CONFIG_DIR
from style_gan.run.stored_config import (
    MODEL_KINDS,
    STORED_CLASSES,
    build_stored,
    register_stored_class,
)

PRECIOUS = "precious"


def opener(victim: Path) -> dict[str, Any]:
    """A node that, built by Hydra, empties ``victim``."""
    return {"_target_": "builtins.open", "_args_": [str(victim), "w"]}


def created_by_resolver(victim: Path) -> str:
    return f"${{oc.create:{{_target_: builtins.open, _args_: [{victim}, w]}}}}"


# (name, how it edits a generator node given the victim file, the key the refusal names below
# the generator node). Each is a way to make a stored config call builtins.open.
GENERATOR_ATTACKS: list[tuple[str, Callable[[dict, Path], None], str]] = [
    (
        "prefix_then_attribute_walk",
        lambda node, victim: node.update(
            opener(victim), _target_="style_gan.nets.generators.torch.builtins.open"
        ),
        "_target_",
    ),
    (
        "oc_create_in_a_value",
        lambda node, victim: node.update(base_channels=created_by_resolver(victim)),
        "base_channels",
    ),
    (
        "oc_create_in_a_key",
        lambda node, victim: node.update({created_by_resolver(victim): 1}),
        "${oc.create",
    ),
    ("nested_target", lambda node, victim: node.update(norm=opener(victim)), "norm._target_"),
    (
        "target_hidden_in_a_list",
        lambda node, victim: node.update(extra=[1, opener(victim)]),
        "extra[1]._target_",
    ),
    (
        "target_hidden_in_args",
        lambda node, victim: node.update(_args_=[opener(victim)]),
        "_args_[0]._target_",
    ),
    (
        "partial_of_a_builtin",
        lambda node, victim: node.clear() or node.update(opener(victim), _partial_=True),
        "_target_",
    ),
    ("env_resolver", lambda node, victim: node.update(norm="${oc.env:HOME}"), "norm"),
    (
        "recursion_switched_off",
        lambda node, victim: node.update(_recursive_=False),
        "_recursive_",
    ),
]
# Attacks on the rest of a checkpoint's model config: (name, edit, key named).
MODEL_ATTACKS: list[tuple[str, Callable[[dict, Path], None], str]] = [
    ("method_is_a_builtin", lambda model, victim: model.update(opener(victim)), "model._target_"),
    (
        "discriminator_partial_of_exec",
        lambda model, victim: model.update(
            discriminator={"_target_": "builtins.exec", "_partial_": True, "_args_": ["1"]}
        ),
        "model.discriminator._target_",
    ),
    (
        "optimizer_outside_torch_optim",
        lambda model, victim: model["optimizer_g"].update(_target_="torch.optim.torch.load"),
        "model.optimizer_g._target_",
    ),
    (
        "objective_env_resolver",
        lambda model, victim: model.update(lambda_l1="${oc.env:HOME}"),
        "model.lambda_l1",
    ),
]
CHECKPOINT_ATTACKS = [
    *[
        (
            name,
            lambda model, victim, edit=edit: edit(model["generator"], victim),
            f"model.generator.{key}",
        )
        for name, edit, key in GENERATOR_ATTACKS
    ],
    *MODEL_ATTACKS,
]


def resume(path: Path) -> None:
    """What style-gan-train does with ckpt_path= (or its run folder's own last.ckpt)."""
    check_checkpoint(path, torch.nn.Linear(1, 1))


# Every entry that reads a checkpoint's stored config: stylize, export and the studio's model
# (load_generator), the studio's critic, style-gan-eval, and resuming.
CHECKPOINT_READERS: dict[str, Callable[[Path], Any]] = {
    "load_generator": load_generator,
    "load_critic": load_critic,
    "eval": load_trained_model,
    "resume": resume,
}


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim.txt"
    path.write_text(PRECIOUS)
    return path


def assert_refused(read: Callable[[], Any], key: str, victim: Path) -> None:
    with pytest.raises(CheckpointError) as refusal:
        read()
    message = str(refusal.value)
    assert "\n" not in message
    assert f"key {key}" in message and "is refused" in message, message
    assert victim.read_text() == PRECIOUS


@pytest.mark.parametrize(
    ("name", "edit", "key"), CHECKPOINT_ATTACKS, ids=[a[0] for a in CHECKPOINT_ATTACKS]
)
def test_a_crafted_checkpoint_is_refused_by_every_reader(
    name, edit, key, one_batch_checkpoint, victim, tmp_path
) -> None:
    checkpoint = torch.load(one_batch_checkpoint("pix2pix"), weights_only=True)
    edit(checkpoint["style_gan_config"]["model"], victim)
    hostile = tmp_path / f"{name}.ckpt"
    torch.save(checkpoint, hostile)
    for read in CHECKPOINT_READERS.values():
        assert_refused(lambda read=read: read(hostile), key, victim)


@pytest.mark.parametrize(
    ("name", "edit", "key"), GENERATOR_ATTACKS, ids=[a[0] for a in GENERATOR_ATTACKS]
)
def test_a_crafted_export_folder_is_refused(
    name, edit, key, one_batch_checkpoint, victim, tmp_path
) -> None:
    folder = export_safetensors(
        load_generator(one_batch_checkpoint("pix2pix")), tmp_path / "export"
    )
    spec_path = folder / "style_gan.json"
    spec = json.loads(spec_path.read_text())
    edit(spec["generator"], victim)
    spec_path.write_text(json.dumps(spec))
    assert_refused(lambda: load_pretrained(folder), f"generator.{key}", victim)


def test_a_trusted_checkpoint_and_export_still_load(one_batch_checkpoint, tmp_path) -> None:
    path = one_batch_checkpoint("pix2pix")
    assert load_trained_model(path).generator is not None
    generator = load_generator(path)
    folder = export_safetensors(generator, tmp_path / "export")
    image = torch.rand(1, 3, 64, 64)
    assert torch.equal(load_pretrained(folder).module(image), generator.module(image))


def test_every_model_class_the_configs_name_can_be_loaded_from_a_checkpoint() -> None:
    targets = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if "_target_" in node:
                targets.add(node["_target_"])
            for value in node.values():
                collect(value)

    for path in (CONFIG_DIR / "model").rglob("*.yaml"):
        collect(yaml.safe_load(path.read_text()))
    allowed = set().union(*(STORED_CLASSES[kind] for kind in MODEL_KINDS))
    assert targets and targets <= allowed, sorted(targets - allowed)


class OwnNetwork(torch.nn.Linear):
    """A user's network, registered in code to be loadable."""


def test_a_class_registered_in_code_is_built_and_an_unregistered_one_refused() -> None:
    node = {"_target_": f"{__name__}.OwnNetwork", "_partial_": True, "in_features": 2}
    with pytest.raises(CheckpointError, match=r"key net\._target_ names 'tests\.test_stored"):
        build_stored(node, "test.ckpt", ("network",), "net")
    register_stored_class(OwnNetwork, "network")
    try:
        built = build_stored(node, "test.ckpt", ("network",), "net")(out_features=3)
    finally:
        STORED_CLASSES["network"] -= {f"{__name__}.OwnNetwork"}
    assert isinstance(built, OwnNetwork) and built.out_features == 3
