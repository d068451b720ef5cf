"""Faithful resume and what the rolling last.ckpt costs, on the demo CycleGAN.

1. Bitwise resume: ``--batches`` batches straight against ``--batches / 2`` (mid-epoch) and
   one epoch (``--epoch-batches``, an epoch boundary) followed by a resume from last.ckpt to
   ``--batches``, all with ``seed=42 trainer.deterministic=true`` and an EMA generator. Prints
   the largest absolute difference over every tensor of both networks, the EMA copies and the
   optimizer states (0 = bitwise equal).
2. Checkpoint cost: the time of one last.ckpt write (serialise + fsync + rename, median of
   ``--writes``) against the time of one training batch measured in the same process, as a
   percentage of training time at a few checkpoint intervals, the default (every 10 minutes)
   among them; and end to end, the same training with last.ckpt every 5 batches against
   without mid-epoch writes, the runs taking turns (``--repeats``) so machine load falls on
   both alike.
3. Per-item seeding: the time to draw the training items through SeededDraws (torch's RNG
   forked and seeded per item) against indexing the dataset directly.

    python benchmarks/resume.py
    python benchmarks/resume.py --batches 24 --epoch-batches 16 --repeats 3
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import lightning as L
import torch
from hydra import compose, initialize_config_dir

from style_gan.data.demo import DemoDataModule
from style_gan.data.resumable import SeededDraws, item_seed
from style_gan.run.checkpoints import AtomicCheckpointIO
from style_gan.run.cli import CONFIG_DIR
from style_gan.train import train

RESUMABLE = [
    "trainer.max_epochs=null",
    "trainer.deterministic=true",
    "trainer.num_sanity_val_steps=0",
    "trainer.limit_val_batches=1",
    "~callbacks.progress_bar",
    "callbacks=default",
    "metrics=none",
    "model.ema_decay=0.999",
    "seed=42",
]


class BatchClock(L.Callback):
    """Seconds per training batch, from the second batch's start to the last one's end (the
    first batch warms up); kept on the class, since Hydra builds the instance."""

    seconds_per_batch: float = 0.0

    def __init__(self) -> None:
        self.start: float | None = None
        self.batches = 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.start is None and batch_idx == 1:
            self.start = time.perf_counter()
        if self.start is not None:
            self.batches += 1

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.start is not None:
            BatchClock.seconds_per_batch = (time.perf_counter() - self.start) / self.batches


def run(folder: Path, data_dir: Path, *overrides: str) -> Path:
    """Train with ``overrides`` into ``folder``; return its last.ckpt."""
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                *RESUMABLE,
                *overrides,
                f"paths.root_dir={folder}",
                f"paths.data_dir={data_dir}",
                f"paths.output_dir={folder}",
                f"hydra.run.dir={folder}",
            ],
        )
    train(cfg)
    return folder / "checkpoints" / "last.ckpt"


def tensors(value: object, prefix: str = "") -> dict[str, torch.Tensor]:
    """Every tensor in a nested checkpoint structure, by its path."""
    if isinstance(value, torch.Tensor):
        return {prefix: value}
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, (list, tuple)):
        pairs = list(enumerate(value))
    else:
        return {}
    found: dict[str, torch.Tensor] = {}
    for key, item in pairs:
        found.update(tensors(item, f"{prefix}/{key}"))
    return found


def training_state(path: Path) -> dict[str, torch.Tensor]:
    checkpoint = torch.load(path, weights_only=True)
    return tensors({key: checkpoint[key] for key in ("state_dict", "optimizer_states")})


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(
        (x.double() - y.double()).abs().max().item() if x.numel() else 0.0
        for x, y in ((a[k], b[k]) for k in a)
    )


def bitwise(work: Path, data_dir: Path, batches: int, epoch_batches: int) -> None:
    epoch = f"trainer.limit_train_batches={epoch_batches}"
    straight = training_state(run(work / "straight", data_dir, epoch, f"max_batches={batches}"))
    print(f"bitwise resume ({len(straight)} tensors: G, F, D_A, D_B, EMA, Adam moments)")
    for name, first in (("mid-epoch", batches // 2), ("epoch boundary", epoch_batches)):
        checkpoint = run(work / f"first_{first}", data_dir, epoch, f"max_batches={first}")
        resumed = run(
            work / f"rest_{first}",
            data_dir,
            epoch,
            f"max_batches={batches}",
            f"ckpt_path={checkpoint}",
        )
        difference = max_difference(straight, training_state(resumed))
        print(f"  {batches} straight vs {first} + resume ({name}): max |diff| = {difference:g}")


def checkpoint_cost(work: Path, data_dir: Path, writes: int, repeats: int) -> None:
    clock = ["+callbacks.clock._target_=__main__.BatchClock"]
    last = run(work / "clocked", data_dir, "max_batches=30", *clock)
    batch_seconds = BatchClock.seconds_per_batch
    checkpoint = torch.load(last, weights_only=True)
    durations = []
    for _ in range(writes):
        start = time.perf_counter()
        AtomicCheckpointIO().save_checkpoint(checkpoint, work / "timed.ckpt")
        durations.append(time.perf_counter() - start)
    write = statistics.median(durations)
    size = (work / "timed.ckpt").stat().st_size / 2**20
    print(
        f"checkpoint cost: one last.ckpt ({size:.1f} MiB) takes {write * 1e3:.0f} ms, "
        f"one batch {batch_seconds * 1e3:.0f} ms"
    )
    for interval in (5, 50, 200):
        share = write / (write + interval * batch_seconds)
        print(f"  every {interval:>3} batches: {100 * share:.2f} % of training time")
    print(f"  every 10 minutes (the default): {100 * write / 600:.4f} % of training time")

    totals: dict[str, list[float]] = {"no mid-epoch writes": [], "every 5 batches": []}
    settings = {
        "no mid-epoch writes": ["callbacks.latest_checkpoint.every_n_minutes=null"],
        "every 5 batches": ["callbacks.latest_checkpoint.every_n_batches=5"],
    }
    for round_index in range(repeats):
        for setting, (name, overrides) in enumerate(settings.items()):
            start = time.perf_counter()
            folder = work / f"end_to_end_{round_index}_{setting}"
            run(folder, data_dir, "max_batches=40", "trainer.limit_train_batches=40", *overrides)
            totals[name].append(time.perf_counter() - start)
    base, every5 = (statistics.median(totals[name]) for name in settings)
    print(
        f"  end to end, 40 batches (median of {repeats}): every 5 batches / none = "
        f"{every5 / base:.3f}"
    )


def seeding_cost(data_dir: Path) -> None:
    data = DemoDataModule(data_dir / "demo_64px", image_size=64)
    data.prepare_data()
    data.setup("fit")
    dataset = data.datasets["train"]
    seeded = SeededDraws(dataset)
    keys = [(index, item_seed(0, 0, index)) for index in range(len(dataset))]
    timings: dict[str, list[float]] = {"direct": [], "seeded": []}
    for _ in range(3):
        start = time.perf_counter()
        for index in range(len(dataset)):
            dataset[index]
        timings["direct"].append(time.perf_counter() - start)
        start = time.perf_counter()
        for key in keys:
            seeded[key]
        timings["seeded"].append(time.perf_counter() - start)
    direct, through = (statistics.median(timings[name]) for name in ("direct", "seeded"))
    print(
        f"per-item seeding: {len(dataset)} demo items seeded / direct = {through / direct:.3f} "
        f"({1e6 * (through - direct) / len(dataset):.0f} µs per item)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=24)
    parser.add_argument("--epoch-batches", type=int, default=16)
    parser.add_argument("--writes", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        data_dir = work / "data"
        bitwise(work, data_dir, args.batches, args.epoch_batches)
        checkpoint_cost(work, data_dir, args.writes, args.repeats)
        seeding_cost(data_dir)


if __name__ == "__main__":
    main()
