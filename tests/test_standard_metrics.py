"""Inception FID/KID, LPIPS and ArtFID: the real loading code on weight files the tests write."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from style_gan.errors import CheckpointError
from style_gan.metrics.standard import inception_fid, inception_kid, lpips
from style_gan.metrics.suite import MetricSuite

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture
def torch_home(fake_torch_home: Path, monkeypatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(fake_torch_home))
    return fake_torch_home


def images(seed: int, count: int = 4) -> torch.Tensor:
    """Generator-range images (B, 3, 64, 64) in [-1, 1]."""
    return torch.rand(count, 3, 64, 64, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_missing_weights_fail_in_one_line_naming_file_folder_and_source(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(CheckpointError) as fid_error:
        inception_fid()
    message = str(fid_error.value)
    assert "weights-inception-2015-12-05-6726825d.pth not found in" in message
    assert str(tmp_path / "hub" / "checkpoints") in message and "https://" in message
    assert "\n" not in message
    with pytest.raises(CheckpointError, match=r"LPIPS alex backbone weights alexnet-owt"):
        lpips()
    with pytest.raises(CheckpointError, match=r"not found in .*elsewhere"):
        inception_fid(weights=tmp_path / "elsewhere" / "inception.pth")


def test_fid_and_kid_are_near_zero_for_a_set_and_itself(torch_home) -> None:
    same, other = images(0), images(1) * 0.2
    suite = MetricSuite(style={"fid": inception_fid(), "kid": inception_kid(subset_size=3)})
    suite.update(translated=same, content=same, style=same)
    itself = suite.compute()
    suite = MetricSuite(style={"fid": inception_fid(), "kid": inception_kid(subset_size=3)})
    suite.update(translated=other, content=same, style=same)
    different = suite.compute()
    assert abs(itself["fid"]) < 1e-3 * different["fid"] and different["fid"] > 0
    assert abs(itself["kid"]) < different["kid"]


def test_lpips_is_zero_for_identical_images(torch_home) -> None:
    metric = lpips()
    x = (images(0) + 1) / 2
    metric.update(x, x)
    assert metric.compute().item() == pytest.approx(0.0, abs=1e-6)
    metric.reset()
    metric.update(x, (images(1) + 1) / 2)
    assert metric.compute().item() > 0


def test_artfid_is_its_formula_of_the_same_lpips_and_fid(torch_home) -> None:
    suite = MetricSuite(
        style={"fid": inception_fid()},
        content={"lpips_content": lpips()},
        artfid={"lpips": "lpips_content", "fid": "fid"},
    )
    suite.update(translated=images(1), content=images(0), style=images(2))
    values = suite.compute()
    assert values["artfid"] == pytest.approx((1 + values["lpips_content"]) * (1 + values["fid"]))
    assert values["artfid_best"] == values["artfid"]
    assert suite.weights_used()["fid"].startswith("Inception-v3 FID weights (")


def test_artfid_must_name_metrics_of_the_suite() -> None:
    from style_gan.errors import ConfigError

    with pytest.raises(ConfigError, match="must name a content LPIPS metric"):
        MetricSuite(artfid={"lpips": "lpips_content", "fid": "fid"})
