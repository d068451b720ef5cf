"""CycleGAN training throughput (images/s) and peak memory per precision on this machine.

Builds the real model from the project's Hydra config (``conf/train.yaml`` without the demo
experiment, i.e. the paper's CycleGAN) and times real ``lightning.Trainer.fit`` batches (both
generator and discriminator phases) on synthetic ``{"content", "style"}`` batches in [-1, 1].
Each precision runs in a fresh subprocess, so one precision's peak memory cannot leak into the
next: ``torch.cuda.max_memory_allocated`` on CUDA, the process's peak RSS (ru_maxrss) on CPU.

    python benchmarks/train_throughput.py --image-size 128 --precision 32-true bf16-mixed
    python benchmarks/train_throughput.py --image-size 256 --batch-size 4 \\
        --precision 32-true bf16-mixed 16-mixed --accelerator gpu
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import hydra
import lightning as L
import torch
from hydra import compose, initialize_config_dir
from torch.utils.data import DataLoader

from style_gan.run.cli import CONFIG_DIR


class BatchTimer(L.Callback):
    """Record the wall time of every training batch after the first ``warmup`` ones."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.times: list[float] = []
        self._start = 0.0

    def _now(self, module: L.LightningModule) -> float:
        if module.device.type == "cuda":
            torch.cuda.synchronize(module.device)
        return time.perf_counter()

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, *_: Any) -> None:
        self._start = self._now(module)

    def on_train_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        elapsed = self._now(module) - self._start
        if idx >= self.warmup:
            self.times.append(elapsed)


def measure(args: argparse.Namespace, precision: str) -> dict[str, Any]:
    """Train ``warmup + batches`` batches at ``precision``; return throughput and peak memory."""
    overrides = [
        "experiment=none",
        f"model/generator={args.generator}",
        f"model.generator.base_channels={args.base_channels}",
    ]
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    model: L.LightningModule = hydra.utils.instantiate(cfg.model)
    n = args.warmup_batches + args.batches
    shape = (n * args.batch_size, 3, args.image_size, args.image_size)
    data = [
        {"content": c, "style": s}
        for c, s in zip(torch.rand(shape) * 2 - 1, torch.rand(shape) * 2 - 1, strict=True)
    ]
    loader = DataLoader(data, batch_size=args.batch_size)
    timer = BatchTimer(args.warmup_batches)
    trainer = L.Trainer(
        accelerator=args.accelerator,
        devices=1,
        precision=precision,
        max_epochs=1,
        limit_train_batches=n,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    cuda = trainer.strategy.root_device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    trainer.fit(model, train_dataloaders=loader)
    if cuda:
        peak = torch.cuda.max_memory_allocated()
    else:  # ru_maxrss is in KiB on Linux.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "precision": precision,
        "images_per_s": args.batch_size * len(timer.times) / sum(timer.times),
        "median_s": statistics.median(timer.times),
        "peak_mib": peak / 2**20,
        "device": torch.cuda.get_device_name() if cuda else "cpu",
    }


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    """Parse options; as parent run one child per precision and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument(
        "--precision",
        nargs="+",
        default=["32-true", "bf16-mixed"],
        choices=["32-true", "bf16-mixed", "16-mixed"],
        help="16-mixed is meant for GPUs (it also runs, slowly, on a CPU)",
    )
    parser.add_argument(
        "--generator", default="resnet_9blocks", choices=["resnet_9blocks", "resnet_6blocks"]
    )
    parser.add_argument("--base-channels", type=int, default=64)
    parser.add_argument("--warmup-batches", type=int, default=2)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--accelerator", default="auto")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args, args.precision[0])))
        return

    print(f"cpu: {cpu_model()}  torch {torch.__version__}  threads {torch.get_num_threads()}")
    settings = {k: v for k, v in vars(args).items() if k not in ("child", "precision")}
    print("settings: " + "  ".join(f"{k}={v}" for k, v in settings.items()))
    options = [f"--{k.replace('_', '-')}={v}" for k, v in settings.items()]
    results = []
    for precision in args.precision:
        argv = [sys.executable, __file__, *options, "--precision", precision, "--child"]
        child = subprocess.run(argv, capture_output=True, text=True)
        if child.returncode != 0:
            sys.exit(f"{precision} failed:\n{child.stderr}")
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    print(f"device: {results[0]['device']}")
    print(f"{'precision':<12}{'images/s':>10}{'median s/batch':>16}{'peak MiB':>10}{'ratio':>8}")
    for r in results:
        ratio = r["images_per_s"] / results[0]["images_per_s"]
        print(
            f"{r['precision']:<12}{r['images_per_s']:>10.3f}{r['median_s']:>16.3f}"
            f"{r['peak_mib']:>10.0f}{ratio:>8.2f}"
        )


if __name__ == "__main__":
    main()
