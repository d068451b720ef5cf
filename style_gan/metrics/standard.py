"""The field's standard metrics on their published weights: Inception FID/KID (torch-fidelity's
port of the TensorFlow FID network) and LPIPS (torchvision backbones + the LPIPS heads that
torchmetrics ships). They need weight files this package cannot ship; each factory finds them
in a given path or torch's hub cache, or fails in one line saying how to get them.
"""

from __future__ import annotations

from pathlib import Path

import torchvision
from torchmetrics.image.fid import FrechetInceptionDistance, NoTrainInceptionV3
from torchmetrics.image.kid import KernelInceptionDistance
from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

from style_gan.errors import check_choice
from style_gan.weights import find_weights, hub_dir

INCEPTION_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
    "weights-inception-2015-12-05-6726825d.pth"
)
LPIPS_BACKBONES = {
    "alex": "AlexNet_Weights",
    "vgg": "VGG16_Weights",
    "squeeze": "SqueezeNet1_1_Weights",
}


def _inception_weights(weights: str | Path | None, allow_download: bool) -> str | None:
    filename = INCEPTION_URL.rsplit("/", 1)[1]
    found = find_weights(weights, filename, INCEPTION_URL, "Inception-v3 (FID)", allow_download)
    return None if found is None else str(found)


def _describe(
    metric: FrechetInceptionDistance | KernelInceptionDistance, weights: str | None
) -> None:
    where = weights or "downloaded to the hub cache"
    metric.inception.weights_description = f"Inception-v3 FID weights ({where})"


def inception_fid(
    weights: str | Path | None = None, allow_download: bool = False, feature: int = 2048
) -> FrechetInceptionDistance:
    """FID as papers report it (Heusel et al. 2017) on the TF-Inception port; uint8 input.
    ``weights`` None = torch's hub cache; real statistics are kept between validations."""
    path = _inception_weights(weights, allow_download)
    metric = FrechetInceptionDistance(
        feature=feature, reset_real_features=False, feature_extractor_weights_path=path
    )
    _describe(metric, path)
    return metric


def inception_kid(
    weights: str | Path | None = None,
    allow_download: bool = False,
    subset_size: int = 50,
    subsets: int = 100,
) -> KernelInceptionDistance:
    """KID (Bińkowski et al. 2018) on the same Inception features; unbiased on small sets."""
    path = _inception_weights(weights, allow_download)
    # KernelInceptionDistance takes no weights path, so it gets FID's network built with one.
    inception = NoTrainInceptionV3(
        name="inception-v3-compat", features_list=["2048"], feature_extractor_weights_path=path
    )
    metric = KernelInceptionDistance(
        feature=inception, subset_size=subset_size, subsets=subsets, reset_real_features=False
    )
    _describe(metric, path)
    return metric


def lpips(
    net_type: str = "alex", hub: str | Path | None = None, allow_download: bool = False
) -> LearnedPerceptualImagePatchSimilarity:
    """LPIPS (Zhang et al. 2018) on [0, 1] inputs (lower = more alike). The backbone's ImageNet
    weights come from torch's hub cache (``hub`` = another hub folder; it holds
    ``checkpoints/<file>``)."""
    check_choice("lpips net_type", net_type, tuple(LPIPS_BACKBONES))
    url = getattr(torchvision.models, LPIPS_BACKBONES[net_type]).DEFAULT.url
    with hub_dir(hub):
        found = find_weights(
            None, url.rsplit("/", 1)[1], url, f"LPIPS {net_type} backbone", allow_download
        )
        metric = LearnedPerceptualImagePatchSimilarity(net_type=net_type, normalize=True)
    where = found or "downloaded to the hub cache"
    metric.weights_description = f"LPIPS-{net_type}, ImageNet backbone ({where})"
    return metric
