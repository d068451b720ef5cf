"""Time of one CycleGAN validation epoch with each validation metric, relative to none.

Composes ``conf/train.yaml`` (the demo experiment: 64 px demo data, the small CycleGAN, its
default validation size) once per ``metrics=<option>`` and times real ``lightning.Trainer
.validate`` calls on one model, which update the metrics every batch and compute them at the
epoch's end as in training. The first validation of a run also computes the style images'
statistics for the style metrics (fd_effnet, kid_effnet) and the content images' features,
which the shared EfficientNet keeps, so it is reported apart from the median of the later ones.
Before each validation the model's weights are nudged (untimed), as a training step would,
so every validation translates anew and only what training keeps is reused. One untimed
validation without metrics warms the process up first; then the options take turns, one
validation each per round, so that load from other processes on a shared machine falls on all
of them alike. Ratios are to ``none`` measured in this run.

    python benchmarks/metrics_overhead.py
    python benchmarks/metrics_overhead.py --metrics none semantic all --repeats 5
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import NamedTuple

import hydra
import lightning as L
import torch
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from train_throughput import cpu_model  # the sibling script, on sys.path when run as one

from style_gan.run.cli import CONFIG_DIR

ALL = "[fd_effnet,kid_effnet,semantic,ssim,psnr]"


class Run(NamedTuple):
    """What one validation needs: a trainer, the model and its data."""

    trainer: L.Trainer
    model: L.LightningModule
    datamodule: L.LightningDataModule


def compose_config(option: str, data_dir: Path, run_dir: Path) -> DictConfig:
    """``conf/train.yaml`` with ``metrics=<option>`` ("all" = every offline metric)."""
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                f"paths.root_dir={run_dir}",
                f"paths.data_dir={data_dir}",
                f"paths.output_dir={run_dir}",
                f"hydra.run.dir={run_dir}",
                f"metrics={ALL if option == 'all' else option}",
            ],
            return_hydra_config=True,
        )
    HydraConfig().set_config(cfg)
    return cfg


def build(cfg: DictConfig, accelerator: str) -> Run:
    """The configured data, metrics and model (as ``style_gan.train``) and a bare Trainer."""
    datamodule = hydra.utils.instantiate(cfg.data)
    metrics = hydra.utils.instantiate(cfg.metrics) if cfg.metrics else None
    model = hydra.utils.instantiate(cfg.model, metrics=metrics)
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=1,
        default_root_dir=cfg.paths.output_dir,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=cfg.trainer.limit_val_batches,
        num_sanity_val_steps=0,
    )
    return Run(trainer, model, datamodule)


def nudge(model: L.LightningModule, generator: torch.Generator) -> None:
    """Move every weight a little, as a training step would: new translations next time."""
    with torch.no_grad():
        for parameter in model.parameters():
            noise = torch.randn(parameter.shape, generator=generator) * 1e-3
            parameter.add_(noise.to(parameter.device, parameter.dtype))


def validation_seconds(run: Run, generator: torch.Generator) -> float:
    """Wall time of one ``trainer.validate`` call (all queued GPU work included), after an
    untimed ``nudge``."""
    nudge(run.model, generator)
    device = run.trainer.strategy.root_device
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    run.trainer.validate(run.model, datamodule=run.datamodule, verbose=False)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def main() -> None:
    """Parse options, measure every metrics option and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--metrics",
        nargs="+",
        default=["none", "fd_effnet", "kid_effnet", "semantic", "ssim", "psnr", "all"],
        help=f"conf/metrics options or lists of them; all = {ALL}; none is always measured",
    )
    parser.add_argument("--repeats", type=int, default=3, help="validations per option (>= 2)")
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="paths.data_dir")
    parser.add_argument("--accelerator", default="auto")
    args = parser.parse_args()
    if args.repeats < 2:
        parser.error("--repeats must be at least 2: the first validation is reported apart")
    options = ["none", *(option for option in args.metrics if option != "none")]
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")

    print(f"cpu: {cpu_model()}  torch {torch.__version__}  threads {torch.get_num_threads()}")
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir, run_dir = args.data_dir.resolve(), Path(tmp)
        cfg = compose_config("none", data_dir, run_dir)
        generator = torch.Generator().manual_seed(0)
        validation_seconds(build(cfg, args.accelerator), generator)  # warm-up, untimed
        runs = {
            option: build(compose_config(option, data_dir, run_dir), args.accelerator)
            for option in options
        }
        # Round-robin, so load from other processes on a shared machine hits every option.
        times: dict[str, list[float]] = {option: [] for option in options}
        for _ in range(args.repeats):
            for option, run in runs.items():
                times[option].append(validation_seconds(run, generator))
    base = runs["none"]
    device = base.trainer.strategy.root_device
    print(f"device: {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}")
    # Sequential batches without drop_last: only the last one can be short.
    batches = sum(base.trainer.num_val_batches)
    images = min(batches * cfg.data.eval_batch_size, len(base.datamodule.datasets["val"]))
    print(
        f"settings: validation images={images} "
        f"(limit_val_batches={cfg.trainer.limit_val_batches} x "
        f"eval_batch_size={cfg.data.eval_batch_size}, {cfg.data.image_size} px)  "
        f"repeats={args.repeats}  accelerator={args.accelerator}"
    )
    # Another busy process on a small CPU slows every option, by far more than its share.
    print(f"load average (1 min): {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    base_first, base_later = times["none"][0], statistics.median(times["none"][1:])
    print(f"{'metrics':<12}{'first s':>9}{'later s':>9}{'first ratio':>13}{'later ratio':>13}")
    for option, seconds in times.items():
        first_s, later_s = seconds[0], statistics.median(seconds[1:])
        print(
            f"{option:<12}{first_s:>9.3f}{later_s:>9.3f}"
            f"{first_s / base_first:>13.2f}{later_s / base_later:>13.2f}"
        )


if __name__ == "__main__":
    main()
