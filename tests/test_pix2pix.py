"""pix2pix: shapes, the conditional discriminator, one training step observed from a callback,
and short real runs of train(cfg) on the demo and on a paired folder, with a resume."""

from __future__ import annotations

import functools
from pathlib import Path

import hydra
import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import InstantiationException

from style_gan.errors import ConfigError
from style_gan.methods.pix2pix import Pix2Pix, pair
from style_gan.train import train
from tests.conftest import (
    PhaseRecorder,
    assert_g_then_d,
    bare_trainer,
    compose_config,
    train_steps,
    write_unpaired_layout,
)
from tests.test_paired_data import write_aligned

# Small pix2pix: a 5-level U-Net fits 32 px images (32 / 2**5 = 1).
SMALL = [
    "model=pix2pix",
    "model.generator.base_channels=8",
    "model.generator.num_downs=5",
    "model.discriminator.base_channels=8",
    "metrics=none",
]
DEMO = ["data.image_size=32", "data.batch_size=2", "data.eval_batch_size=2"]


@pytest.fixture
def config(compose_train):
    return functools.partial(compose_train, *SMALL)


def paired_folder(tmp_path: Path) -> list[str]:
    root = write_aligned(tmp_path / "pairs", count=2, size=(36, 36))
    return [
        "data=paired",
        f"data.root={root}",
        "data.load_size=36",
        "data.crop_size=32",
        "data.batch_size=1",
        "data.eval_batch_size=2",
        "data.num_workers=0",
        "data.pin_memory=false",
        "data.validate_on_test=true",
    ]


def test_shapes_sample_rows_and_the_demo_sizes(config) -> None:
    cfg = config(*DEMO)
    model: Pix2Pix = hydra.utils.instantiate(cfg.model).eval()
    content, target = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    assert model(content).shape == content.shape
    assert model.discriminator(pair(content, target)).shape == (2, 1, 2, 2)
    rows = model.sample_images({"content": content, "style": target, "target": target})
    assert list(rows) == ["content", "translated", "target"]
    assert all(row.shape == content.shape for row in rows.values())


def test_demo_and_facades_recipes(tmp_path, data_dir) -> None:
    # The demo (64 px) picks a 6-level U-Net for pix2pix; facades is the paper's recipe.
    demo = compose_config("train", ["model=pix2pix"], tmp_path / "run", data_dir).model
    assert demo.generator.num_downs == 6 and demo.adversarial.mode == "vanilla"
    full = compose_config("train", ["experiment=facades"], tmp_path / "run", data_dir)
    assert full.model.generator.num_downs == 8 and full.model.discriminator.in_channels == 6
    assert full.model.generator.norm == "batch" and full.model.generator.dropout == 0.5
    assert full.model.lambda_l1 == 100 and full.data.crop_size == 256
    assert full.data._target_ == "style_gan.data.paired.PairedDataModule"
    GlobalHydra.instance().clear()


def test_the_discriminator_is_conditional_on_the_source(config) -> None:
    model: Pix2Pix = hydra.utils.instantiate(config(*DEMO).model).eval()
    x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    other_x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        verdict = model.discriminator(pair(x, y))
        assert not torch.allclose(verdict, model.discriminator(pair(other_x, y)))
        assert not torch.allclose(verdict, model.discriminator(pair(x, -y)))
    with pytest.raises(InstantiationException) as error:  # the CLI prints its cause
        hydra.utils.instantiate(config(*DEMO, "model.discriminator.in_channels=3").model)
    assert isinstance(error.value.__cause__, ConfigError)
    assert "in_channels=3; set it to 6" in str(error.value.__cause__)


def test_each_batch_steps_g_then_d_once_and_each_phase_leaves_the_other_alone(config) -> None:
    cfg = config(*DEMO)
    datamodule = hydra.utils.instantiate(cfg.data)
    model: Pix2Pix = hydra.utils.instantiate(cfg.model)
    recorder = PhaseRecorder({"g": lambda m: m.generator, "d": lambda m: m.discriminator})
    trainer = bare_trainer(recorder, train_batches=1, val_batches=0)
    trainer.fit(model, datamodule=datamodule)

    _, _, d_step, _ = assert_g_then_d(recorder.steps)
    assert d_step["d_has_grad"]
    assert trainer.global_step == 2


def test_demo_run_resumes_from_last_checkpoint(config, tmp_path) -> None:
    first = tmp_path / "first"
    metrics = train(config(*DEMO, run_dir=first))
    assert {"train/g", "train/d", "train/l1", "train/g_adv", "val/l1"} <= set(metrics)
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values())
    assert (first / "samples" / "final.png").is_file()
    last = first / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == 4
    resumed = tmp_path / "resumed"
    train(config(*DEMO, "trainer.max_epochs=2", f"ckpt_path={last}", run_dir=resumed))
    assert train_steps(resumed) == [2, 3]
    final = torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=True)
    assert final["global_step"] == 8 and final["epoch"] == 1


def test_trains_on_a_paired_folder_with_diffaugment_r1_and_ema(config, tmp_path) -> None:
    run = tmp_path / "run"
    stabilisers = [
        'model.adversarial.diff_augment="color,translation,cutout"',  # on the 6-channel pair
        "model.adversarial.r1_gamma=1.0",
        "model.adversarial.r1_interval=1",
        "model.ema_decay=0.9",
    ]
    metrics = train(config(*paired_folder(tmp_path), *stabilisers, run_dir=run))
    assert train_steps(run) == [0, 1]
    assert {"train/l1", "train/d_r1", "val/l1"} <= set(metrics)
    assert (run / "checkpoints" / "last.ckpt").is_file()


def test_unpaired_data_is_a_one_line_config_error(config, tmp_path) -> None:
    root = write_unpaired_layout(tmp_path / "unpaired", count=2, size=(32, 32))
    cfg = config(
        "data=unpaired",
        f"data.root={root}",
        "data.load_size=32",
        "data.crop_size=32",
        "data.num_workers=0",
        "data.pin_memory=false",
    )
    with pytest.raises(ConfigError, match=r"pix2pix needs paired data.*data=paired") as error:
        train(cfg)
    assert "\n" not in str(error.value)
