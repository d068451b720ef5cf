"""Does DCGAN learn the demo's ink prints, per discriminator? Trains ``model=dcgan`` on the demo
for ``--batches`` batches with each ``--discriminators`` choice, then draws 64 samples and
prints their diversity (mean pairwise L1 over that of 64 held-out true prints: near 0 is
collapse) and their Fréchet distance to the held-out prints on EfficientNet-Lite0 features.

The FD caveat: the projected discriminator judges on the same network's features, so its
generator can lower that FD without looking any better: look at the saved 8×8 grids
(``--samples``) before believing it. 64 images also make FD noisy; compare within a run.

    OMP_NUM_THREADS=1 python benchmarks/dcgan_samples.py --batches 640 --samples /tmp/dcgan
"""

from __future__ import annotations

import argparse
import logging
import platform
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch
import torchvision
from methods_vs_identity import fit_on_demo

from style_gan.metrics.diversity import diversity_ratio
from style_gan.metrics.features import EfficientNetFeatures
from style_gan.metrics.frechet import FrechetDistance
from style_gan.ranges import to_unit_range

SAMPLES = 64


def held_out_prints(datamodule: Any) -> torch.Tensor:
    """The first SAMPLES true ink prints of the test split, in [-1, 1]."""
    prints = [batch["target"] for batch in datamodule.test_dataloader()]
    return torch.cat(prints)[:SAMPLES]


def run(discriminator: str, seed: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Train DCGAN with ``discriminator``; its samples, their scores and images/s."""
    overrides = [
        "model=dcgan",
        f"model/discriminator={discriminator}",
        f"paths.root_dir={work}",
        f"paths.data_dir={args.data_dir or work / 'data'}",
        "metrics=none",
        *args.overrides,
    ]
    start = time.perf_counter()
    model, datamodule = fit_on_demo(overrides, seed, args.batches, "32-true", [])
    seconds = time.perf_counter() - start
    datamodule.setup("test")
    real = held_out_prints(datamodule)
    model.eval()
    with torch.no_grad():
        samples = model.inference_generator()(model.noise(SAMPLES))
    distance = FrechetDistance(EfficientNetFeatures())
    distance.update(to_unit_range(real), real=True)
    distance.update(to_unit_range(samples).clamp(0, 1), real=False)
    return {
        "samples": samples,
        "fd_effnet": float(distance.compute()),
        "diversity": diversity_ratio(samples, real),
        "images_per_s": args.batches * datamodule.batch_size / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=640)
    parser.add_argument("--discriminators", nargs="+", default=["dcgan", "projected"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse a demo data folder")
    parser.add_argument("--samples", type=Path, default=None, help="save 8x8 sample grids here")
    parser.add_argument("--overrides", nargs="*", default=[], help="config overrides for all")
    args = parser.parse_args()
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    print(
        f"machine: {platform.processor() or platform.machine()}  torch {torch.__version__}  "
        f"threads {torch.get_num_threads()}  batches {args.batches}  seed {args.seed}"
    )
    print(f"{'discriminator':<14} {'fd_effnet':>10} {'diversity':>10} {'images/s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for discriminator in args.discriminators:
            result = run(discriminator, args.seed, args, Path(tmp))
            print(
                f"{discriminator:<14} {result['fd_effnet']:10.2f} {result['diversity']:10.3f} "
                f"{result['images_per_s']:9.2f}",
                flush=True,
            )
            if args.samples:
                args.samples.mkdir(parents=True, exist_ok=True)
                grid = to_unit_range(result["samples"]).clamp(0, 1)
                torchvision.utils.save_image(
                    grid, args.samples / f"dcgan_{discriminator}_seed{args.seed}.png", nrow=8
                )


if __name__ == "__main__":
    main()
