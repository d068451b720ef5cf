"""Studio entry point: ``studio(cfg)`` for code and tests, ``main`` for the command line.

style-gan-studio                                   # lists the models under logs/, on 127.0.0.1:7860
style-gan-studio ckpt_path=<run>/checkpoints/last.ckpt port=7870   # and opens with that one
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import hydra
from omegaconf import DictConfig, ListConfig

from style_gan.errors import ConfigError
from style_gan.inference.stylizer import resolve_device
from style_gan.run.cli import CONFIG_DIR, one_line_composition_errors, one_line_errors
from style_gan.run.help import answers_help
from style_gan.studio.examples import write_examples
from style_gan.studio.session import RefineSettings
from style_gan.studio.uploads import UploadLimits

log = logging.getLogger(__name__)

STUDIO_EXTRA = 'pip install -c constraints.txt -e ".[studio]"'


def studio(cfg: DictConfig) -> None:
    """Serve the studio page until interrupted."""
    paths = cfg.ckpt_path if isinstance(cfg.ckpt_path, ListConfig) else [cfg.ckpt_path]
    given = [Path(path) for path in paths if path]
    for path in given:
        if not path.exists():
            raise ConfigError(f"ckpt_path={path} does not exist; give a .ckpt or an export folder")
    if not 1 <= cfg.port <= 65535:
        raise ConfigError(f"port={cfg.port} must be 1 to 65535")
    upload_dir = Path(cfg.upload_dir).resolve()
    upload_dir.mkdir(parents=True, exist_ok=True)
    # Gradio stores uploads under GRADIO_TEMP_DIR (read as the page is built and served): a
    # folder of the studio's own, not the /tmp/gradio every Gradio app on the machine shares,
    # is what the page accepts uploads from.
    os.environ["GRADIO_TEMP_DIR"] = str(upload_dir)
    try:
        from style_gan.studio.page import PAGE_CSS, StudioSettings, build_page, theme
    except ImportError as error:
        raise ConfigError(
            f"the studio needs the studio extra ({error.name} is missing): {STUDIO_EXTRA}"
        ) from error
    output = Path(cfg.paths.output_dir)
    limits = UploadLimits(
        max_bytes=int(cfg.max_upload_mb * 2**20), max_pixels=cfg.max_pixels, min_side=cfg.min_side
    )
    settings = StudioSettings(
        logs_dir=Path(cfg.paths.log_dir),
        sessions_dir=Path(cfg.sessions_dir),
        examples=write_examples(output / "examples"),
        given_models=given,
        upload_dir=upload_dir,
        device=str(resolve_device(cfg.device)),
        limits=limits,
        tile_size=cfg.tile_size,
        refine=RefineSettings(
            max_side=cfg.refine.max_side, crop_side=cfg.refine.crop_side, lr=cfg.refine.lr
        ),
        refine_steps=cfg.refine.steps,
    )
    page = build_page(settings)
    # Gradio logs each of its own start-up requests to itself at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if cfg.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("the studio listens on %s: anyone who can reach it can use it", cfg.host)
    log.info("the studio: http://%s:%d (Ctrl-C stops it)", cfg.host, cfg.port)
    page.queue(default_concurrency_limit=1).launch(
        server_name=cfg.host,
        server_port=cfg.port,
        max_file_size=limits.max_bytes,
        allowed_paths=[str(Path(cfg.sessions_dir).resolve()), str((output / "examples").resolve())],
        theme=theme(),
        css=PAGE_CSS,
        ssr_mode=False,
        share=False,
        show_error=False,
        quiet=True,
        footer_links=[],
    )


@answers_help("style-gan-studio")
@one_line_composition_errors
@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="studio")
@one_line_errors
def main(cfg: DictConfig) -> None:
    studio(cfg)


if __name__ == "__main__":
    main()
