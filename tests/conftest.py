"""Shared fixtures: composing the real Hydra configs and writing real image folders."""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import lightning as L
import numpy as np
import pytest
import torch
import torchvision
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from PIL import Image
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from style_gan.nets.vgg import vgg19_features
from style_gan.run.cli import CONFIG_DIR
from style_gan.run.threads import choose_threads
from style_gan.stylize import stylize
from style_gan.train import train

# The suite computes with the threads training would choose on this machine (OMP_NUM_THREADS,
# else this process's idle CPUs), so a busy machine is not oversubscribed; train() chooses
# again for each run.
torch.set_num_threads(choose_threads("auto", 1)[0])

# A couple of batches: the real code paths at a fraction of the cost.
FAST_TRAINER = [
    "trainer.accelerator=cpu",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.num_sanity_val_steps=0",
    "trainer.log_every_n_steps=1",
    "~callbacks.progress_bar",
    # Not the demo recipe's best checkpoint: it watches a metric tests often switch off.
    "callbacks=default",
]
# ... with small networks on small demo images.
FAST = [
    *FAST_TRAINER,
    "data.image_size=32",
    "data.batch_size=2",
    "data.eval_batch_size=2",
    "model.generator.base_channels=8",
    "model.discriminator.base_channels=8",
    "model.pool_size=4",
    "metrics=none",
]

# One training batch and no validation, at a method's demo sizes (with model=NAME).
ONE_BATCH = [
    *FAST_TRAINER,
    "trainer.limit_train_batches=1",
    "trainer.limit_val_batches=0",
    "data.batch_size=2",
    "metrics=none",
]


def compose_config(
    config_name: str, overrides: list[str], run_dir: Path, data_dir: Path
) -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` as the command line would, with its run folder."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            config_name,
            overrides=[
                f"paths.root_dir={run_dir}",
                f"paths.data_dir={data_dir}",
                f"paths.output_dir={run_dir}",
                f"hydra.run.dir={run_dir}",
                *overrides,
            ],
            return_hydra_config=True,
        )
    HydraConfig().set_config(cfg)
    return cfg


@pytest.fixture(scope="session")
def fake_torch_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TORCH_HOME whose hub cache holds randomly initialised Inception-FID and AlexNet
    weights in the real files' names and formats: the loading code runs as with real ones."""
    home = tmp_path_factory.mktemp("torch_home")
    checkpoints = home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.save(torchvision.models.alexnet().state_dict(), checkpoints / "alexnet-owt-7be5be79.pth")
    module = "torch_fidelity.feature_extractor_inceptionv3"
    with (
        mock.patch(f"{module}.FeatureExtractorInceptionV3.load_state_dict"),
        mock.patch(f"{module}.load_state_dict_from_url", return_value={}),
    ):
        inception = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    for module in inception.modules():  # He init: features of real scale, not ~1e-8
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight)
    torch.save(inception.state_dict(), checkpoints / "weights-inception-2015-12-05-6726825d.pth")
    return home


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data folder per test session, so the demo dataset is generated once."""
    return tmp_path_factory.mktemp("data")


def train_one_batch(model: str, run: Path, data_dir: Path, *overrides: str) -> Path:
    """A checkpoint of ``model`` after one batch, with a weight average that differs from the
    live weights."""
    cfg = compose_config(
        "train",
        [
            *ONE_BATCH,
            f"model={model}",
            "model.ema_decay=0.5",
            *overrides,
        ],
        run,
        data_dir,
    )
    train(cfg)
    return run / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="session")
def one_batch_checkpoint(
    tmp_path_factory: pytest.TempPathFactory, data_dir: Path
) -> Callable[[str], Path]:
    """``one_batch_checkpoint(model)``: train_one_batch's checkpoint, trained once a session."""
    checkpoints: dict[str, Path] = {}

    def get(model: str) -> Path:
        if model not in checkpoints:
            run = tmp_path_factory.mktemp(f"one_batch_{model}") / "run"
            checkpoints[model] = train_one_batch(model, run, data_dir)
        return checkpoints[model]

    return get


@pytest.fixture
def run_stylize(tmp_path: Path, data_dir: Path) -> Callable[..., list[Path]]:
    """``run_stylize(*overrides)``: stylize(cfg) of conf/stylize.yaml; returns written paths."""

    def run(*overrides: str) -> list[Path]:
        cfg = compose_config("stylize", ["device=cpu", *overrides], tmp_path / "run", data_dir)
        return stylize(cfg)

    return run


@pytest.fixture
def compose_train(tmp_path: Path, data_dir: Path) -> Iterator[Callable[..., DictConfig]]:
    """``compose_train(*overrides, run_dir=None)``: conf/train.yaml with FAST_TRAINER and
    ``overrides``, run in ``tmp_path/run`` unless ``run_dir`` says otherwise."""

    def make(*overrides: str, run_dir: Path | None = None) -> DictConfig:
        run = run_dir or tmp_path / "run"
        return compose_config("train", [*FAST_TRAINER, *overrides], run, data_dir)

    yield make
    GlobalHydra.instance().clear()


@pytest.fixture
def train_config(compose_train: Callable[..., DictConfig]) -> Callable[..., DictConfig]:
    """``train_config(*overrides, run_dir=None)``: conf/train.yaml with the FAST settings."""
    return functools.partial(compose_train, *FAST[len(FAST_TRAINER) :])


def metric_rows(run_dir: Path) -> list[dict[str, str]]:
    """The rows of a run's CSV log."""
    with open(run_dir / "csv" / "metrics.csv") as file:
        return list(csv.DictReader(file))


def train_steps(run_dir: Path) -> list[int]:
    """The steps at which a run logged its training losses."""
    return [int(row["step"]) for row in metric_rows(run_dir) if row.get("train/g")]


def bare_trainer(*callbacks: L.Callback, train_batches: int, val_batches: int) -> L.Trainer:
    """A one-epoch CPU Trainer with nothing but ``callbacks``: no logger, checkpoint or bar."""
    return L.Trainer(
        accelerator="cpu",
        max_epochs=1,
        limit_train_batches=train_batches,
        limit_val_batches=val_batches,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        callbacks=list(callbacks),
    )


def snapshot(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def has_gradient(module: torch.nn.Module) -> bool:
    return any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())


class PhaseRecorder(L.Callback):
    """The parameters of a GAN method's networks at the start of a batch, before each optimizer
    step ("g" for the first optimizer, "d" for the second) and at the end, with whether each
    holds a gradient (``<key>_has_grad``). ``networks`` maps a key to the network's getter,
    e.g. ``{"g": lambda m: m.g_ab, "d": lambda m: m.d_b}``."""

    def __init__(self, networks: dict[str, Callable[[L.LightningModule], torch.nn.Module]]):
        self.networks = networks
        self.steps: list[dict[str, Any]] = []

    def record(self, which: str, model: L.LightningModule) -> None:
        step: dict[str, Any] = {"which": which}
        for key, network in self.networks.items():
            step[key] = snapshot(network(model))
            step[f"{key}_has_grad"] = has_gradient(network(model))
        self.steps.append(step)

    def on_train_batch_start(self, trainer, model, batch, batch_idx) -> None:
        self.record("start", model)

    def on_before_optimizer_step(self, trainer, model, optimizer) -> None:
        self.record("g" if optimizer is trainer.optimizers[0] else "d", model)

    def on_train_batch_end(self, trainer, model, outputs, batch, batch_idx) -> None:
        self.record("end", model)


def assert_g_then_d(steps: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """One batch of a GAN method as a PhaseRecorder saw it: G's step, then D's, each leaving
    the other network alone, D given no gradient in G's phase. Returns start, g, d, end."""
    start, g_step, d_step, end = steps
    assert [step["which"] for step in steps] == ["start", "g", "d", "end"]
    assert same(g_step["d"], start["d"]) and not g_step["d_has_grad"]
    assert same(d_step["d"], start["d"]) and not same(d_step["g"], start["g"])
    assert same(end["g"], d_step["g"]) and not same(end["d"], d_step["d"])
    return start, g_step, d_step, end


def write_image(
    path: Path, size: tuple[int, int] = (40, 36), mode: str = "RGB", seed: int = 0
) -> Path:
    """A real image file of random pixels; the format follows the file's suffix."""
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    image = Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def write_unpaired_layout(
    root: Path,
    count: int = 4,
    size: tuple[int, int] = (40, 36),
    splits: tuple[str, ...] = ("train", "test"),
) -> Path:
    """A CycleGAN-layout folder: <split>A/ and <split>B/ with ``count`` png images each."""
    for split_index, split in enumerate(splits):
        for domain_index, domain in enumerate("AB"):
            for index in range(count):
                seed = 1000 * split_index + 100 * domain_index + index
                write_image(root / f"{split}{domain}" / f"{index:03d}.png", size, seed=seed)
    return root


def write_vgg_weights(path: Path) -> dict[str, torch.Tensor]:
    """Random weights for just the layers up to relu4_1, under torchvision's key names."""
    state = {f"features.{k}": v for k, v in vgg19_features(20).state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return state
