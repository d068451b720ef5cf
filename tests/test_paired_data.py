"""Paired data on real image files in both layouts, and the demo's training targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from style_gan.data.demo import DemoDataModule, ink_print
from style_gan.data.paired import PairedDataModule
from style_gan.errors import DataError
from tests.conftest import write_image


def inverted(path: Path) -> Image.Image:
    """B as a known function of A: colours inverted, so in [-1, 1] B = -A pixel by pixel."""
    return Image.fromarray(255 - np.asarray(Image.open(path).convert("RGB")))


def write_aligned(root: Path, splits=("train", "test"), count: int = 3, size=(40, 36)) -> Path:
    for split_index, split in enumerate(splits):
        for index in range(count):
            a = write_image(
                root / "A" / split / f"{index:03d}.png", size, seed=10 * split_index + index
            )
            (root / "B" / split).mkdir(parents=True, exist_ok=True)
            inverted(a).save(root / "B" / split / a.name)
    return root


def write_side_by_side(root: Path, splits=("train", "val"), count: int = 3, size=(40, 36)) -> Path:
    for split_index, split in enumerate(splits):
        for index in range(count):
            a = write_image(
                root / "tmp" / f"{split}{index}.png", size, seed=10 * split_index + index
            )
            both = Image.new("RGB", (2 * size[0], size[1]))
            both.paste(Image.open(a), (0, 0))
            both.paste(inverted(a), (size[0], 0))
            (root / split).mkdir(parents=True, exist_ok=True)
            both.save(root / split / f"{index:03d}.png")
            a.unlink()
    (root / "tmp").rmdir()
    return root


def datamodule(root: Path, **kwargs) -> PairedDataModule:
    settings = dict(preprocess="crop", load_size=36, crop_size=32, flip=True, batch_size=2)
    data = PairedDataModule(root, **{**settings, **kwargs}, eval_batch_size=2, num_workers=0)
    data.setup("fit")
    return data


@pytest.mark.parametrize("write", [write_aligned, write_side_by_side])
def test_random_crop_and_flip_are_the_same_for_a_and_b(write, tmp_path) -> None:
    data = datamodule(write(tmp_path / "pairs"))
    dataset = data.datasets["train"]
    torch.manual_seed(0)
    draws = [dataset[0] for _ in range(12)]
    for item in draws:
        assert item["content"].shape == item["target"].shape == (3, 32, 32)
        # B = inverted A survives the random transform only if both got the same one.
        assert torch.allclose(item["target"], -item["content"], atol=1e-6)
        assert item["style"] is item["target"]
    # ... and the transform is random: several different crops/flips of the same file.
    assert len({d["content"].sum().item() for d in draws}) > 3


def test_resize_crop_keeps_the_pairing_up_to_rounding(tmp_path) -> None:
    dataset = datamodule(write_aligned(tmp_path / "pairs"), preprocess="resize_crop").datasets
    item = dataset["train"][1]
    assert item["content"].shape == (3, 32, 32)
    # PIL rounds the resized uint8 pixels: inversion commutes with it up to one grey level.
    assert (item["target"] + item["content"]).abs().max() <= 2 / 255 + 1e-6


def test_side_by_side_halves_direction_and_val_split(tmp_path) -> None:
    root = write_side_by_side(tmp_path / "facades")
    forward, backward = datamodule(root, flip=False), datamodule(root, flip=False, direction="BtoA")
    assert forward.layout() == "side_by_side"
    # Evaluation: centre crop of the left (A) half, unchanged by the random draws.
    a = np.asarray(Image.open(root / "val" / "000.png").convert("RGB"))[2:34, 4:36]
    item = forward.datasets["val"][0]
    expected = torch.from_numpy(a.copy()).permute(2, 0, 1).float() / 255 * 2 - 1
    assert torch.allclose(item["content"], expected, atol=1e-6)
    swapped = backward.datasets["val"][0]
    assert torch.equal(swapped["content"], item["target"])
    assert torch.equal(swapped["target"], item["content"])
    assert item["content_path"] == item["style_path"] == str(root / "val" / "000.png")
    batch = next(iter(forward.val_dataloader()))
    assert batch["content"].shape == batch["target"].shape == (2, 3, 32, 32)


def test_aligned_layout_loaders_and_val_on_test_when_asked(tmp_path) -> None:
    data = datamodule(write_aligned(tmp_path / "pairs"), validate_on_test=True)
    assert data.layout() == "aligned"
    assert data.datasets["val"] is data.datasets["test"]
    batch = next(iter(data.train_dataloader()))
    assert set(batch) == {"content", "style", "target", "content_path", "style_path"}
    assert batch["content_path"][0].replace("/A/", "/B/") in batch["style_path"]


def test_files_without_a_partner_are_named(tmp_path) -> None:
    root = write_aligned(tmp_path / "pairs")
    write_image(root / "A" / "train" / "lonely.png")
    with pytest.raises(DataError, match=r"no partner .* \(first: lonely\.png\)"):
        datamodule(root)
    (root / "A" / "train" / "lonely.png").unlink()
    (root / "A" / "train" / "000.png").unlink()
    with pytest.raises(DataError, match=r"B/train have no partner .*first: 000\.png"):
        datamodule(root)


def test_unknown_layout_names_both_layouts(tmp_path) -> None:
    write_image(tmp_path / "pairs" / "photos" / "x.png")
    with pytest.raises(DataError) as error:
        datamodule(tmp_path / "pairs")
    message = str(error.value)
    assert "\n" not in message and "A/train/" in message and "side-by-side train/" in message
    with pytest.raises(DataError, match="does not exist"):
        datamodule(tmp_path / "nowhere")


def test_side_by_side_odd_width_and_mismatched_sizes_are_errors(tmp_path) -> None:
    odd = write_image(tmp_path / "odd" / "train" / "bad.png", size=(41, 36))
    with pytest.raises(DataError, match=f"{odd}.*odd width 41"):
        datamodule(tmp_path / "odd")
    root = write_aligned(tmp_path / "pairs", splits=("train",))
    write_image(root / "B" / "train" / "000.png", size=(50, 36))
    with pytest.raises(DataError, match="differ in size"):
        datamodule(root).datasets["train"][0]


def test_demo_training_items_carry_the_ink_print_of_their_content(data_dir) -> None:
    data = DemoDataModule(data_dir / "demo_32px", image_size=32, batch_size=2)
    data.prepare_data()
    data.setup("fit")
    torch.manual_seed(0)
    for index in range(3):
        item = data.datasets["train"][index]
        expected = ink_print((item["content"][None] + 1) / 2)[0] * 2 - 1
        assert torch.equal(item["target"], expected)
        assert not torch.equal(item["target"], item["style"])  # style stays an unpaired print
    # Held-out pairs: the target is testB, the saved ink print of the testA crop.
    val = data.datasets["val"][0]
    assert torch.allclose(
        val["target"], ink_print((val["content"][None] + 1) / 2)[0] * 2 - 1, atol=2 / 255
    )
    batch = next(iter(data.train_dataloader()))
    assert batch["target"].shape == batch["content"].shape == (2, 3, 32, 32)


def test_a_pair_that_fails_to_decode_is_skipped_with_a_warning(tmp_path, caplog) -> None:
    root = write_aligned(tmp_path / "pairs")
    damaged = root / "B" / "train" / "001.png"
    damaged.write_bytes(damaged.read_bytes()[:-200])  # header intact, pixel data cut off
    dataset = datamodule(root).datasets["train"]
    item = dataset[1]
    assert item["content_path"].endswith("002.png")
    assert "skipping unreadable pair 001.png" in caplog.text
