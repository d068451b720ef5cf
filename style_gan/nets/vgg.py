"""VGG-19 feature extractor (Simonyan & Zisserman 2015) for perceptual losses: the first layers
of torchvision's ``vgg19().features``, returning the ReLU outputs AdaIN's losses use."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from style_gan.errors import CheckpointError
from style_gan.weights import hub_checkpoints_dir

VGG19_FILE = "vgg19-dcbb9e9d.pth"
VGG19_URL = f"https://download.pytorch.org/models/{VGG19_FILE}"
# torchvision's vgg19 ("E") conv widths; "M" = 2x2 max pool.
VGG19_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
                512, 512, 512, 512, "M")  # fmt: skip
# Index in ``features`` of each ReLU a loss may tap.
RELU_INDEX = {"relu1_1": 1, "relu2_1": 6, "relu3_1": 11, "relu4_1": 20, "relu5_1": 29}
DEFAULT_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg19_features(last_index: int) -> nn.Sequential:
    """torchvision's ``vgg19().features[: last_index + 1]``: same modules, same indices, so
    its state-dict keys (``features.<i>.weight``) load as they are."""
    layers: list[nn.Module] = []
    in_channels = 3
    for width in VGG19_LAYOUT:
        if width == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            # Not in place: a tapped ReLU output must not be overwritten by the next layer.
            layers += [nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU()]
            in_channels = width
    return nn.Sequential(*layers[: last_index + 1])


class VGG19Features(nn.Module):
    """Frozen VGG-19 (eval mode, no gradients to its weights) on (B, 3, H, W) RGB in [0, 1],
    normalised inside with the ImageNet mean/std; ``forward`` returns the feature maps of
    ``layers`` (default relu1_1, relu2_1, relu3_1, relu4_1), shallow to deep.

    ``weights``: the torchvision file ``vgg19-dcbb9e9d.pth`` (None = look in
    ``$TORCH_HOME/hub/checkpoints``). Only the ``features.*`` keys up to the deepest layer
    are read, so a file holding just those loads too. A missing file is a one-line
    CheckpointError naming the file, the folder and the download URL.
    """

    def __init__(
        self, weights: str | Path | None = None, layers: Sequence[str] = DEFAULT_LAYERS
    ) -> None:
        super().__init__()
        unknown = [name for name in layers if name not in RELU_INDEX]
        if unknown or not layers:
            raise ValueError(f"VGG-19 layers {list(layers)}: choose from {', '.join(RELU_INDEX)}")
        self.layers = tuple(layers)
        self.taps = {RELU_INDEX[name] for name in self.layers}
        self.features = vgg19_features(max(self.taps))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), False)
        self.weights_path = load_vgg19_features(self.features, weights)
        self.eval().requires_grad_(False)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"VGG19Features expects (B, 3, H, W) RGB, got {tuple(images.shape)}")
        x = (images - self.mean) / self.std
        maps = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self.taps:
                maps.append(x)
        return maps

    def train(self, mode: bool = True) -> VGG19Features:
        # Always in eval mode: a frozen feature network.
        return super().train(False)


def load_vgg19_features(features: nn.Sequential, weights: str | Path | None) -> Path:
    """Load torchvision's VGG-19 ``features.*`` weights for the modules of ``features``."""
    path = Path(weights) if weights is not None else hub_checkpoints_dir() / VGG19_FILE
    if not path.is_file():
        raise CheckpointError(
            f"VGG-19 weights {path.name} not found in {path.parent}; download {VGG19_URL} "
            f"there (or set TORCH_HOME), or pass its path as model.vgg_weights"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"VGG-19 weights {path} cannot be read ({type(error).__name__}); download "
            f"{VGG19_URL} again"
        ) from error
    needed = {f"features.{key}" for key in features.state_dict()}
    missing = sorted(needed - state.keys())
    if missing:
        raise CheckpointError(
            f"VGG-19 weights {path} lack {len(missing)} of the tensors needed (e.g. "
            f"{missing[0]}); use torchvision's {VGG19_FILE} from {VGG19_URL}"
        )
    try:
        features.load_state_dict({key[len("features.") :]: state[key] for key in needed})
    except RuntimeError as error:
        reason = str(error).splitlines()[-1].strip()
        raise CheckpointError(
            f"VGG-19 weights {path} do not fit VGG-19's layers ({reason}); "
            f"use torchvision's {VGG19_FILE} from {VGG19_URL}"
        ) from error
    return path
