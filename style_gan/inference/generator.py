"""Loading the generator a trained model is used through, alone, from a style_gan checkpoint
or from a safetensors export (``load_pretrained``: nothing is unpickled).

The checkpoint's stored model config names the method (``_target_``) and how its generator is
built (its ``generator`` node); the method class says which state-dict entries hold that
generator (``GanMethod.generators``, the EMA copy first) and how it is called
(``GanMethod.generator_input``). Nothing else of the method is built: no discriminator, image
pools, optimizers or training-only feature networks (an exemplar model trained with VGG-19
losses stylises without the VGG file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from style_gan.errors import CheckpointError
from style_gan.methods.base import GENERATOR_INPUTS, GanMethod
from style_gan.run.checkpoints import read_checkpoint, stored_model_config
from style_gan.run.stored_config import build_stored, check_stored_config, stored_class

# A safetensors export's two files (style_gan.inference.export writes them).
PRETRAINED_WEIGHTS = "model.safetensors"
PRETRAINED_SPEC = "style_gan.json"


@dataclass(frozen=True)
class TrainedGenerator:
    """A trained generator in eval mode with frozen weights, what it takes, and how long it
    trained (``batches``).

    ``input``: ``image`` G(x) | ``image_and_style`` G(content, style, α) | ``noise`` G(z), all
    images (B, 3, H, W) in [-1, 1]. ``direction``: AB, or BA for a method that has one.
    ``checkpoint``: the file the weights came from; ``config``: the generator's config node
    (what an export stores to rebuild it).
    """

    module: nn.Module
    method: str
    input: str
    direction: str
    checkpoint: Path
    batches: int
    config: dict[str, Any]


def load_generator(
    ckpt_path: str | Path, direction: str = "AB", device: str | torch.device = "cpu"
) -> TrainedGenerator:
    """The ``direction`` generator of a style_gan checkpoint, with the EMA weights where the
    run kept them; a one-line CheckpointError for a checkpoint it cannot come from."""
    path = Path(ckpt_path)
    checkpoint = read_checkpoint(path)
    config = stored_model_config(checkpoint, path)
    method = method_class(config["_target_"], path)
    generator_config = config.get("generator")
    if not isinstance(generator_config, dict):
        raise CheckpointError(f"checkpoint {path}'s model config has no generator node")
    name = method.generators.get(direction)
    if name is None:
        raise CheckpointError(
            f"a {method.__name__} checkpoint has no direction={direction!r}; choose one of: "
            f"{', '.join(method.generators)}"
        )
    state = checkpoint["state_dict"]
    prefix = f"{name}_ema.module."
    if not any(key.startswith(prefix) for key in state):
        prefix = f"{name}."
    module = build_stored_network(generator_config, state, prefix, path, "generator")
    return TrainedGenerator(
        module=module.to(device).eval().requires_grad_(False),
        method=method.__name__,
        input=method.generator_input,
        direction=direction,
        checkpoint=path,
        batches=int(checkpoint.get("global_step", 0)) // method.optimizer_steps_per_batch,
        config=generator_config,
    )


def load_pretrained(folder: str | Path, device: str | torch.device = "cpu") -> TrainedGenerator:
    """The generator of a safetensors export (``style-gan-export format=safetensors``): its
    architecture from ``style_gan.json`` (style_gan's own networks only), its weights from
    ``model.safetensors``, read without unpickling anything. Problems are one CheckpointError
    line."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    spec_path, weights_path = folder / PRETRAINED_SPEC, folder / PRETRAINED_WEIGHTS
    for needed in (spec_path, weights_path):
        if not needed.is_file():
            raise CheckpointError(
                f"{folder} is not a style_gan export: {needed.name} is missing; write one with "
                "style-gan-export format=safetensors"
            )
    try:
        spec = json.loads(spec_path.read_text())
        config, method, kind = spec["generator"], spec["method"], spec["input"]
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(
            f"{spec_path} is not a style_gan export description ({type(error).__name__}: "
            f"{error}); export the checkpoint again"
        ) from error
    if not isinstance(config, dict) or kind not in GENERATOR_INPUTS:
        raise CheckpointError(f"{spec_path} names no generator config or an unknown input")
    check_stored_config(spec, str(spec_path), ("network",))
    module = build_stored(config, str(spec_path), ("network",), "generator")()
    try:
        weights = load_file(weights_path)
    except (SafetensorError, OSError) as error:
        raise CheckpointError(
            f"{weights_path} cannot be read as safetensors ({error}); export the checkpoint again"
        ) from error
    load_fitting_weights(
        module, weights, f"{weights_path} does not fit {spec_path.name}'s generator"
    )
    return TrainedGenerator(
        module=module.to(device).eval().requires_grad_(False),
        method=method,
        input=kind,
        direction=str(spec.get("direction", "AB")),
        checkpoint=weights_path,
        batches=int(spec.get("batches", 0)),
        config=config,
    )


def build_stored_network(
    config: dict[str, Any], state: dict[str, Any], prefix: str, path: Path, role: str
) -> nn.Module:
    """The network a checkpoint's ``config`` node (``model.<role>``) builds (a partial: the
    method calls it), holding the ``prefix``-ed tensors of ``state``; ``role`` also names it in
    the one-line errors. Only style_gan's networks are built (``stored_config``)."""
    module = build_stored(config, f"checkpoint {path}", ("network",), f"model.{role}")()
    weights = {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}
    load_fitting_weights(
        module, weights, f"checkpoint {path} does not fit its stored {role} config"
    )
    return module


def load_fitting_weights(module: nn.Module, weights: dict[str, Any], mismatch: str) -> None:
    """Load ``weights`` into ``module`` when they have exactly its tensors, else a one-line
    CheckpointError: ``mismatch`` and what is missing or unexpected."""
    missing, unexpected = key_differences(module, weights)
    if missing or unexpected:
        raise CheckpointError(
            f"{mismatch}: {len(missing)} missing, {len(unexpected)} unexpected tensors "
            f"(e.g. {(missing or unexpected)[0]})"
        )
    module.load_state_dict(weights)


def method_class(target: str, path: Path) -> type[GanMethod]:
    """The GanMethod class a checkpoint's model config names (style_gan's own only)."""
    method = stored_class(target, f"checkpoint {path}", "method", "model")
    if not (isinstance(method, type) and issubclass(method, GanMethod)):
        raise CheckpointError(f"checkpoint {path} names {target!r}, which is not a GAN method")
    return method


def key_differences(module: nn.Module, weights: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(missing, unexpected): the tensor names ``module`` has that ``weights`` lacks, and the
    reverse, sorted."""
    expected = module.state_dict().keys()
    return sorted(expected - weights.keys()), sorted(weights.keys() - expected)
