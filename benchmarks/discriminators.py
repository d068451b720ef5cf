"""What a discriminator costs per batch: PatchGAN against the projected discriminator at
several backbone sizes, on the same images, in one process (so the ratios are fair).

For each: trained parameters, the time of a G-phase pass (forward + backward to the image,
as G learns through D) and of a D-phase pass (real and detached fake: forward, backward into
the heads only), median of ``--repeats``.

    OMP_NUM_THREADS=1 python benchmarks/discriminators.py
    python benchmarks/discriminators.py --image-size 128 --batch-size 8
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from style_gan.nets.discriminators import PatchDiscriminator
from style_gan.nets.projected import ProjectedDiscriminator


def median_seconds(step: Callable[[], None], repeats: int) -> float:
    step()  # warm-up: first-call allocations
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def generator_pass(discriminator: nn.Module, images: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        fake = images.clone().requires_grad_(True)
        discriminator(fake).square().mean().backward()

    return step


def discriminator_pass(discriminator: nn.Module, images: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        (discriminator(images).square().mean() + discriminator(images).mean()).backward()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.manual_seed(0)
    images = torch.rand(args.batch_size, 3, args.image_size, args.image_size) * 2 - 1
    candidates: dict[str, nn.Module] = {
        "patch (demo, 32 ch)": PatchDiscriminator(base_channels=32),
        "patch (64 ch)": PatchDiscriminator(base_channels=64),
        **{
            f"projected, image_size={size}": ProjectedDiscriminator(image_size=size)
            for size in (64, 128, 224)
        },
    }
    print(
        f"machine: {platform.processor() or platform.machine()}  torch {torch.__version__}  "
        f"threads {torch.get_num_threads()}  images {args.batch_size}×{args.image_size}px"
    )
    print(
        f"{'discriminator':<28} {'trained params':>14} {'G pass s':>9} {'D pass s':>9} "
        f"{'× patch':>8}"
    )
    baseline = None
    for name, discriminator in candidates.items():
        trained = sum(p.numel() for p in discriminator.parameters() if p.requires_grad)
        g = median_seconds(generator_pass(discriminator, images), args.repeats)
        d = median_seconds(discriminator_pass(discriminator, images), args.repeats)
        baseline = baseline or g + d
        print(f"{name:<28} {trained / 1e6:13.2f}M {g:9.3f} {d:9.3f} {(g + d) / baseline:8.1f}")


if __name__ == "__main__":
    main()
