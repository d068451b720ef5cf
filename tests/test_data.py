"""Datasets, transforms and the data module on real image files written to tmp_path."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from style_gan.data import datamodule, loading
from style_gan.data.datamodule import UnpairedDataModule
from style_gan.data.images import load_rgb, scan_image_folder
from style_gan.errors import ConfigError, DataError
from tests.conftest import write_image, write_unpaired_layout


def test_mixed_formats_modes_and_sizes_load_as_rgb(tmp_path: Path) -> None:
    root = write_unpaired_layout(tmp_path / "data", count=1)
    write_image(root / "trainA" / "gray.jpg", (50, 70), "L")
    write_image(root / "trainA" / "alpha.png", (64, 40), "RGBA")
    write_image(root / "trainA" / "photo.webp", (33, 45))
    write_image(root / "trainA" / "old.bmp", (90, 31))
    data = UnpairedDataModule(root, load_size=30, crop_size=24, batch_size=5, num_workers=0)
    data.setup("fit")
    dataset = data.datasets["train"]
    assert [p.name for p in dataset.content_files] == [
        "000.png",
        "alpha.png",
        "gray.jpg",
        "old.bmp",
        "photo.webp",
    ]
    batch = next(iter(data.train_dataloader()))
    assert batch["content"].shape == (5, 3, 24, 24)
    assert batch["style"].shape == (5, 3, 24, 24)
    assert batch["content"].min() >= -1 and batch["content"].max() <= 1


def test_bad_files_are_skipped_with_a_warning_naming_them(tmp_path: Path, caplog) -> None:
    root = write_unpaired_layout(tmp_path / "data", count=3)
    (root / "trainA" / "empty.png").write_bytes(b"")
    (root / "trainA" / "garbage.jpg").write_bytes(b"not an image at all")
    (root / "trainA" / "notes.txt").write_text("hello")
    data = UnpairedDataModule(root, load_size=32, crop_size=32, num_workers=0)
    with caplog.at_level(logging.WARNING):
        data.setup("fit")
    assert len(data.datasets["train"].content_files) == 3
    message = caplog.text
    assert "skipped 3 unusable file(s)" in message
    for name in ("empty.png (empty file)", "garbage.jpg", "notes.txt (not an image file)"):
        assert name in message


def test_truncated_image_is_skipped_when_decoded_and_training_goes_on(
    tmp_path: Path, caplog
) -> None:
    root = write_unpaired_layout(tmp_path / "data", count=2, size=(64, 64))
    whole = write_image(root / "trainA" / "zz_truncated.png", (64, 64), seed=7).read_bytes()
    (root / "trainA" / "zz_truncated.png").write_bytes(whole[: len(whole) // 2])
    data = UnpairedDataModule(root, load_size=32, crop_size=32, num_workers=0)
    data.setup("fit")
    dataset = data.datasets["train"]
    assert len(dataset) == 3  # the header parses, so the scan keeps it
    with caplog.at_level(logging.WARNING):
        items = [dataset[i] for i in range(len(dataset))]
    assert "skipping unreadable image: " in caplog.text and "zz_truncated.png" in caplog.text
    assert all(item["content"].shape == (3, 32, 32) for item in items)
    assert not any(item["content_path"].endswith("zz_truncated.png") for item in items)


@pytest.mark.parametrize(
    ("root", "message"),
    [
        ("missing", "does not exist"),
        ("", "data.root is empty"),
        ("no_layout", "must hold trainA"),
        ("a_file", "is a file, not a folder"),
    ],
)
def test_bad_roots_fail_with_one_clear_line(tmp_path: Path, root: str, message: str) -> None:
    (tmp_path / "no_layout").mkdir()
    (tmp_path / "a_file").write_text("not a folder")
    path = str(tmp_path / root) if root else ""
    with pytest.raises(DataError, match=message) as error:
        UnpairedDataModule(path, load_size=32, crop_size=32).setup("fit")
    assert "\n" not in str(error.value)


def test_folder_without_images_is_an_error(tmp_path: Path) -> None:
    root = write_unpaired_layout(tmp_path / "data", count=1)
    for image in (root / "trainB").iterdir():
        image.unlink()
    (root / "trainB" / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match=r"no usable images in .*trainB"):
        UnpairedDataModule(root, load_size=32, crop_size=32).setup("fit")


def test_crop_larger_than_load_size_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"crop_size=300 is larger than data\.load_size=286"):
        UnpairedDataModule("anywhere", load_size=286, crop_size=300)


def test_crop_larger_than_an_image_at_native_resolution_is_an_error(tmp_path: Path) -> None:
    root = write_unpaired_layout(tmp_path / "data", count=2, size=(64, 64))
    write_image(root / "trainA" / "small.png", (20, 80))
    data = UnpairedDataModule(root, preprocess="crop", crop_size=32, num_workers=0)
    expected = r"smaller than the crop size 32 \(first: small\.png 20x80\)"
    with pytest.raises(DataError, match=expected):
        data.setup("fit")


def test_unknown_preprocess_names_the_allowed_values() -> None:
    with pytest.raises(ConfigError, match="resize_crop, resize, crop"):
        UnpairedDataModule("anywhere", preprocess="zoom")


def _first_batch(root: Path, seed: int) -> dict:
    L.seed_everything(seed, workers=True)
    data = UnpairedDataModule(root, load_size=40, crop_size=32, batch_size=4, num_workers=0)
    data.setup("fit")
    return next(iter(data.train_dataloader()))


def test_sampling_is_deterministic_per_seed(tmp_path: Path) -> None:
    root = write_unpaired_layout(tmp_path / "data", count=8, size=(48, 48))
    first, again, other = _first_batch(root, 1), _first_batch(root, 1), _first_batch(root, 2)
    assert first["content_path"] == again["content_path"]
    assert first["style_path"] == again["style_path"]
    assert torch.equal(first["content"], again["content"])
    assert not torch.equal(first["content"], other["content"])


def test_without_a_val_split_validation_is_off_and_says_how_to_use_test(
    tmp_path: Path, caplog
) -> None:
    root = write_unpaired_layout(tmp_path / "data", count=3, size=(32, 32))
    data = UnpairedDataModule(root, load_size=32, crop_size=32, num_workers=0)
    with caplog.at_level(logging.WARNING):
        data.setup("fit")
    assert "val" not in data.datasets and data.val_dataloader() == []
    assert "no validation split: validation is off; add one (valA/ and valB/)" in caplog.text
    assert "data.validate_on_test=true" in caplog.text


def test_evaluation_pairs_files_in_sorted_order_and_validates_on_test_when_asked(
    tmp_path: Path,
) -> None:
    root = write_unpaired_layout(tmp_path / "data", count=3, size=(32, 32))
    data = UnpairedDataModule(
        root, load_size=32, crop_size=32, eval_batch_size=3, num_workers=0, validate_on_test=True
    )
    data.setup("fit")
    assert data.datasets["val"] is data.datasets["test"]
    batch = next(iter(data.val_dataloader()))
    names = [
        (Path(a).name, Path(b).name)
        for a, b in zip(batch["content_path"], batch["style_path"], strict=True)
    ]
    # Same names = a known mapping: style i is content i's answer, so it is the target, and
    # the style image handed out is the next one.
    assert names == [("000.png", "001.png"), ("001.png", "002.png"), ("002.png", "000.png")]
    assert torch.equal(batch["target"][1:], batch["style"][:2])


def test_scan_counts_only_usable_images(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png")
    write_image(tmp_path / "b.JPG")
    (tmp_path / ".hidden.png").write_bytes(b"")
    assert [p.name for p in scan_image_folder(tmp_path)] == ["a.png", "b.JPG"]


def test_large_images_are_read_reduced_to_what_the_transform_needs(tmp_path: Path) -> None:
    y, x = np.mgrid[0:1800, 0:2400]
    photo = np.stack([x * 255 // 2400, y * 255 // 1800, (x + y) % 256], axis=-1).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "large.jpg", quality=90)
    Image.fromarray(photo[:1200, :2000]).save(tmp_path / "large.png")
    # JPEG: decoded at 1/4 scale by the decoder, the shorter side still >= 286.
    assert load_rgb(tmp_path / "large.jpg", min_side=286).size == (600, 450)
    # PNG: decoded once, reduced by 4 (1200 // 286) and kept for the next draw.
    reduced = load_rgb(tmp_path / "large.png", min_side=286)
    assert reduced.size == (500, 300)
    assert load_rgb(tmp_path / "large.png", min_side=286) is reduced
    assert load_rgb(tmp_path / "large.png").size == (2000, 1200)
    # What training sees after its own resize is the full decode's, up to the box filter.
    resize = v2.Compose([v2.Resize(286, antialias=True), v2.PILToTensor()])
    full = resize(load_rgb(tmp_path / "large.png")).float()
    assert (resize(reduced).float() - full).abs().mean() < 8


@pytest.mark.parametrize(
    ("cpus", "processes", "workers"),
    [(2, 1, 0), (3, 1, 2), (4, 1, 3), (16, 1, 8), (16, 4, 3), (8, 4, 0)],
)
def test_auto_workers_share_the_cpus_left_after_training(
    monkeypatch: pytest.MonkeyPatch, cpus: int, processes: int, workers: int
) -> None:
    monkeypatch.setattr(loading, "usable_cpus", lambda: cpus)
    assert loading.loader_workers("auto", processes) == workers
    assert loading.loader_workers(5, processes) == 5


def test_pinned_memory_is_auto_on_cuda_only_and_bad_loader_settings_are_refused(
    tmp_path: Path,
) -> None:
    assert loading.pin_memory("auto", torch.device("cuda", 0))
    assert not loading.pin_memory("auto", torch.device("cpu"))
    assert loading.pin_memory(True, torch.device("cpu"))
    root = write_unpaired_layout(tmp_path / "data", count=1)
    for setting, message in (
        ({"num_workers": "four"}, "data.num_workers='four' must be auto or a number >= 0"),
        ({"num_workers": -1}, "data.num_workers=-1 must be"),
        ({"pin_memory": "yes"}, "data.pin_memory='yes' must be auto, true or false"),
    ):
        with pytest.raises(ConfigError, match=message):
            UnpairedDataModule(root, **setting)


def test_a_run_loads_with_the_auto_settings_of_its_machine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(loading, "usable_cpus", lambda: 3)
    monkeypatch.setattr(datamodule, "usable_cpus", lambda: 3)
    root = write_unpaired_layout(tmp_path / "data", count=2)
    data = UnpairedDataModule(root, load_size=32, crop_size=32)
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False)
    data.trainer = trainer
    data.setup("fit")
    with caplog.at_level(logging.INFO, logger="style_gan.data.datamodule"):
        loader = data.train_dataloader()
        data.train_dataloader()
    assert (loader.num_workers, loader.pin_memory, loader.persistent_workers) == (2, False, True)
    lines = [r.getMessage() for r in caplog.records if "data loading" in r.getMessage()]
    assert lines == [
        "data loading: 2 worker processes per loader (3 CPUs, 1 training process), "
        "pinned memory off"
    ]
    assert next(iter(loader))["content"].shape == (1, 3, 32, 32)
