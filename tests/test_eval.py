"""style-gan-eval: a checkpoint trained for 2 batches scored on the demo's paired test split."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from style_gan.errors import CheckpointError
from style_gan.eval import evaluate
from style_gan.train import train
from tests.conftest import compose_config


@pytest.fixture
def trained_checkpoint(train_config, tmp_path: Path) -> Path:
    train(train_config(run_dir=tmp_path / "train"))
    return tmp_path / "train" / "checkpoints" / "last.ckpt"


def test_eval_writes_json_and_markdown_reports(trained_checkpoint, tmp_path, data_dir) -> None:
    run = tmp_path / "eval"
    cfg = compose_config(
        "eval",
        [f"ckpt_path={trained_checkpoint}", "data.image_size=32", "data.eval_batch_size=16"],
        run,
        data_dir,
    )
    report = evaluate(cfg)
    saved = json.loads((run / "report.json").read_text())
    assert saved == json.loads(json.dumps(report))
    assert saved["images"] == 48 and saved["split"] == "test"
    expected = {
        "fd_effnet",
        "kid_effnet",
        "semantic/cosine",
        "semantic/class_agreement",
        "ssim",
        "psnr",
    }
    assert set(saved["metrics"]) == expected
    assert saved["weights"]["fd_effnet"].startswith("EfficientNet-Lite0")
    assert saved["weights"]["psnr"] == "none"
    table = (run / "report.md").read_text()
    assert "| metric | value | images | weights |" in table and "| psnr |" in table
    assert (run / "csv" / "metrics.csv").read_text().count("eval/fd_effnet") == 1


@pytest.mark.parametrize(
    ("metrics", "warned"),
    [("[fd_effnet,kid_effnet,ssim]", "fd_effnet, kid_effnet"), ("[ssim]", None)],
)
def test_eval_says_only_what_concerns_evaluation_and_warns_of_too_few_images(
    trained_checkpoint, tmp_path, data_dir, caplog, metrics: str, warned: str | None
) -> None:
    cfg = compose_config(
        "eval",
        [f"ckpt_path={trained_checkpoint}", "data.image_size=32", f"metrics={metrics}"],
        tmp_path / "eval",
        data_dir,
    )
    caplog.set_level(logging.INFO)
    caplog.clear()  # training's lines
    assert evaluate(cfg)["images"] == 48
    said = [record.getMessage() for record in caplog.records]
    # Which split validates, and training processes, concern training alone.
    assert not [line for line in said if "validat" in line or "training process" in line], said
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if warned is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and "\n" not in warnings[0]
        assert warnings[0].startswith(f"{warned} over only 48 images mean little (fewer than 50")


def test_eval_refuses_a_checkpoint_without_a_stored_config(
    trained_checkpoint, tmp_path, data_dir
) -> None:
    checkpoint = torch.load(trained_checkpoint, weights_only=True)
    del checkpoint["style_gan_config"]
    foreign = tmp_path / "foreign.ckpt"
    torch.save(checkpoint, foreign)
    cfg = compose_config(
        "eval", [f"ckpt_path={foreign}", "data.image_size=32"], tmp_path / "e", data_dir
    )
    with pytest.raises(CheckpointError, match="stores no style_gan model config"):
        evaluate(cfg)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ([], "error: ckpt_path is required"),
        (["ckpt_path=/no/such.ckpt"], "error: checkpoint /no/such.ckpt does not exist"),
        (["ckpt_path=x.ckpt", "split=train"], "error: split='train' is not allowed"),
    ],
)
def test_eval_command_line_errors_are_one_line(
    tmp_path: Path, overrides: list[str], message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "style_gan.eval", *overrides],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env={**os.environ, "STYLE_GAN_ROOT": str(tmp_path)},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(message), result.stderr[-1500:]
