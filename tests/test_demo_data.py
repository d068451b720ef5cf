"""The built-in demo dataset: layout, known ground truth, a real style change, determinism."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from style_gan.data.demo import DemoDataModule, ink_print, make_demo_dataset
from style_gan.errors import DataError


def _pixels(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(path))).permute(2, 0, 1).float() / 255


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "demo"
    make_demo_dataset(root, image_size=32, num_train=6, num_test=4, seed=3)
    return root


def test_layout_and_paired_test_split(demo_root: Path) -> None:
    for split, count in (("train", 6), ("test", 4)):
        for domain in "AB":
            assert len(list((demo_root / f"{split}{domain}").glob("*.png"))) == count
    names_a = sorted(p.name for p in (demo_root / "testA").iterdir())
    assert names_a == sorted(p.name for p in (demo_root / "testB").iterdir())


def test_test_targets_are_the_ink_print_of_their_content(demo_root: Path) -> None:
    for path_a in sorted((demo_root / "testA").iterdir()):
        content, target = _pixels(path_a), _pixels(demo_root / "testB" / path_a.name)
        expected = ink_print(content[None])[0]
        assert (expected - target).abs().max() <= 0.5 / 255 + 1e-6  # the PNG's uint8 rounding only
        assert (content - target).abs().mean() > 0.1  # a visible style change


def test_generation_is_deterministic(demo_root: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    make_demo_dataset(again, image_size=32, num_train=6, num_test=4, seed=3)
    for path in demo_root.rglob("*.png"):
        assert path.read_bytes() == (again / path.relative_to(demo_root)).read_bytes()


def test_processes_generating_it_at_once_all_succeed(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        pool.starmap(make_demo_dataset, [(root, 16, 4, 2, 3)] * 3)
    assert len(list((root / "trainA").glob("*.png"))) == 4
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]  # no staging folder left behind


def test_ink_print_maps_luminance_onto_the_palette() -> None:
    black, white = torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 8, 8)
    assert torch.allclose(ink_print(black)[0, :, 4, 4], torch.tensor([0.10, 0.12, 0.30]))
    assert torch.allclose(ink_print(white)[0, :, 4, 4], torch.tensor([0.98, 0.94, 0.82]))
    with pytest.raises(ValueError, match="expects"):
        ink_print(torch.zeros(3, 8, 8))


def test_datamodule_generates_on_first_use_and_refuses_foreign_folders(tmp_path: Path) -> None:
    data = DemoDataModule(tmp_path / "fresh", image_size=32)
    data.prepare_data()
    assert (tmp_path / "fresh" / "demo.json").is_file()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "precious.txt").write_text("keep me")
    with pytest.raises(DataError, match="holds no demo dataset"):
        DemoDataModule(tmp_path / "mine", image_size=32).prepare_data()
    assert (tmp_path / "mine" / "precious.txt").read_text() == "keep me"
