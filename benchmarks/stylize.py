"""Stylize throughput, memory and tiling fidelity, measured in one run.

    python benchmarks/stylize.py --ckpt logs/train/runs/<run>/checkpoints/last.ckpt
    python benchmarks/stylize.py --ckpt ... --paper-size     # resnet_9blocks at 64 channels

Prints images/s at 256, 512 and 1024 px in fp32 and bf16 (and their ratio), the peak RSS and
time of a 4096×4096 input (in a fresh process, so nothing else counts towards it), and the PSNR
between the tiled and the whole-image output of a 1024×1024 photo, both saved for looking at.
``--paper-size`` swaps the checkpoint's weights for a freshly initialised CycleGAN-size
generator: speed and memory do not depend on the weights, the PSNR does.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage import data

from style_gan.inference.generator import load_generator
from style_gan.inference.stylizer import Stylizer
from style_gan.nets.generators import ResnetGenerator
from style_gan.precision import cpu_has_native_bf16


def photo(size: int) -> Image.Image:
    """A real photo (scikit-image's astronaut) at ``size`` × ``size``."""
    return Image.fromarray(data.astronaut()).resize((size, size), Image.Resampling.BICUBIC)


def make_stylizer(args: argparse.Namespace, **options) -> Stylizer:
    generator = load_generator(args.ckpt)
    if args.paper_size:
        torch.manual_seed(0)  # the same fresh weights in every Stylizer this run compares
        module = ResnetGenerator(base_channels=64, n_blocks=9).eval().requires_grad_(False)
        generator = dataclasses.replace(generator, module=module)
    return Stylizer(generator, device=args.device, **options)


def images_per_second(stylizer: Stylizer, size: int, seconds: float) -> float:
    image = photo(size)
    stylizer(image)  # warm-up
    count, start = 0, time.perf_counter()
    while count < 1 or time.perf_counter() - start < seconds:
        stylizer(image)
        count += 1
    return count / (time.perf_counter() - start)


def bf16_conv_slowdown() -> float:
    """How many times slower bf16 autocast runs a demo-size resnet_9blocks at 256 px here."""
    generator = ResnetGenerator(base_channels=32, n_blocks=9).eval()
    x = torch.rand(1, 3, 256, 256)
    with torch.no_grad():
        start = time.perf_counter()
        generator(x)
        fp32 = time.perf_counter() - start
        with torch.autocast("cpu", dtype=torch.bfloat16):
            start = time.perf_counter()
            generator(x)
            bf16 = time.perf_counter() - start
    return bf16 / fp32


def psnr(a: Image.Image, b: Image.Image) -> float:
    mse = np.mean((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2)
    return float(10 * np.log10(255**2 / mse)) if mse else float("inf")


def large_input_child(args: argparse.Namespace) -> None:
    """In a fresh process: stylise one 4096×4096 photo; print seconds and peak RSS."""
    stylizer = make_stylizer(args)
    image = photo(4096)
    start = time.perf_counter()
    stylizer(image)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{seconds:.1f} {peak_kib / 2**20:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ckpt", required=True, type=Path)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--paper-size", action="store_true")
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput figure")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/stylize_out"))
    parser.add_argument("--large-input-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.large_input_child:
        large_input_child(args)
        return

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    print("| side | fp32 img/s | bf16 img/s | bf16 / fp32 |\n| --- | --- | --- | --- |")
    fp32 = make_stylizer(args, tile_size=4096)
    native = args.device != "cpu" or cpu_has_native_bf16()
    bf16 = make_stylizer(args, tile_size=4096, precision="bf16-mixed") if native else None
    for size in (256, 512, 1024):
        a = images_per_second(fp32, size, args.seconds)
        if bf16 is None:
            print(f"| {size} | {a:.2f} | refused: no native bf16 on this CPU | |")
            continue
        b = images_per_second(bf16, size, args.seconds)
        print(f"| {size} | {a:.2f} | {b:.2f} | {b / a:.2f} |")
    if not native:
        slowdown = bf16_conv_slowdown()
        print(f"(torch's bf16 fallback here: a 256 px resnet_9blocks pass {slowdown:.0f}× slower)")

    command = [sys.executable, __file__, "--ckpt", str(args.ckpt), "--device", args.device]
    command += ["--large-input-child"] + (["--paper-size"] if args.paper_size else [])
    seconds, peak_gib = subprocess.run(
        command, capture_output=True, text=True, check=True
    ).stdout.split()
    print(f"4096×4096 input, tiled (512 px tiles): {seconds} s, peak RSS {peak_gib} GiB")

    image = photo(1024)
    whole = make_stylizer(args, tile_size=1024)(image)
    tiled = make_stylizer(args)(image)
    args.out.mkdir(parents=True, exist_ok=True)
    whole.save(args.out / "whole_1024.png")
    tiled.save(args.out / "tiled_1024.png")
    print(
        f"1024×1024 photo, tiled (512 px, 128 overlap) vs whole: PSNR {psnr(whole, tiled):.1f} dB"
    )
    print(f"(both saved in {args.out}/)")


if __name__ == "__main__":
    main()
