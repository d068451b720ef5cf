"""Loader workers on this machine: CycleGAN training seconds per batch by ``data.num_workers``.

    python benchmarks/data_loading.py                       # 0, 1 and 2 workers, 128 px crops
    python benchmarks/data_loading.py --workers 0 2 4 --crop 256

A folder of real JPEG photos (crops of scikit-image's, 512×384) in the CycleGAN layout is
trained on with the horse2zebra recipe's networks (resnet_9blocks, basic PatchGAN) on the
CPU. Each setting runs ``--short`` and ``--long`` batches in fresh processes; the difference of
their wall times over the difference of batches is the time of one batch with start-up,
dataset scan and the first workers' spawn taken out. The settings take turns for
``--rounds`` rounds (the median is shown), so a slow minute of a shared machine does not land on
one setting only. Ratios are against the first setting, measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from style_gan.data.demo import TRAIN_PHOTOS, sample_photo

IMAGES_PER_DOMAIN = 64


def write_folder(root: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    photos = [sample_photo(name) for name in TRAIN_PHOTOS]
    for domain in ("trainA", "trainB"):
        (root / domain).mkdir(parents=True)
        for index in range(IMAGES_PER_DOMAIN):
            photo = photos[rng.integers(len(photos))]
            image = Image.fromarray(photo).resize((512, 384))
            image.save(root / domain / f"{index:03d}.jpg", quality=90)


def wall_seconds(root: Path, workers: int, batches: int, crop: int, tag: str) -> float:
    command = [
        sys.executable,
        "-m",
        "style_gan.train",
        "experiment=none",
        "data=unpaired",
        f"data.root={root / 'data'}",
        f"data.crop_size={crop}",
        f"data.load_size={round(crop * 1.12)}",
        f"data.num_workers={workers}",
        "data.pin_memory=false",
        "trainer=cpu",
        "metrics=none",
        "callbacks=none",
        "logger=csv",
        f"max_batches={batches}",
        f"paths.root_dir={root / 'runs' / f'{tag}_{batches}'}",
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=root)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--short", type=int, default=3)
    parser.add_argument("--long", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        write_folder(root / "data")
        rounds: dict[int, list[float]] = {workers: [] for workers in args.workers}
        for round_index in range(args.rounds):
            for workers in args.workers:
                tag = f"{workers}_{round_index}"
                short = wall_seconds(root, workers, args.short, args.crop, tag)
                long = wall_seconds(root, workers, args.long, args.crop, tag)
                rounds[workers].append((long - short) / (args.long - args.short))
        per_batch = {workers: statistics.median(times) for workers, times in rounds.items()}
        base = per_batch[args.workers[0]]
        print(f"CycleGAN on the CPU, {args.crop} px crops of JPEG folders, batch 1")
        print(f"{'num_workers':>11} {'s/batch':>8} {'vs ' + str(args.workers[0]):>6}")
        for workers, seconds in per_batch.items():
            print(f"{workers:>11} {seconds:>8.3f} {seconds / base:>6.2f}")


if __name__ == "__main__":
    main()
