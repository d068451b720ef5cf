"""Images/s of the CycleGAN generator (resnet_9blocks, 11.4 M parameters) run as eager
PyTorch fp32, as its TorchScript export and as its ONNX export in ONNX Runtime, at 256 and
512 px, batch 1, on the CPU; ratios to eager measured in the same run.

The exports are written by the same functions as ``style-gan-export`` (random weights: the
speed does not depend on them). The three runtimes take turns, one timed call each per
round, so load from other processes falls on all of them alike; each gets untimed warm-up
calls first (TorchScript and ONNX Runtime optimise on their first calls).

    python benchmarks/export.py
    python benchmarks/export.py --sizes 256 512 --rounds 7 --threads 2
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from style_gan.inference.export import export_onnx, export_torchscript
from style_gan.inference.generator import TrainedGenerator
from style_gan.nets.generators import ResnetGenerator

CONFIG = {
    "_target_": "style_gan.nets.generators.ResnetGenerator",
    "_partial_": True,
    "n_blocks": 9,
    "base_channels": 64,
}


def runtimes(folder: Path, threads: int) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """name -> a function from an NCHW float32 array to the generator's output array."""
    module = ResnetGenerator(n_blocks=9, base_channels=64).eval().requires_grad_(False)
    checkpoint = folder / "weights.bin"
    checkpoint.write_bytes(b"random weights")
    generator = TrainedGenerator(module, "CycleGAN", "image", "AB", checkpoint, 0, CONFIG)
    script = torch.jit.load(str(export_torchscript(generator, folder / "g.pt")))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(export_onnx(generator, folder / "g.onnx")), options)

    def eager(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(x)).numpy()

    def torchscript(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return script(torch.from_numpy(x)).numpy()

    def onnx_runtime(x: np.ndarray) -> np.ndarray:
        return session.run(None, {"image": x})[0]

    return {"eager fp32": eager, "torchscript": torchscript, "onnxruntime": onnx_runtime}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        run = runtimes(Path(folder), args.threads)
        print(
            f"settings: resnet_9blocks base_channels=64, batch 1, {args.threads} threads, "
            f"{args.rounds} rounds (median), torch {torch.__version__}, "
            f"onnxruntime {onnxruntime.__version__}"
        )
        print(f"{'size':>5}  {'runtime':<12} {'images/s':>9} {'ratio':>6}  max |diff| vs eager")
        for size in args.sizes:
            x = np.random.default_rng(0).uniform(-1, 1, (1, 3, size, size)).astype(np.float32)
            reference = run["eager fp32"](x)
            for function in run.values():
                for _ in range(args.warmup):
                    function(x)
            seconds: dict[str, list[float]] = {name: [] for name in run}
            for _ in range(args.rounds):
                for name, function in run.items():
                    start = time.perf_counter()
                    function(x)
                    seconds[name].append(time.perf_counter() - start)
            eager = statistics.median(seconds["eager fp32"])
            for name, function in run.items():
                median = statistics.median(seconds[name])
                difference = float(np.abs(function(x) - reference).max())
                print(
                    f"{size:>5}  {name:<12} {1 / median:>9.3f} {eager / median:>6.2f}  "
                    f"{difference:.1e}"
                )


if __name__ == "__main__":
    main()
