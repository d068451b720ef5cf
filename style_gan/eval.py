"""Evaluation entry point: ``evaluate(cfg)`` for code and tests, ``main`` for the command line.

style-gan-eval ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt
style-gan-eval ckpt_path=... data=unpaired data.root=/datasets/horse2zebra metrics=[fd_effnet]
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from omegaconf import DictConfig

from style_gan.errors import CheckpointError, ConfigError, check_choice
from style_gan.methods.base import GanMethod
from style_gan.metrics.suite import MetricSuite
from style_gan.run.checkpoints import read_checkpoint, stored_model_config
from style_gan.run.cli import CONFIG_DIR, one_line_composition_errors, one_line_errors
from style_gan.run.config_values import check_config_values
from style_gan.run.help import answers_help
from style_gan.run.instantiate import check_target_keys, instantiate_group
from style_gan.run.stored_config import MODEL_KINDS, build_stored, stored_class
from style_gan.run.threads import set_cpu_threads

log = logging.getLogger(__name__)

# Below this many images a Fréchet distance or KID is mostly sampling noise (FD is also biased
# upward, more the fewer images): it ranks nothing.
MIN_DISTRIBUTION_IMAGES = 50


def load_trained_model(ckpt_path: str | Path) -> GanMethod:
    """The model a style_gan checkpoint was trained as, rebuilt from the config it stores: a
    style_gan method and only the networks, objectives and optimizers ``stored_config`` lists."""
    checkpoint = read_checkpoint(ckpt_path)
    config = stored_model_config(checkpoint, ckpt_path)
    source = f"checkpoint {ckpt_path}"
    stored_class(config["_target_"], source, "method", "model")
    model = build_stored(config, source, MODEL_KINDS, "model")
    if not isinstance(model, GanMethod):
        raise CheckpointError(f"checkpoint {ckpt_path}'s stored model is no style_gan method")
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()


def evaluate_model(
    model: GanMethod,
    loader: Any,
    metrics: MetricSuite,
    device: torch.device,
) -> tuple[dict[str, float], int]:
    """Translate every batch of ``loader`` and score it; returns (values, number of images)."""
    model.to(device)
    metrics.to(device)
    count = 0
    with torch.no_grad():
        for batch in loader:
            batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
            metrics.update(
                model.translate(batch), batch["content"], batch["style"], batch.get("target")
            )
            count += batch["content"].shape[0]
    values = {k: v for k, v in metrics.compute().items() if not k.endswith("_best")}
    return values, count


def markdown_report(values: dict[str, float], weights: dict[str, str], images: int) -> str:
    """A short table: metric, value, number of images, weights used."""
    lines = ["| metric | value | images | weights |", "| --- | --- | --- | --- |"]
    for name, value in values.items():
        base = name.split("/")[0]
        lines.append(f"| {name} | {value:.4f} | {images} | {weights.get(base, 'none')} |")
    return "\n".join(lines) + "\n"


def distribution_metrics(values: dict[str, float], metrics: MetricSuite) -> list[str]:
    """The metrics among ``values`` that compare the outputs' distribution with the style
    images' (FD, FID, KID, ArtFID): the suite's style group and what is built on it."""
    style = {*metrics.style, "artfid"}
    return sorted({name.split("/")[0] for name in values if name.split("/")[0] in style})


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Score a checkpoint on a split with the configured metrics; write report.json/.md."""
    check_target_keys(cfg)
    check_config_values(cfg)
    set_cpu_threads(cfg.get("cpu_threads", "auto"))
    split = check_choice("split", cfg.split, ("test", "val"))
    device_name = check_choice("device", cfg.device, ("auto", "cpu", "cuda"))
    if device_name == "auto":
        device_name = "cuda" if torch.cuda.is_available() else "cpu"
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed)
    metrics = hydra.utils.instantiate(cfg.metrics) if cfg.get("metrics") else None
    if not metrics:
        raise ConfigError("no metrics selected; choose some, e.g. metrics=[fd_effnet,semantic]")
    model = load_trained_model(cfg.ckpt_path)
    datamodule: L.LightningDataModule = hydra.utils.instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("test")
    loader = datamodule.test_dataloader() if split == "test" else datamodule.val_dataloader()
    if not loader:
        raise ConfigError(f"the data has no {split} split (no {split}A/ and {split}B/ folders)")
    values, images = evaluate_model(model, loader, metrics, torch.device(device_name))
    too_few = distribution_metrics(values, metrics) if images < MIN_DISTRIBUTION_IMAGES else []
    if too_few:
        log.warning(
            "%s over only %d images mean little (fewer than %d: sampling noise dominates); "
            "compare them only between runs on the same images",
            ", ".join(too_few),
            images,
            MIN_DISTRIBUTION_IMAGES,
        )
    report = {
        "checkpoint": str(Path(cfg.ckpt_path).resolve()),
        "split": split,
        "images": images,
        "metrics": values,
        "weights": metrics.weights_used(),
    }
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown_report(values, report["weights"], images)
    (output_dir / "report.md").write_text(table)
    for logger in instantiate_group(cfg.get("logger")):
        logger.log_metrics({f"eval/{k}": v for k, v in values.items()})
        logger.save()
    log.info("evaluation of %s on %d images:\n%s", cfg.ckpt_path, images, table)
    return report


@answers_help("style-gan-eval")
@one_line_composition_errors
@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="eval")
@one_line_errors
def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    main()
