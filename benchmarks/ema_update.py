"""The generator-EMA update: one kernel per tensor (a Python loop of ``lerp_``) against
``ModelEMA.update``'s multi-tensor ``torch._foreach_lerp_``, on the project's generators.

Both compute θ_ema ← θ_ema + (1 - β)(θ - θ_ema) for every parameter and copy the buffers; the
check at the end says they agree. Times are medians of ``--repeats`` updates, in the same run,
on whatever device ``--device`` names.

    python benchmarks/ema_update.py
    python benchmarks/ema_update.py --device cuda
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from style_gan.nets.ema import ModelEMA
from style_gan.nets.generators import ResnetGenerator

DECAY = 0.999


def per_tensor_update(average: nn.Module, live: nn.Module) -> None:
    """The update as one ``lerp_`` per parameter and one ``copy_`` per buffer."""
    with torch.no_grad():
        for a, p in zip(average.parameters(), live.parameters(), strict=True):
            a.lerp_(p.detach(), 1.0 - DECAY)
        for a, b in zip(average.buffers(), live.buffers(), strict=True):
            a.copy_(b)


def median_seconds(update: Callable[[], None], repeats: int, device: torch.device) -> float:
    """Median wall time of one ``update``, after five warm-up calls."""
    times = []
    for index in range(repeats + 5):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        update()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if index >= 5:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    device = torch.device(args.device)
    print(
        f"machine: {platform.processor() or platform.machine()}  torch {torch.__version__}  "
        f"device {device}  threads {torch.get_num_threads()}  repeats {args.repeats}"
    )
    generators = {
        "resnet_9blocks 16ch (demo)": ResnetGenerator(3, 3, base_channels=16, n_blocks=9),
        "resnet_9blocks 64ch (paper)": ResnetGenerator(3, 3, base_channels=64, n_blocks=9),
    }
    print(f"{'generator':<28} {'tensors':>7} {'per-tensor ms':>13} {'foreach ms':>10} {'ratio':>6}")
    for name, live in generators.items():
        compare(name, live.to(device), args.repeats, device)


def compare(name: str, live: nn.Module, repeats: int, device: torch.device) -> None:
    """Time both updates of an average of ``live`` and print one row."""
    ema = ModelEMA(live, DECAY)
    loop_copy = copy.deepcopy(ema.module)
    with torch.no_grad():
        for parameter in live.parameters():
            parameter.add_(torch.randn_like(parameter))
    per_tensor = median_seconds(lambda: per_tensor_update(loop_copy, live), repeats, device)
    foreach = median_seconds(lambda: ema.update(live), repeats, device)
    agree = all(
        torch.allclose(a, b, rtol=1e-5, atol=1e-6)
        for a, b in zip(
            ema.module.state_dict().values(), loop_copy.state_dict().values(), strict=True
        )
    )
    print(
        f"{name:<28} {len(list(live.parameters())):>7} {per_tensor * 1e3:13.3f} "
        f"{foreach * 1e3:10.3f} {per_tensor / foreach:5.2f}x  "
        f"{'same weights' if agree else 'WEIGHTS DIFFER'}"
    )


if __name__ == "__main__":
    main()
