"""Do the methods learn? Each trains for the same number of batches on the demo data, then is
scored against the demo's known ground truth on held-out photos, next to the identity.

The demo's style is a known function (``style_gan.data.demo.ink_print``), so ``testB/x.png``
is the true stylisation of ``testA/x.png``. For every method: L1, PSNR and SSIM of
``translate(batch)`` against that truth, and training images/s; the identity row scores the
content image itself. A method that does not beat the identity has not learnt the style. The
checkerboard column is the outputs' share of power at periods of 2 and 4 pixels
(``style_gan.metrics.checkerboard``), in %; the identity row is the photos' own level. The
diversity column (``style_gan.metrics.diversity``) is the mean L1 distance between the outputs
for different test photos over that between the photos: near 0 is a collapsed generator, the
truth row gives the true ink prints' own level. The lines column (``line_agreement``) asks
whether an output draws the truth's lines: the correlation of their gradient magnitudes.
Each method is built from the project's configs exactly as ``style-gan-train model=NAME``
would (the demo experiment's sizes for it), with one change: a constant learning rate, so
every method trains for the same number of batches at its full rate. pix2pix is trained on
the true pairs and is the supervised reference, not a competitor of the unpaired methods.

Every method trains once per ``--seeds`` seed and ``--precision``; a row gives the mean and
(±) the standard deviation over the seeds, and "beats" needs the mean to beat the identity on
L1, PSNR and SSIM alike (how many seeds did so on all three is shown too).

    python benchmarks/methods_vs_identity.py --batches 300
    python benchmarks/methods_vs_identity.py --batches 50 --methods cyclegan cut --seeds 0
    python benchmarks/methods_vs_identity.py --methods cut --overrides model.ema_decay=0.99
    python benchmarks/methods_vs_identity.py --precision 32-true bf16-mixed
    python benchmarks/methods_vs_identity.py --methods cyclegan \
        --overrides model.generator.upsample=nearest
"""

from __future__ import annotations

import argparse
import logging
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
import torch.nn.functional as F
import torchvision
from hydra import compose, initialize_config_dir
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from style_gan.methods.base import GanMethod
from style_gan.metrics.checkerboard import periodic_power_share
from style_gan.metrics.diversity import pairwise_distance_sum
from style_gan.ranges import to_unit_range
from style_gan.run.cli import CONFIG_DIR

METHODS = ("cyclegan", "cut", "fastcut", "exemplar", "pix2pix")


class TrainTimer(L.Callback):
    """Wall time spent in training batches (G and D phases), after ``warmup`` batches."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.seconds = 0.0
        self.images = 0
        self._start = 0.0

    def on_train_batch_start(self, trainer: L.Trainer, module: Any, batch: Any, idx: int) -> None:
        self._start = time.perf_counter()

    def on_train_batch_end(
        self, trainer: L.Trainer, module: Any, outputs: Any, batch: Any, idx: int
    ) -> None:
        if trainer.global_step // module.optimizer_steps_per_batch > self.warmup:
            self.seconds += time.perf_counter() - self._start
            self.images += batch["content"].shape[0]


def score(model: GanMethod | None, loader: Any, truth: bool = False) -> dict[str, float]:
    """Mean L1 (on [-1, 1]), PSNR and SSIM (on [0, 1]) against the true stylisation, the
    outputs' checkerboard share (``periodic_power_share``) and their diversity (pairwise L1
    among outputs over that among the contents, pairs within a batch); the identity when
    ``model`` is None, the true answers when ``truth``."""
    totals = {"l1": 0.0, "psnr": 0.0, "ssim": 0.0, "lines": 0.0, "checkerboard": 0.0}
    spread = {"output": 0.0, "content": 0.0}
    count = 0
    with torch.no_grad():
        for batch in loader:
            if model is not None:
                output = model.translate(batch)
            else:
                output = batch["target"] if truth else batch["content"]
            target = batch["target"]
            n = target.shape[0]
            totals["l1"] += (output - target).abs().mean().item() * n
            fake, real = to_unit_range(output).clamp(0, 1), to_unit_range(target)
            totals["psnr"] += peak_signal_noise_ratio(fake, real, data_range=1.0).item() * n
            totals["ssim"] += (
                structural_similarity_index_measure(fake, real, data_range=1.0).item() * n
            )
            totals["lines"] += line_agreement(fake, real).sum().item()
            totals["checkerboard"] += periodic_power_share(fake).sum().item()
            spread["output"] += pairwise_distance_sum(output)[0].item()
            spread["content"] += pairwise_distance_sum(batch["content"])[0].item()
            count += n
    scores = {k: v / count for k, v in totals.items()}
    scores["diversity"] = spread["output"] / spread["content"]
    return scores


def line_agreement(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Per image, the Pearson correlation over pixels of the two images' gradient magnitudes
    (Sobel on luminance): does the output draw the truth's lines where the truth draws them?
    SSIM and L1 can be won by a blur in the right colours; this cannot (a flat image scores
    0). Images in [0, 1], (B, 3, H, W) -> (B,)."""
    sobel_x = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    kernels = torch.stack([sobel_x, sobel_x.T]).unsqueeze(1)

    def magnitude(images: torch.Tensor) -> torch.Tensor:
        luminance = (images * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1)
        gradients = F.conv2d(luminance.unsqueeze(1).float(), kernels)
        return gradients.pow(2).sum(1).sqrt().flatten(1)

    a, b = magnitude(fake), magnitude(real)
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)


def fit_on_demo(
    overrides: list[str], seed: int, batches: int, precision: str, callbacks: list[L.Callback]
) -> tuple[GanMethod, L.LightningDataModule]:
    """The model and data ``style-gan-train`` would build with ``overrides``, trained for
    ``batches`` batches on the CPU with nothing but ``callbacks`` (no validation, logger,
    checkpoint or bar). The other benchmarks that train import it from here."""
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    L.seed_everything(seed, workers=True)
    datamodule = hydra.utils.instantiate(cfg.data)
    model: GanMethod = hydra.utils.instantiate(cfg.model)
    trainer = L.Trainer(
        accelerator="cpu",
        precision=precision,
        max_epochs=-1,
        max_steps=batches * model.optimizer_steps_per_batch,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=callbacks,
    )
    trainer.fit(model, datamodule=datamodule)
    return model, datamodule


def run_method(
    name: str, seed: int, precision: str, args: argparse.Namespace, work: Path
) -> dict[str, float]:
    """Train ``name`` for ``args.batches`` batches on the demo; its scores and images/s."""
    overrides = [
        f"model={name}",
        f"data.image_size={args.image_size}",
        f"paths.root_dir={work}",
        f"paths.data_dir={args.data_dir or work / 'data'}",
        "model.lr_decay_epochs=0",
        *args.overrides,
    ]
    timer = TrainTimer(warmup=2)
    model, datamodule = fit_on_demo(overrides, seed, args.batches, precision, [timer])
    model.eval()
    scores = score(model, datamodule.test_dataloader())
    scores["images_per_s"] = timer.images / timer.seconds if timer.seconds else float("nan")
    print(
        f"  {name} seed {seed} {precision}: "
        + " ".join(f"{key} {value:.4f}" for key, value in scores.items()),
        flush=True,
    )
    if args.samples:
        save_samples(model, datamodule, args.samples / f"{name}_seed{seed}_{precision}.png")
    return scores


def save_samples(model: GanMethod, datamodule: Any, path: Path, count: int = 8) -> None:
    """Rows content | output | truth of the first ``count`` test photos, 4x enlarged."""
    rows: dict[str, list[torch.Tensor]] = {"content": [], "output": [], "target": []}
    with torch.no_grad():
        for batch in datamodule.test_dataloader():
            rows["content"].append(batch["content"])
            rows["output"].append(model.translate(batch))
            rows["target"].append(batch["target"])
            if sum(images.shape[0] for images in rows["content"]) >= count:
                break
    images = torch.cat([to_unit_range(torch.cat(row)[:count]).clamp(0, 1) for row in rows.values()])
    grid = torchvision.utils.make_grid(images, nrow=count, padding=2, pad_value=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    torchvision.utils.save_image(F.interpolate(grid[None], scale_factor=4, mode="nearest"), path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--precision", nargs="+", default=["32-true"], help="Lightning's")
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse a demo data folder")
    parser.add_argument(
        "--overrides", nargs="*", default=[], help="config overrides for every method"
    )
    parser.add_argument(
        "--samples", type=Path, default=None, help="save content | output | truth rows here"
    )
    args = parser.parse_args()
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    print(
        f"machine: {platform.processor() or platform.machine()}  torch {torch.__version__}  "
        f"threads {torch.get_num_threads()}  batches {args.batches}  image {args.image_size}px  "
        f"seeds {args.seeds}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(
                "train",
                overrides=[
                    f"data.image_size={args.image_size}",
                    f"paths.data_dir={args.data_dir or work / 'data'}",
                ],
            )
        datamodule = hydra.utils.instantiate(cfg.data)
        datamodule.prepare_data()
        datamodule.setup("test")
        identity = score(None, datamodule.test_dataloader())
        truth = score(None, datamodule.test_dataloader(), truth=True)
        print(
            f"{'method':<10} {'precision':<11} {'L1 ↓':>15} {'PSNR dB ↑':>13} {'SSIM ↑':>15} "
            f"{'lines ↑':>15} {'checker % ↓':>15} {'diversity':>15} {'images/s':>9}  vs identity"
        )
        print(
            f"{'identity':<10} {'':<11} {identity['l1']:15.4f} {identity['psnr']:13.2f} "
            f"{identity['ssim']:15.4f} {identity['lines']:15.4f} "
            f"{identity['checkerboard'] * 100:15.3f} {identity['diversity']:15.3f}\n"
            f"{'truth':<10} {'':<11} {'':>15} {'':>13} {'':>15} {truth['lines']:15.4f} "
            f"{truth['checkerboard'] * 100:15.3f} {truth['diversity']:15.3f}",
            flush=True,
        )
        for name in args.methods:
            for precision in args.precision:
                seeds = [run_method(name, seed, precision, args, work) for seed in args.seeds]
                print_row(name, precision, seeds, identity)


def print_row(
    name: str, precision: str, seeds: list[dict[str, float]], identity: dict[str, float]
) -> None:
    """One table row: mean ± spread over the seeds and the verdict against the identity."""
    mean = {key: statistics.mean(run[key] for run in seeds) for key in seeds[0]}
    spread = {key: spread_of([run[key] for run in seeds]) for key in seeds[0]}
    wins = sum(beats(run, identity) for run in seeds)
    verdict = "beats" if beats(mean, identity) else "NOT"
    print(
        f"{name:<10} {precision:<11} {mean['l1']:7.4f} ±{spread['l1']:6.4f} "
        f"{mean['psnr']:6.2f} ±{spread['psnr']:5.2f} "
        f"{mean['ssim']:7.4f} ±{spread['ssim']:6.4f} "
        f"{mean['lines']:7.4f} ±{spread['lines']:6.4f} "
        f"{mean['checkerboard'] * 100:7.3f} ±{spread['checkerboard'] * 100:6.3f} "
        f"{mean['diversity']:7.3f} ±{spread['diversity']:6.3f} "
        f"{mean['images_per_s']:9.2f}  {verdict} ({wins}/{len(seeds)} seeds)",
        flush=True,
    )


def beats(scores: dict[str, float], identity: dict[str, float]) -> bool:
    """Better than the identity on L1, PSNR and SSIM alike."""
    return (
        scores["l1"] < identity["l1"]
        and scores["psnr"] > identity["psnr"]
        and scores["ssim"] > identity["ssim"]
    )


def spread_of(values: list[float]) -> float:
    """Sample standard deviation; 0 for a single seed."""
    return statistics.stdev(values) if len(values) > 1 else 0.0


if __name__ == "__main__":
    main()
