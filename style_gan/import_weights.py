"""Import entry point: ``import_weights(cfg)`` for code and tests, ``main`` for the command
line.

style-gan-import input=latest_net_G_A.pth format=cyclegan output=horse2zebra/
style-gan-import input=latest_net_G.pth format=pix2pix
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig

from style_gan.errors import ConfigError
from style_gan.inference.classic_weights import import_classic
from style_gan.inference.export import export_safetensors
from style_gan.run.cli import CONFIG_DIR, one_line_composition_errors, one_line_errors
from style_gan.run.help import answers_help

log = logging.getLogger(__name__)


def import_weights(cfg: DictConfig) -> Path:
    """Write the configured classic generator file as a safetensors export; return the folder."""
    generator = import_classic(cfg.input, cfg.format)
    output = Path(cfg.output) if cfg.get("output") else Path(cfg.paths.output_dir) / "generator"
    if output.exists() and not cfg.overwrite:
        raise ConfigError(f"output={output} exists; choose another output= or set overwrite=true")
    export_safetensors(generator, output)
    name = generator.config["_target_"].rsplit(".", 1)[-1]
    log.info("imported %s (%s, %s) into %s", cfg.input, name, generator.config["norm"], output)
    print(output)
    return output


@answers_help("style-gan-import")
@one_line_composition_errors
@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="import")
@one_line_errors
def main(cfg: DictConfig) -> None:
    import_weights(cfg)


if __name__ == "__main__":
    main()
