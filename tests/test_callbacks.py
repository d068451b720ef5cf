"""Sample grids: layout, and the fixed validation batch they are drawn from."""

from __future__ import annotations

from pathlib import Path

import hydra
import torch
import torch.nn.functional as F
from PIL import Image

from style_gan.run.callbacks import SampleGrid
from style_gan.run.sample_grid import column_label, label_strip, make_sample_grid
from tests.conftest import bare_trainer


def test_grid_has_a_labelled_column_per_entry_and_a_row_per_example() -> None:
    images = {name: torch.full((4, 3, 8, 8), -1.0) for name in ("content", "translated", "rec")}
    images["style"] = torch.ones(5, 3, 8, 8)
    grid = make_sample_grid(images, min_tile=32)
    header = label_strip(["content"], 32, 10).shape[1]
    # 4 columns and 4 rows of 8 px tiles enlarged 4x, 2 px padding around each, under the labels.
    assert grid.shape == (3, header + 4 * 34 + 2, 4 * 34 + 2)
    assert grid.min() >= 0 and grid.max() <= 1
    assert grid[:, :header].min() < 0.5  # the labels' ink
    body = grid[:, header:]
    assert torch.all(body[:, 2:34, 2:34] == 0) and torch.all(body[:, 2:34, -34:-2] == 1)
    assert [column_label(name) for name in images] == ["content", "result", "rec", "style"]


def test_grid_enlarges_each_pixel_to_a_block_of_its_own() -> None:
    tiles = torch.rand(2, 3, 4, 4) * 2 - 1
    grid = make_sample_grid({"content": tiles}, min_tile=16)
    body = grid[:, label_strip(["content"], 16, 20).shape[1] :]
    enlarged = F.interpolate((tiles + 1) / 2, scale_factor=4)
    assert torch.allclose(body[:, 2:18, 2:18], enlarged[0])
    assert torch.allclose(body[:, 20:36, 2:18], enlarged[1])


def test_grids_use_the_validation_batch_once_validation_has_run(
    train_config, tmp_path: Path
) -> None:
    cfg = train_config()
    grids = SampleGrid(tmp_path / "samples", num_examples=2)
    trainer = bare_trainer(grids, train_batches=2, val_batches=1)
    datamodule = hydra.utils.instantiate(cfg.data)
    trainer.fit(hydra.utils.instantiate(cfg.model), datamodule=datamodule)
    assert grids.batch_is_validation
    first_val = next(iter(datamodule.val_dataloader()))
    assert torch.equal(grids.batch["content"], first_val["content"][:2])
    with Image.open(tmp_path / "samples" / "final.png") as grid:
        # 4 columns of 32 px tiles enlarged to 192 px, 2 examples under the labels.
        header = label_strip(["content"], 192, 10).shape[1]
        assert grid.size == (4 * 194 + 2, header + 2 * 194 + 2)
