"""Stylize entry point: ``stylize(cfg)`` for code and tests, ``main`` for the command line.

style-gan-stylize ckpt_path=<run>/checkpoints/last.ckpt input=photo.jpg
style-gan-stylize ckpt_path=... input=photos/ recursive=true output=styled/
style-gan-stylize ckpt_path=<exemplar run> input=photo.jpg style=[monet.png,ink.png] alpha=[0.5,1]
style-gan-stylize ckpt_path=... input=clip.mp4 output=styled.mp4     # sound kept
style-gan-stylize ckpt_path=<dcgan run> num_images=64 seed=3
style-gan-stylize inspect=styled/photo.png
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, ListConfig
from PIL import Image
from rich.progress import track

from style_gan.data.images import IMAGE_EXTENSIONS, InputImage, open_image, printable
from style_gan.errors import ConfigError, DataError, UnreadableImageError, check_choice
from style_gan.files import check_can_create_files
from style_gan.inference.images import find_images, find_inputs, save_image, upright_exif
from style_gan.inference.provenance import provenance_record, read_provenance, write_sidecar
from style_gan.inference.stylizer import Stylizer, check_video_statistics
from style_gan.inference.video import VIDEO_EXTENSIONS, container_format, is_video
from style_gan.run.cli import CONFIG_DIR, one_line_composition_errors, one_line_errors
from style_gan.run.config_values import check_config_values
from style_gan.run.help import answers_help
from style_gan.run.threads import set_cpu_threads

log = logging.getLogger(__name__)

FORMATS = ("png", "jpg", "webp")
# What one input can fail with (a bad file, a failed write, the device out of memory), skipped
# with a line naming it; a ConfigError, wrong for every input, still stops the command.
PER_FILE_FAILURES = (DataError, OSError, RuntimeError, ValueError)


def as_list(value: Any) -> list[Any]:
    """A config value that may be one item or a list, as a list (None = empty)."""
    if value is None:
        return []
    if isinstance(value, ListConfig | list | tuple):
        return list(value)
    return [value]


def check_writable(folder: Path) -> None:
    """A ConfigError unless files can be created in ``folder`` (made if missing)."""
    try:
        check_can_create_files(folder)
    except OSError as error:
        raise ConfigError(
            f"output={folder} cannot be written ({error.strerror}); choose another folder"
        ) from error


def stylize(cfg: DictConfig) -> list[Path]:
    """Write the configured model's outputs for the configured inputs; return their paths."""
    check_config_values(cfg)
    if cfg.get("inspect"):
        record = read_provenance(cfg.inspect)
        if record is None:
            raise DataError(f"{cfg.inspect} holds no style_gan provenance (and has no .json)")
        print(json.dumps(record, indent=2, sort_keys=True))
        return []
    set_cpu_threads(cfg.get("cpu_threads", "auto"))
    suffix = "." + check_choice("format", cfg.format, FORMATS)
    options = dict(
        device=cfg.device,
        precision=cfg.precision,
        tile_size=cfg.tile_size,
        tile_overlap=cfg.tile_overlap,
        thumbnail_side=cfg.thumbnail_side,
        tiles_per_pass=cfg.tiles_per_pass,
        batch_size=cfg.batch_size,
        max_side=cfg.max_side,
        max_pixels=cfg.max_pixels,
    )
    # A folder is a safetensors export, whose direction was chosen when it was exported.
    if Path(cfg.ckpt_path).is_dir():
        stylizer = Stylizer.from_pretrained(cfg.ckpt_path, **options)
    else:
        stylizer = Stylizer.from_checkpoint(cfg.ckpt_path, direction=cfg.direction, **options)
    output = Path(cfg.output) if cfg.get("output") else Path(cfg.paths.output_dir)
    # output=<name>.mp4 names the file one input video is written to.
    video_file = output if is_video(output) else None
    if video_file is not None:
        if not (cfg.get("input") and is_video(cfg.input) and Path(cfg.input).is_file()):
            raise ConfigError(
                f"output={output} names a video file, which takes one input video "
                f"(input={cfg.get('input')}); give output= a folder for several inputs"
            )
        output = video_file.parent
    check_writable(output)
    if stylizer.generator.input == "noise":
        if cfg.get("input") or cfg.get("style"):
            raise ConfigError(f"a {stylizer.method} model generates from noise: no input=/style=")
        writer = OutputWriter(stylizer, output, cfg.overwrite, cfg.provenance, cfg.keep_exif)
        images = stylizer.generate(cfg.num_images, cfg.seed)
        for index, image in enumerate(images):
            name = f"sample_seed{cfg.seed}_{index:04d}{suffix}"
            writer.write(image, output / name, None, [], {"seed": cfg.seed, "index": index})
        return writer.written
    if not cfg.get("input"):
        raise ConfigError("input= is required: an image or video file, a folder or a glob")
    found, unusable = find_inputs(
        cfg.input, recursive=cfg.recursive, extensions=(*IMAGE_EXTENSIONS, *VIDEO_EXTENSIONS)
    )
    videos = [path for path in found if is_video(path)]
    inputs = [path for path in found if not is_video(path)]
    style_paths = find_style_files(cfg.style)
    styles = [open_image(path, cfg.max_pixels) for path in style_paths]
    if stylizer.needs_style and not styles:
        raise ConfigError(f"a {stylizer.method} model needs style=<image> (or a list of them)")
    if styles and not stylizer.needs_style:
        raise ConfigError(f"a {stylizer.method} model learned one style and takes no style=")
    alphas = [float(alpha) for alpha in as_list(cfg.alpha)] or [1.0]
    input_root = Path(cfg.input) if Path(cfg.input).is_dir() else None
    writer = OutputWriter(
        stylizer, output, cfg.overwrite, cfg.provenance, cfg.keep_exif, [*found, *style_paths]
    )
    for path, why in unusable:
        writer.skip(path, why)
    if videos:
        check_video_options(cfg.video, alphas)
        for path in videos:
            for style in styles or [None]:
                target = video_file or output_path(
                    output, path, input_root, style, f".{cfg.video.format}"
                )
                writer.stylize_video(path, style, alphas[0], target, cfg.video)
    chunks = [inputs[i : i + cfg.batch_size] for i in range(0, len(inputs), cfg.batch_size)]
    for chunk in track(chunks, description="stylizing", transient=True, disable=len(chunks) < 2):
        contents = []
        for path in chunk:
            try:
                contents.append(open_image(path, cfg.max_pixels))
            except UnreadableImageError as error:
                writer.skip(path, str(error))
        for style in styles or [None]:
            targets = [
                output_path(output, content.path, input_root, style, suffix) for content in contents
            ]
            writer.stylize(contents, style, alphas, targets, grid=cfg.grid)
    if cfg.grid and writer.written:
        save_image(contact_sheet(writer.written), output / "contact_sheet.png")
    summary = f"wrote {len(writer.written)} file(s) to {output}"
    if writer.skipped:
        summary += f"; skipped {len(writer.skipped)}: {', '.join(writer.skipped)}"
        if not writer.written and not writer.kept:
            raise DataError(f"{summary} (input={cfg.input}); fix or remove the skipped files")
    log.info(summary)
    return writer.written


def output_path(
    output: Path, content: Path, input_root: Path | None, style: InputImage | None, suffix: str
) -> Path:
    """``output/<content's path below input_root>/<stem>[__<style stem>]<suffix>``."""
    relative = content.relative_to(input_root) if input_root else Path(content.name)
    name = relative.stem + ("" if style is None else f"__{style.path.stem}")
    return output / relative.parent / (name + suffix)


def check_video_options(options: DictConfig, alphas: list[float]) -> None:
    """A ConfigError for video settings that are wrong for every clip, before the first."""
    container_format(f".{options.format}")
    check_video_statistics(options.statistics)
    if options.window <= 0:
        raise ConfigError(f"video.window={options.window} must be > 0 seconds")
    if len(alphas) > 1:
        raise ConfigError(
            f"alpha={alphas} makes a strip of strengths, which images have; a video takes one "
            "alpha (run once per strength)"
        )


def find_style_files(style: Any) -> list[Path]:
    return [path for entry in as_list(style) for path in find_images(entry)]


class OutputWriter:
    """Writes outputs atomically with their provenance (and, with ``keep_exif``, the content's
    EXIF); keeps existing ones unless told to overwrite, and never writes over an input. An
    input that fails is skipped with one line naming it, so one bad file never stops a folder.
    """

    def __init__(
        self,
        stylizer: Stylizer,
        output: Path,
        overwrite: bool,
        provenance: bool,
        keep_exif: bool = False,
        inputs: list[Path] | None = None,
    ) -> None:
        self.stylizer = stylizer
        self.keep_exif = keep_exif
        self.inputs = {path.resolve() for path in inputs or []}
        self.output = output
        self.overwrite = overwrite
        self.provenance = provenance
        self.written: list[Path] = []
        self.kept: list[Path] = []
        self.skipped: list[str] = []

    def skip(self, path: Path, why: str) -> None:
        """Count ``path`` as skipped and say why, in one line."""
        name = printable(path.name)
        log.warning("skipping %s: %s", name, why.splitlines()[0] if why else "failed")
        self.skipped.append(name)

    def stylize(
        self,
        contents: list[InputImage],
        style: InputImage | None,
        alphas: list[float],
        targets: list[Path],
        grid: bool = False,
    ) -> None:
        """``contents`` in ``style`` at each of ``alphas`` (a strip when several), to
        ``targets``; those whose target exists are skipped unless overwriting."""
        todo = [
            (c, t) for c, t in zip(contents, targets, strict=True) if not self._keep_existing(t)
        ]
        if not todo:
            return
        try:
            self._stylize(todo, style, alphas, grid)
        except ConfigError:
            raise
        except PER_FILE_FAILURES as error:
            if len(todo) == 1:
                self.skip(todo[0][0].path or todo[0][1], str(error))
                return
            # Which input of the batch failed: the rest on their own.
            for content, target in todo:
                if target not in self.written:
                    self.stylize([content], style, alphas, [target], grid)

    def stylize_video(
        self,
        path: Path,
        style: InputImage | None,
        alpha: float,
        target: Path,
        options: DictConfig,
    ) -> None:
        """The clip ``path`` stylized into ``target`` with its sound (see
        ``Stylizer.stylize_video``); a clip that fails is skipped with one line."""
        if self._keep_existing(target):
            return
        styles = [] if style is None else [style.path]
        settings = {
            "statistics": options.statistics,
            "window": options.window,
            "cut_threshold": options.cut_threshold,
            "codec": options.codec,
            **({} if style is None else {"alpha": alpha}),
        }
        record = self._provenance(path, styles, settings)
        try:
            info = self.stylizer.stylize_video(
                path,
                target,
                statistics=options.statistics,
                window_seconds=options.window,
                cut_threshold=options.cut_threshold,
                codec=options.codec,
                pixel_format=options.pixel_format,
                codec_options=dict(options.codec_options or {}),
                style=None if style is None else style.rgb,
                alpha=alpha,
                metadata=record,
                progress=True,
            )
        except ConfigError:
            raise
        except PER_FILE_FAILURES as error:
            self.skip(path, str(error))
            return
        if record is not None:
            write_sidecar(target, record)
        log.info(
            "wrote %s: %d×%d at %.3g frames/s, %d audio stream(s) copied",
            target,
            info.width,
            info.height,
            float(info.frame_rate),
            info.audio_streams,
        )
        self.written.append(target)

    def _stylize(
        self,
        todo: list[tuple[InputImage, Path]],
        style: InputImage | None,
        alphas: list[float],
        grid: bool,
    ) -> None:
        pending = [content for content, _ in todo]
        per_alpha = [self.stylizer.stylize_many(pending, style, alpha) for alpha in alphas]
        styles = [] if style is None else [style.path]
        settings = {} if style is None else {"alpha": alphas}
        for index, (content, target) in enumerate(todo):
            results = [results[index] for results in per_alpha]
            image = results[0] if len(results) == 1 else strip(results)
            self.write(image, target, content.path, styles, settings)
            if grid:
                sources = [content.rgb] + ([] if style is None else [style.rgb])
                row = [fit_height(i, image.height) for i in sources] + [image.convert("RGB")]
                save_image(strip(row), target.with_name(f"{target.stem}__grid.png"))

    def write(
        self,
        image: Image.Image,
        target: Path,
        content: Path | None,
        styles: list[Path],
        settings: dict[str, Any],
    ) -> None:
        if self._keep_existing(target):
            return
        record = self._provenance(content, styles, settings)
        exif = upright_exif(content) if self.keep_exif and content is not None else None
        save_image(image, target, record, exif)
        if record is not None:
            write_sidecar(target, record)
        self.written.append(target)

    def _provenance(
        self, content: Path | None, styles: list[Path], settings: dict[str, Any]
    ) -> dict[str, Any] | None:
        """What made an output of ``content`` (None unless provenance is on)."""
        if not self.provenance:
            return None
        generator = self.stylizer.generator
        return provenance_record(
            generator.method,
            generator.checkpoint,
            generator.batches,
            generator.direction,
            content,
            styles,
            {**settings, **self.stylizer.settings()},
        )

    def _keep_existing(self, target: Path) -> bool:
        if target.resolve() in self.inputs:
            raise ConfigError(f"{target} is an input; choose an output= folder of its own")
        if target.exists() and not self.overwrite:
            log.info("keeping the existing %s (overwrite=true replaces it)", target)
            self.kept.append(target)
            return True
        return False


def fit_height(image: Image.Image, height: int) -> Image.Image:
    width = max(1, round(image.width * height / image.height))
    return image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)


def contact_sheet(paths: list[Path], cell: int = 192, columns: int = 6) -> Image.Image:
    """Thumbnails of ``paths`` (at most ``cell`` px a side) in rows of ``columns``."""
    rows = -(-len(paths) // columns)
    sheet = Image.new("RGB", (cell * min(columns, len(paths)), cell * rows), "white")
    for index, path in enumerate(paths):
        with Image.open(path) as image:
            thumbnail = image.convert("RGB")
        thumbnail.thumbnail((cell, cell), Image.Resampling.LANCZOS)
        row, column = divmod(index, columns)
        sheet.paste(thumbnail, (column * cell, row * cell))
    return sheet


def strip(images: list[Image.Image]) -> Image.Image:
    """Images side by side, left to right (one per alpha)."""
    width = sum(image.width for image in images)
    sheet = Image.new(images[0].mode, (width, max(image.height for image in images)))
    left = 0
    for image in images:
        sheet.paste(image, (left, 0))
        left += image.width
    return sheet


@answers_help("style-gan-stylize")
@one_line_composition_errors
@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="stylize")
@one_line_errors
def main(cfg: DictConfig) -> None:
    stylize(cfg)


if __name__ == "__main__":
    main()
