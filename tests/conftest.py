"""Shared fixtures: composing the real Hydra configs and writing real image folders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
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

# A couple of batches: the real code paths at a fraction of the cost.
FAST_TRAINER = [
    "trainer.accelerator=cpu",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.num_sanity_val_steps=0",
    "trainer.log_every_n_steps=1",
    "~callbacks.progress_bar",
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


@pytest.fixture
def train_config(tmp_path: Path, data_dir: Path) -> Iterator[Callable[..., DictConfig]]:
    """``train_config(*overrides, run_dir=None)``: conf/train.yaml with the FAST settings."""

    def make(*overrides: str, run_dir: Path | None = None) -> DictConfig:
        return compose_config("train", [*FAST, *overrides], run_dir or tmp_path / "run", data_dir)

    yield make
    GlobalHydra.instance().clear()


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
