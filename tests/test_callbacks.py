"""Sample grids: layout, and the fixed validation batch they are drawn from."""

from __future__ import annotations

from pathlib import Path

import hydra
import torch
from PIL import Image

from style_gan.run.callbacks import SampleGrid, make_sample_grid
from tests.conftest import bare_trainer


def test_grid_has_a_row_per_example_and_a_row_of_style_images() -> None:
    images = {name: torch.zeros(4, 3, 8, 8) for name in ("content", "translated", "rec")}
    images["style"] = torch.ones(4, 3, 8, 8)
    grid = make_sample_grid(images)
    # 3 columns and 4 + 1 rows of 8 px tiles with 2 px padding around each.
    assert grid.shape == (3, 5 * 10 + 2, 3 * 10 + 2)
    assert grid.min() >= 0 and grid.max() <= 1


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
        assert grid.size == (3 * 34 + 2, 3 * 34 + 2)  # 32 px tiles: 2 examples + style row
