"""Is ``semantic/class_agreement`` meaningful at small image sizes? Top-1 vs top-5 agreement.

    python benchmarks/class_agreement.py
    python benchmarks/class_agreement.py --sizes 64 224 --crops 192

Square crops of at least 224 px of the demo's sample photos (the same field of view at every
size) are scaled to each ``--sizes`` and compared, through EfficientNet-Lite0 at its 224 px
input, with three partners: the same crop plus N(0, 8/255) noise (a metric of preserved
content should stay near 1), the demo's true ink print of it (the style change the demo asks
for) and another crop (unrelated content, near 0). For each it prints the fraction of pairs
whose top-1 class agrees, and whose content top-1 class is among the partner's top 5, with
the classifier's mean top-1 probability on the crops. A figure of quality, not of speed.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from style_gan.data.demo import TEST_PHOTOS, TRAIN_PHOTOS, ink_print, sample_photo
from style_gan.metrics.features import EfficientNetFeatures
from style_gan.ranges import unit_to_uint8


def photo_crops(count: int, seed: int) -> torch.Tensor:
    """``count`` random square crops (224 px to the photo's short side) scaled to 224, [0, 1]."""
    rng = np.random.default_rng(seed)
    photos = [sample_photo(name) for name in (*TRAIN_PHOTOS, *TEST_PHOTOS)]
    crops = []
    for _ in range(count):
        photo = photos[rng.integers(len(photos))]
        height, width = photo.shape[:2]
        side = int(rng.integers(224, min(height, width) + 1))
        top, left = rng.integers(height - side + 1), rng.integers(width - side + 1)
        crop = torch.from_numpy(photo[top : top + side, left : left + side]).permute(2, 0, 1)
        crops.append(F.interpolate(crop[None].float() / 255, size=(224, 224), mode="area"))
    return torch.cat(crops)


def main() -> None:
    """Parse options and print one row per size and partner."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 224])
    parser.add_argument("--crops", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    crops = photo_crops(args.crops, args.seed)
    noise = torch.Generator().manual_seed(args.seed)
    network = EfficientNetFeatures()
    print(f"crops={args.crops} seed={args.seed}  torch {torch.__version__}")
    print(f"{'size':>5}  {'top-1 prob':>10}  {'partner':<12}{'top-1 agrees':>13}{'in top 5':>10}")
    with torch.inference_mode():
        for size in args.sizes:
            content = unit_to_uint8(F.interpolate(crops, size=(size, size), mode="area"))
            unit = content.float() / 255
            noisy = unit + torch.randn(unit.shape, generator=noise) * 8 / 255
            partners = {
                "noise 8/255": unit_to_uint8(noisy),
                "ink print": unit_to_uint8(ink_print(unit)),
                "other crop": content.roll(1, 0),
            }
            logits = network.net.classify(network(content))
            content_class = logits.argmax(-1, keepdim=True)
            confidence = logits.softmax(-1).amax(-1).mean().item()
            for name, partner in partners.items():
                top5 = network.net.classify(network(partner)).topk(5, -1).indices
                top1_agrees = (top5[:, :1] == content_class).float().mean().item()
                in_top5 = (top5 == content_class).any(-1).float().mean().item()
                print(
                    f"{size:>5}  {confidence:>10.2f}  {name:<12}"
                    f"{top1_agrees:>13.2f}{in_top5:>10.2f}"
                )


if __name__ == "__main__":
    main()
