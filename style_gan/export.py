"""Export entry point: ``export(cfg)`` for code and tests, ``main`` for the command line.

style-gan-export ckpt_path=<run>/checkpoints/last.ckpt                 # safetensors folder
style-gan-export ckpt_path=... format=onnx output=horse2zebra.onnx
style-gan-export ckpt_path=... format=torchscript direction=BA
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig

from style_gan.errors import ConfigError, check_choice
from style_gan.inference.export import (
    FORMATS,
    export_onnx,
    export_safetensors,
    export_torchscript,
)
from style_gan.inference.generator import load_generator
from style_gan.run.cli import CONFIG_DIR, one_line_composition_errors, one_line_errors
from style_gan.run.help import answers_help

log = logging.getLogger(__name__)

SUFFIXES = {"safetensors": "", "torchscript": ".pt", "onnx": ".onnx"}
WRITERS = {
    "safetensors": export_safetensors,
    "torchscript": export_torchscript,
    "onnx": export_onnx,
}


def export(cfg: DictConfig) -> Path:
    """Write the configured checkpoint's generator in the configured format; return where."""
    kind = check_choice("format", cfg.format, FORMATS)
    generator = load_generator(cfg.ckpt_path, cfg.direction)
    default = Path(cfg.paths.output_dir) / f"generator_{cfg.direction}{SUFFIXES[kind]}"
    output = Path(cfg.output) if cfg.get("output") else default
    if output.exists() and not cfg.overwrite:
        raise ConfigError(f"output={output} exists; choose another output= or set overwrite=true")
    if kind == "safetensors" and output.is_file():
        raise ConfigError(f"output={output} is a file; format=safetensors writes a folder")
    WRITERS[kind](generator, output)
    log.info("wrote the %s %s generator of %s to %s", generator.method, kind, cfg.ckpt_path, output)
    print(output)
    return output


@answers_help("style-gan-export")
@one_line_composition_errors
@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="export")
@one_line_errors
def main(cfg: DictConfig) -> None:
    export(cfg)


if __name__ == "__main__":
    main()
