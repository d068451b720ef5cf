"""The Python API for using a trained model: ``Stylizer.from_checkpoint(path)(image)``.

from style_gan import Stylizer
stylizer = Stylizer.from_checkpoint("logs/train/runs/<run>/checkpoints/last.ckpt")
result = stylizer("photo.jpg")                      # a PIL image of the photo's size
result = stylizer("photo.jpg", style="monet.png", alpha=0.7)   # an exemplar model
stylizer.stylize_video("clip.mp4", "styled.mp4")    # sound kept, statistics shared
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from style_gan.data.images import DEFAULT_MAX_PIXELS, InputImage
from style_gan.errors import ConfigError
from style_gan.inference.frame_statistics import shared_statistics
from style_gan.inference.generator import TrainedGenerator, load_generator, load_pretrained
from style_gan.inference.images import as_input_image
from style_gan.inference.tiling import (
    Statistics,
    downscale,
    has_instance_norm,
    norm_statistics,
    pad_to_multiple,
    pooled_statistics,
    run_padded,
    run_tiled,
    tiles_needed,
)
from style_gan.inference.video import Frame, VideoInfo, VideoReader, write_video
from style_gan.precision import cpu_has_native_bf16
from style_gan.ranges import to_uint8

PRECISIONS = {"32-true": None, "bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}
# A generator that fails on a blank square this large fails for another reason than its size.
MAX_PROBE_SIDE = 1024
# How a video's frames are normalised: statistics pooled over a sliding window of frames
# (restarting at scene cuts), over the whole clip, or each frame's own (which flickers).
VIDEO_STATISTICS = ("window", "clip", "frame")
# Frames measured per window (or per clip) for its pooled statistics.
SAMPLES_PER_WINDOW = 8
SAMPLES_PER_CLIP = 64


def resolve_device(device: str | torch.device) -> torch.device:
    """``auto``: CUDA, else Apple's MPS, else the CPU; anything else as torch reads it."""
    if str(device) != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class Stylizer:
    """A trained generator applied to images of any size and aspect.

    Images are padded to the multiple and the smallest side the generator needs (reflected,
    or edge-replicated for images too thin to reflect) and cropped back; an image
    of more than ``tile_size``² pixels is run in tiles overlapping by ``tile_overlap`` pixels,
    cross-faded, with every instance norm fed the statistics of the whole image (measured on a
    copy downscaled to ``thumbnail_side``), so tiles show no seams or colour shifts.
    ``max_side`` (None = keep) first downsizes larger inputs; ``max_pixels`` refuses bigger
    files. ``batch_size`` same-size inputs that fit one pass go through the generator at once
    (a list given to ``__call__``). ``precision``: 32-true, bf16-mixed or 16-mixed (CUDA only).
    """

    def __init__(
        self,
        generator: TrainedGenerator,
        device: str | torch.device = "cpu",
        precision: str = "32-true",
        tile_size: int = 512,
        tile_overlap: int = 128,
        thumbnail_side: int = 1024,
        tiles_per_pass: int = 1,
        batch_size: int = 1,
        max_side: int | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        if precision not in PRECISIONS:
            raise ConfigError(
                f"precision={precision!r} is not allowed; choose one of: {', '.join(PRECISIONS)}"
            )
        self.device = resolve_device(device)
        if precision == "16-mixed" and self.device.type != "cuda":
            raise ConfigError(
                f"precision=16-mixed needs a CUDA device, this is {self.device.type}; "
                "use bf16-mixed or 32-true"
            )
        if precision == "bf16-mixed" and self.device.type == "cpu" and not cpu_has_native_bf16():
            raise ConfigError(
                "precision=bf16-mixed: this CPU has no native bf16 convolutions, and torch's "
                "fallback ran them ~100x slower than 32-true (benchmarks/README.md); use 32-true"
            )
        for name, value in (("tile_size", tile_size), ("thumbnail_side", thumbnail_side)):
            if value < 16:
                raise ConfigError(f"{name}={value} must be at least 16 pixels")
        if min(tiles_per_pass, batch_size) < 1 or tile_overlap < 0 or (max_side or 1) < 1:
            raise ConfigError(
                f"tile_overlap={tile_overlap} must be >= 0, tiles_per_pass={tiles_per_pass} "
                f"and batch_size={batch_size} >= 1, max_side={max_side} >= 1 (or null)"
            )
        self.generator = generator
        self.module = generator.module.to(self.device)
        self.precision = precision
        self.tile_size = tile_size
        self.tile_overlap = tile_overlap
        self.thumbnail_side = thumbnail_side
        self.tiles_per_pass = tiles_per_pass
        self.batch_size = batch_size
        self.max_side = max_side
        self.max_pixels = max_pixels
        self._min_side: int | None = None

    @classmethod
    def from_checkpoint(
        cls, path: str | Path, device: str | torch.device = "auto", direction: str = "AB", **options
    ) -> Stylizer:
        """The generator of a style_gan checkpoint alone (EMA weights where the run kept them);
        ``options`` are the constructor's."""
        return cls(load_generator(path, direction), device=device, **options)

    @classmethod
    def from_pretrained(
        cls, folder: str | Path, device: str | torch.device = "auto", **options
    ) -> Stylizer:
        """The generator of a safetensors export folder (``style-gan-export
        format=safetensors``), loaded without unpickling anything; ``options`` are the
        constructor's."""
        return cls(load_pretrained(folder), device=device, **options)

    def settings(self) -> dict[str, Any]:
        """What besides the model and the inputs shapes an output (for its provenance)."""
        return {
            "precision": self.precision,
            "max_side": self.max_side,
            "tile_size": self.tile_size,
            "tile_overlap": self.tile_overlap,
            "thumbnail_side": self.thumbnail_side,
        }

    @property
    def method(self) -> str:
        return self.generator.method

    @property
    def needs_style(self) -> bool:
        return self.generator.input == "image_and_style"

    def __call__(self, image: Any, style: Any = None, alpha: float = 1.0) -> Any:
        """``image`` (a path, PIL image or HWC uint8 array, or a list of them) in the learned
        style: a PIL image of the input's size (RGBA when the input had alpha), or a list.
        ``style`` and ``alpha`` (1 = the exemplar's style, 0 = the content's own) are for the
        exemplar method."""
        if self.generator.input == "noise":
            raise ConfigError(
                f"a {self.method} model generates from noise and takes no image; "
                "use Stylizer.generate(num_images, seed)"
            )
        if self.needs_style and style is None:
            raise ConfigError(f"a {self.method} model needs a style image: style=<image>")
        if not self.needs_style and style is not None:
            raise ConfigError(f"a {self.method} model learned one style and takes no style=")
        style_image = None if style is None else as_input_image(style, self.max_pixels)
        if isinstance(image, list | tuple):
            inputs = [as_input_image(i, self.max_pixels) for i in image]
            return self.stylize_many(inputs, style_image, alpha)
        return self.stylize(as_input_image(image, self.max_pixels), style_image, alpha)

    def stylize(
        self, content: InputImage, style: InputImage | None = None, alpha: float = 1.0
    ) -> Image.Image:
        """One read input (see ``__call__``) in the learned style."""
        return self.stylize_many([content], style, alpha)[0]

    @torch.no_grad()
    def stylize_many(
        self, contents: list[InputImage], style: InputImage | None = None, alpha: float = 1.0
    ) -> list[Image.Image]:
        """Several read inputs, in order; up to ``batch_size`` inputs of the same size that fit
        one pass go through the generator together, larger ones tile by tile."""
        tensors = [self._tensor(self._downsized(content.rgb)) for content in contents]
        style_image = None if style is None else self._thumbnail(self._tensor(style.rgb))
        same_size: dict[tuple[int, int], list[int]] = {}
        for index, x in enumerate(tensors):
            same_size.setdefault(tuple(x.shape[-2:]), []).append(index)
        multiple = getattr(self.module, "size_multiple", 1)
        min_side = self._smallest_side()
        if style_image is not None:
            style_image = pad_to_multiple(style_image, 1, min_side)
        outputs: list[torch.Tensor | None] = [None] * len(contents)
        with self._autocast():
            for (height, width), indices in same_size.items():
                tiled = tiles_needed(height, width, self.tile_size)
                step = 1 if tiled else self.batch_size
                for first in range(0, len(indices), step):
                    group = indices[first : first + step]
                    batch = torch.cat([tensors[index] for index in group])
                    translate = self._translate_function(batch, style_image, alpha, min_side)
                    result = (
                        self._tiled(translate, batch, min_side)
                        if tiled
                        else run_padded(translate, batch, multiple, min_side)
                    )
                    for index, y in zip(group, result, strict=True):
                        outputs[index] = y[None]
        return [self._image(y, content) for y, content in zip(outputs, contents, strict=True)]

    def stylize_frames(
        self,
        frames: Iterable[np.ndarray],
        statistics: str | Statistics = "window",
        window: int = 49,
        cut_threshold: float | None = 0.6,
        style: Any = None,
        alpha: float = 1.0,
    ) -> Iterator[np.ndarray]:
        """Video frames (HWC uint8 RGB arrays of one size, in order) in the learned style,
        streamed. ``statistics``: ``window`` normalises each frame with the statistics of the
        ``window`` frames around it (a new set after a scene cut: consecutive frames whose
        normalised grey thumbnails differ by more than ``cut_threshold``, None = never),
        ``frame`` with its own (flickers), ``clip`` with one set for all (``frames`` a list,
        read twice), or the ``Statistics`` of ``clip_statistics``."""
        if isinstance(statistics, str) and check_video_statistics(statistics) == "clip":
            if not isinstance(frames, Sequence):
                raise ConfigError(
                    "statistics='clip' reads the frames twice: give them as a list, or pass "
                    "statistics=stylizer.clip_statistics(frames) made from a first pass"
                )
            stride = max(1, len(frames) // SAMPLES_PER_CLIP)
            statistics = self.clip_statistics(frames, stride, style, alpha)
        items = (Frame(pixels, None) for pixels in frames)
        for _, output in self._stylized_frames(
            items, statistics, window, cut_threshold, style, alpha
        ):
            yield output

    def clip_statistics(
        self, frames: Iterable[np.ndarray], stride: int = 1, style: Any = None, alpha: float = 1.0
    ) -> Statistics:
        """The instance-norm statistics of every ``stride``-th of ``frames`` pooled: one set
        for a whole clip, for ``stylize_frames(..., statistics=...)``."""
        frames = iter(frames)
        first = next(frames, None)
        if first is None:
            raise ConfigError("clip_statistics needs at least one frame")
        measure = self._frame_measure(self._frame_translation(first, style, alpha))
        sampled = itertools.islice(itertools.chain([first], frames), 0, None, stride)
        return pooled_statistics([measure(pixels) for pixels in sampled])

    def stylize_video(
        self,
        source: str | Path,
        target: str | Path,
        statistics: str = "window",
        window_seconds: float = 2.0,
        cut_threshold: float | None = 0.6,
        codec: str = "libx264",
        pixel_format: str = "yuv420p",
        codec_options: dict[str, str] | None = None,
        style: Any = None,
        alpha: float = 1.0,
        metadata: dict[str, Any] | None = None,
        progress: bool = False,
    ) -> VideoInfo:
        """The clip ``source`` stylized into ``target`` (its suffix picks the container),
        streamed: every frame at its own time (variable rates kept), upright, with the audio
        copied unchanged; written beside ``target`` and renamed at the end, so an interrupted
        run leaves no half file. ``statistics``: ``window`` (over ``window_seconds`` around each
        frame, restarting at scene cuts), ``clip`` (one set: a first pass samples the clip) or
        ``frame``; ``metadata`` goes into the container. Returns the source's ``VideoInfo``."""
        check_video_statistics(statistics)
        shared: str | Statistics = statistics
        with VideoReader(source) as reader:
            info = reader.info
            if statistics == "clip" and has_instance_norm(self.module):
                with VideoReader(source) as first_pass:
                    stride = max(1, info.frames // SAMPLES_PER_CLIP)
                    pixels = (frame.pixels for frame in first_pass.frames())
                    shared = self.clip_statistics(pixels, stride, style, alpha)
            window = info.frames_in(window_seconds)

            def stylized(frames: Iterable[Frame]) -> Iterator[tuple[Frame, np.ndarray]]:
                return self._stylized_frames(frames, shared, window, cut_threshold, style, alpha)

            write_video(
                reader,
                Path(target),
                stylized,
                codec,
                pixel_format,
                codec_options,
                metadata,
                progress,
                self.output_size(info.width, info.height),
            )
        return info

    @torch.no_grad()
    def _stylized_frames(
        self,
        frames: Iterable[Frame],
        statistics: str | Statistics,
        window: int,
        cut_threshold: float | None,
        style: Any,
        alpha: float,
    ) -> Iterator[tuple[Frame, np.ndarray]]:
        """Each frame with its stylized pixels, ``batch_size`` frames per pass (one at a time,
        in tiles, when larger than ``tile_size``²)."""
        frames = iter(frames)
        first = next(frames, None)
        if first is None:
            return
        frames = itertools.chain([first], frames)
        translate = self._frame_translation(first.pixels, style, alpha)
        if statistics == "frame" or not has_instance_norm(self.module):
            paired = ((frame, None) for frame in frames)
        elif statistics == "window":
            half = window // 2
            paired = shared_statistics(
                frames,
                lambda frame: frame.pixels,
                self._frame_measure(translate),
                half,
                max(1, window // SAMPLES_PER_WINDOW),
                cut_threshold,
            )
        else:
            paired = ((frame, statistics) for frame in frames)
        width, height = self.output_size(first.pixels.shape[1], first.pixels.shape[0])
        step = 1 if tiles_needed(height, width, self.tile_size) else self.batch_size
        group: list[tuple[Frame, Statistics | None]] = []
        for pair in paired:
            group.append(pair)
            if len(group) == step:
                yield from self._stylize_group(group, translate)
                group = []
        if group:
            yield from self._stylize_group(group, translate)

    def _stylize_group(
        self, group: list[tuple[Frame, Statistics | None]], translate: Callable
    ) -> Iterator[tuple[Frame, np.ndarray]]:
        """Frames of one size through one pass, each normalised with its statistics (None:
        its own)."""
        batch = torch.cat(
            [self._tensor(self._downsized(Image.fromarray(frame.pixels))) for frame, _ in group]
        )
        multiple = getattr(self.module, "size_multiple", 1)
        min_side = self._smallest_side()
        stats = [frame_stats for _, frame_stats in group]
        with self._autocast():
            if tiles_needed(*batch.shape[-2:], self.tile_size):
                result = self._tiled(translate, batch, min_side, stats[0])
            elif stats[0] is None:
                result = run_padded(translate, batch, multiple, min_side)
            else:
                # Per layer, the frames' statistics side by side along the batch.
                stacked = [
                    (torch.cat([s[i][0] for s in stats]), torch.cat([s[i][1] for s in stats]))
                    for i in range(len(stats[0]))
                ]
                with norm_statistics(self.module) as norms:
                    norms.replay(stacked)
                    result = run_padded(translate, batch, multiple, min_side)
        pixels = to_uint8(result.float()).permute(0, 2, 3, 1).cpu().numpy()
        for (frame, _), output in zip(group, pixels, strict=True):
            yield frame, output

    def _tiled(
        self,
        translate: Callable[[torch.Tensor], torch.Tensor],
        image: torch.Tensor,
        min_side: int,
        statistics: Statistics | None = None,
    ) -> torch.Tensor:
        """``run_tiled`` with this stylizer's tiling settings."""
        return run_tiled(
            translate,
            image,
            self.module,
            getattr(self.module, "size_multiple", 1),
            self.tile_size,
            self.tile_overlap,
            self.thumbnail_side,
            self.tiles_per_pass,
            min_side,
            statistics,
        )

    def _frame_translation(
        self, first: np.ndarray, style: Any, alpha: float
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """What a clip's frames go through. An exemplar model's style code is computed once,
        from the style image and the clip's first frame, so it cannot change between frames."""
        if self.needs_style != (style is not None):
            raise ConfigError(
                f"a {self.method} model needs a style image: style=<image>"
                if self.needs_style
                else f"a {self.method} model learned one style and takes no style="
            )
        if style is None:
            return self.module
        style_image = self._thumbnail(self._tensor(as_input_image(style, self.max_pixels).rgb))
        min_side = self._smallest_side()
        content = self._tensor(Image.fromarray(first))
        return self._translate_function(
            content, pad_to_multiple(style_image, 1, min_side), alpha, min_side
        )

    def _frame_measure(
        self, translate: Callable[[torch.Tensor], torch.Tensor]
    ) -> Callable[[np.ndarray], Statistics]:
        """A function recording the statistics ``translate`` computes on one frame's pixels
        (downscaled to ``thumbnail_side``, as tiles' are)."""
        multiple = getattr(self.module, "size_multiple", 1)
        min_side = self._smallest_side()

        @torch.no_grad()
        def measure(pixels: np.ndarray) -> Statistics:
            thumbnail = self._thumbnail(self._tensor(Image.fromarray(pixels)))
            with self._autocast(), norm_statistics(self.module) as norms:
                recorded = norms.record()
                run_padded(translate, thumbnail, multiple, min_side)
            return recorded

        return measure

    def _image(self, output: torch.Tensor, content: InputImage) -> Image.Image:
        """A (1, 3, H, W) output as a PIL image, with the content's alpha put back."""
        pixels = to_uint8(output.float())[0].permute(1, 2, 0).cpu().numpy()
        result = Image.fromarray(pixels, "RGB")
        if content.alpha is not None:
            result.putalpha(content.alpha.resize(result.size, Image.Resampling.BILINEAR))
        return result

    @torch.no_grad()
    def generate(self, num_images: int = 1, seed: int = 0) -> list[Image.Image]:
        """``num_images`` samples of a noise-driven (DCGAN) model from noise seeded by ``seed``."""
        if self.generator.input != "noise":
            raise ConfigError(f"a {self.method} model translates images; call it on an image")
        if num_images < 1:
            raise ConfigError(f"num_images={num_images} must be at least 1")
        latent_dim = self.module.latent_dim
        noise = torch.randn(num_images, latent_dim, generator=torch.Generator().manual_seed(seed))
        with self._autocast():
            images = self.module(noise.to(self.device)).float()
        pixels = to_uint8(images).permute(0, 2, 3, 1).cpu().numpy()
        return [Image.fromarray(p, "RGB") for p in pixels]

    def _translate_function(
        self, content: torch.Tensor, style: torch.Tensor | None, alpha: float, min_side: int
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        if style is None:
            return self.module
        # The style code is global: computed once, from the whole content (downscaled) and the
        # whole style image, never per tile.
        thumbnail = pad_to_multiple(self._thumbnail(content), 1, min_side)
        code = self.module.style_code(thumbnail, style, alpha)

        def translate(tiles: torch.Tensor) -> torch.Tensor:
            encoded = self.module.encode_content(tiles)
            return self.module.decode(encoded, code.expand(tiles.shape[0], -1))

        return translate

    def _smallest_side(self) -> int:
        """The smallest side the generator takes: each reflection pad needs a feature map
        larger than the pad, and a stride-2 layer halves the map (a ResNet generator's
        bottleneck, a quarter of the input, is reflect-padded by 1, so it needs 8 pixels).
        Found once, as the first power-of-two multiple of ``size_multiple`` whose blank
        square goes through every encoder the model has."""
        if self._min_side is not None:
            return self._min_side
        side = getattr(self.module, "size_multiple", 1)
        while True:
            blank = torch.zeros(1, 3, side, side, device=self.device)
            style = blank if self.needs_style else None
            try:
                # α = 0.5 runs the style encoder on both the style and the content.
                with torch.no_grad(), self._autocast():
                    self._translate_function(blank, style, 0.5, side)(blank)
            except (RuntimeError, ValueError):
                if side >= MAX_PROBE_SIDE:
                    raise
                side *= 2
            else:
                self._min_side = side
                return side

    def _downsized(self, image: Image.Image) -> Image.Image:
        size = self.output_size(image.width, image.height)
        return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of the output for an input of that size: ``max_side`` applied."""
        if self.max_side is None or max(width, height) <= self.max_side:
            return width, height
        scale = self.max_side / max(width, height)
        return max(1, round(width * scale)), max(1, round(height * scale))

    def _thumbnail(self, image: torch.Tensor) -> torch.Tensor:
        return downscale(image, self.thumbnail_side)

    def _tensor(self, image: Image.Image) -> torch.Tensor:
        """(1, 3, H, W) in [-1, 1] on the device."""
        pixels = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy())
        return (pixels.permute(2, 0, 1)[None].float() / 127.5 - 1).to(self.device)

    @contextlib.contextmanager
    def _autocast(self) -> Iterator[None]:
        dtype = PRECISIONS[self.precision]
        if dtype is None:
            yield
            return
        with torch.autocast(self.device.type, dtype=dtype):
            yield


def check_video_statistics(statistics: str) -> str:
    if statistics not in VIDEO_STATISTICS:
        raise ConfigError(
            f"statistics={statistics!r} is not a way to normalise a video's frames; choose "
            f"one of: {', '.join(VIDEO_STATISTICS)}"
        )
    return statistics
