"""What the ResNet generator's upsampling costs: one training step of the generator alone
(forward, L1 loss, backward) per ``upsample`` mode, and the checkerboard it starts with.

A resize-convolution runs its 3x3 convolution at the doubled size, four times the multiply-adds
of the transposed convolution it replaces in the two decoder stages; this measures what that
does to the whole generator. The modes take turns, ``--rounds`` times, so a busy machine
slows them alike; the times are medians. The checkerboard column is
``periodic_power_share`` of the initialised generator's output for a smooth input.

    python benchmarks/upsampling.py
    python benchmarks/upsampling.py --device cuda --image-size 256 --base-channels 64
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from style_gan.metrics.checkerboard import periodic_power_share
from style_gan.nets.generators import ResnetGenerator
from style_gan.nets.init import init_weights
from style_gan.nets.layers import UPSAMPLINGS


def smooth_input(batch: int, side: int) -> torch.Tensor:
    """Low-frequency colour ramps: nothing at the periods a checkerboard has."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, side), torch.linspace(-1, 1, side), indexing="ij")
    image = torch.stack([torch.sin(2 * x), torch.cos(3 * y), x * y])
    return image.expand(batch, 3, side, side).contiguous()


def step_seconds(generator: ResnetGenerator, x: torch.Tensor) -> float:
    """Wall time of one forward, L1 loss and backward."""
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    (generator(x) - x).abs().mean().backward()
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--base-channels", type=int, default=16, help="16 = the demo's")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    device = torch.device(args.device)
    print(
        f"machine: {platform.processor() or platform.machine()}  torch {torch.__version__}  "
        f"device {device}  threads {torch.get_num_threads()}  resnet_9blocks "
        f"{args.base_channels} ch  {args.image_size} px  batch {args.batch_size}"
    )
    x = smooth_input(args.batch_size, args.image_size).to(device)
    generators = {}
    for upsample in UPSAMPLINGS:
        torch.manual_seed(0)
        generator = ResnetGenerator(base_channels=args.base_channels, upsample=upsample)
        generators[upsample] = init_weights(generator, "normal", 0.02).to(device)
    times: dict[str, list[float]] = {upsample: [] for upsample in UPSAMPLINGS}
    for round_index in range(args.rounds + 2):
        for upsample, generator in generators.items():
            seconds = step_seconds(generator, x)
            if round_index >= 2:  # warm-up
                times[upsample].append(seconds)
    baseline = statistics.median(times["transpose"])
    print(
        f"{'upsample':<10} {'parameters':>10} {'step ms':>8} {'vs transpose':>12} {'checker %':>9}"
    )
    for upsample, generator in generators.items():
        median = statistics.median(times[upsample])
        with torch.no_grad():
            share = periodic_power_share(generator(x[:1])).item()
        parameters = sum(p.numel() for p in generator.parameters())
        print(
            f"{upsample:<10} {parameters:>10,} {median * 1e3:8.1f} {median / baseline:11.2f}x "
            f"{share * 100:9.3f}"
        )


if __name__ == "__main__":
    main()
