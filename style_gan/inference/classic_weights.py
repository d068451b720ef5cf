"""Generators trained with the classic pytorch-CycleGAN-and-pix2pix code, or with CUT's code
without antialiasing, as style_gan generators: their ``latest_net_G*.pth`` state dicts mapped
onto our ResnetGenerator / UnetGenerator (the same layers in the same order), so the
Stylizer, the stylize command and the exports use them.

The architecture is read from the file itself: ResNet (``model.<i>.conv_block.*``, the
number of blocks, whether the blocks had dropout) or U-Net (``model.model.*``, its depth from
its 4×4 convolutions); batch norm where the norm layers have weights, instance norm where
they have none (old files' InstanceNorm running statistics are dropped, as the classic code
itself does when it loads them).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from style_gan.errors import CheckpointError, check_choice
from style_gan.inference.generator import TrainedGenerator, key_differences
from style_gan.run.stored_config import build_stored

# What a file's generator was trained as: the method name its exports carry.
CLASSIC_FORMATS = {"cyclegan": "CycleGAN", "pix2pix": "Pix2Pix", "cut": "CUT"}
# Classic ResnetBlock.conv_block indices of its two convolutions and norms, without and with
# dropout; ours always keep the dropout slot (an Identity when off) at index 4.
_BLOCK_LAYERS = {False: {1: 1, 2: 2, 5: 6, 6: 7}, True: {1: 1, 2: 2, 6: 6, 7: 7}}
_INSTANCE_NORM_STATS = ("running_mean", "running_var", "num_batches_tracked")


def read_classic_state(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a classic ``.pth`` generator file (plain tensors only: nothing else is
    unpickled), without a DataParallel ``module.`` prefix."""
    if not path.is_file():
        raise CheckpointError(f"input={path} does not exist; give a latest_net_G*.pth file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"input={path} cannot be read as a state dict ({type(error).__name__}); give a "
            "latest_net_G*.pth file of the classic CycleGAN/pix2pix or CUT code"
        ) from error
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"input={path} is not a state dict of tensors")
    return {key.removeprefix("module."): value for key, value in state.items()}


def classic_generator(state: dict[str, torch.Tensor], path: Path) -> tuple[dict[str, Any], dict]:
    """Our generator config for a classic state dict, and the state dict in our key layout."""
    if any(key.endswith(".filt") for key in state):
        raise CheckpointError(
            f"input={path} is an antialiased CUT generator (blur filters in its down- and "
            "upsampling, CUT's default); only generators trained with --no_antialias "
            "--no_antialias_up have the classic layout"
        )
    if any(".conv_block." in key for key in state):
        return _resnet(state, path)
    if any(key.startswith("model.model.") for key in state):
        return _unet(state)
    raise CheckpointError(
        f"input={path} has neither the classic ResNet (model.<i>.conv_block.*) nor the U-Net "
        f"(model.model.*) layout; its first keys: {', '.join(list(state)[:4])}"
    )


def _resnet(state: dict[str, torch.Tensor], path: Path) -> tuple[dict[str, Any], dict]:
    blocks = sorted({int(m.group(1)) for k in state if (m := re.match(r"model\.(\d+)\.conv", k))})
    # With dropout the second convolution moves from conv_block.5 to conv_block.6.
    dropout = any(
        re.fullmatch(r"model\.\d+\.conv_block\.6\.weight", key) and value.ndim == 4
        for key, value in state.items()
    )
    norm = "batch" if "model.2.weight" in state else "instance"
    first, last = state["model.1.weight"], state[max(_conv_keys(state), key=_layer_index)]
    config = {
        "_target_": "style_gan.nets.generators.ResnetGenerator",
        "_partial_": True,
        "in_channels": first.shape[1],
        "out_channels": last.shape[0],
        "base_channels": first.shape[0],
        "n_blocks": len(blocks),
        "norm": norm,
        "dropout": 0.5 if dropout else 0.0,
        "upsample": "transpose",
    }
    mapping = _BLOCK_LAYERS[dropout]
    renamed = {}
    for key, value in state.items():
        match = re.match(r"model\.(\d+)\.conv_block\.(\d+)\.(.+)", key)
        if match:
            block, layer, rest = match.groups()
            if int(layer) not in mapping:
                raise CheckpointError(f"input={path}: unexpected ResNet block layer {key}")
            key = f"model.{block}.body.{mapping[int(layer)]}.{rest}"
        renamed[key] = value
    return config, _without_instance_norm_stats(renamed, norm)


def _unet(state: dict[str, torch.Tensor]) -> tuple[dict[str, Any], dict]:
    # Each level has one 4×4 down-convolution and one 4×4 transposed convolution.
    convolutions = [k for k in state if k.endswith(".weight") and state[k].shape[-2:] == (4, 4)]
    first = state["model.model.0.weight"]
    batch_norm = any(k.endswith(".running_mean") and _has_weight(state, k) for k in state)
    norm = "batch" if batch_norm else "instance"
    config = {
        "_target_": "style_gan.nets.generators.UnetGenerator",
        "_partial_": True,
        "in_channels": first.shape[1],
        "out_channels": state["model.model.3.weight"].shape[1],
        "base_channels": first.shape[0],
        "num_downs": len(convolutions) // 2,
        "norm": norm,
        # Dropout has no weights to tell; the classic pix2pix trains with it. It only acts
        # in training: the stylizer and exports run in eval mode.
        "dropout": 0.5,
    }
    return config, _without_instance_norm_stats(dict(state), norm)


def _conv_keys(state: dict[str, torch.Tensor]) -> list[str]:
    return [k for k in state if re.fullmatch(r"model\.\d+\.weight", k) and state[k].ndim == 4]


def _layer_index(key: str) -> int:
    return int(key.split(".")[1])


def _has_weight(state: dict[str, torch.Tensor], stats_key: str) -> bool:
    return stats_key.removesuffix("running_mean") + "weight" in state


def _without_instance_norm_stats(state: dict[str, torch.Tensor], norm: str) -> dict:
    if norm == "batch":
        return state
    return {k: v for k, v in state.items() if not k.endswith(_INSTANCE_NORM_STATS)}


def import_classic(path: str | Path, kind: str) -> TrainedGenerator:
    """A classic generator file as a TrainedGenerator (on the CPU, eval mode), ready for
    ``export_safetensors``; a layout that does not fit is one line naming the keys."""
    method = CLASSIC_FORMATS[check_choice("format", kind, tuple(CLASSIC_FORMATS))]
    path = Path(path)
    config, weights = classic_generator(read_classic_state(path), path)
    module = build_stored(config, str(path), ("network",), "generator")()
    missing, unexpected = key_differences(module, weights)
    if missing or unexpected:
        raise CheckpointError(
            f"input={path} does not fit a {config['_target_'].rsplit('.', 1)[-1]}: "
            f"{len(missing)} missing (e.g. {missing[:2]}), {len(unexpected)} unexpected "
            f"(e.g. {unexpected[:2]}) tensors"
        )
    try:
        module.load_state_dict(weights)
    except RuntimeError as error:
        first_line = str(error).splitlines()[1].strip() if "\n" in str(error) else str(error)
        raise CheckpointError(f"input={path}: tensor shapes do not fit ({first_line})") from error
    return TrainedGenerator(
        module=module.eval().requires_grad_(False),
        method=method,
        input="image",
        direction="AB",
        checkpoint=path,
        batches=0,
        config=config,
    )
