"""Video files in and out, streamed: frames decoded upright as RGB arrays with their
timestamps, and frames encoded with those timestamps beside the source's audio, copied.

Everything goes through PyAV (FFmpeg's libraries, in its wheel): ``pip install -e '.[video]'``.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from style_gan.data.images import printable
from style_gan.errors import ConfigError, DataError
from style_gan.files import write_atomically

log = logging.getLogger(__name__)

# The container FFmpeg writes for each suffix an output may have.
CONTAINER_FORMATS = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".mkv": "matroska",
    ".webm": "webm",
    ".avi": "avi",
}
VIDEO_EXTENSIONS = frozenset(CONTAINER_FORMATS)
# The container tag that holds an output's provenance (mp4/mov write it as ©cmt).
PROVENANCE_TAG = "comment"


def import_av() -> Any:
    """PyAV, or a one-line error saying how to install it."""
    try:
        import av
    except ImportError as error:
        raise ConfigError(
            "video needs PyAV: pip install -c constraints.txt -e '.[video]'"
        ) from error
    return av


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True)
class Frame:
    """One decoded frame: HWC uint8 RGB, upright, and when it is shown."""

    pixels: np.ndarray
    pts: int | None


@dataclass(frozen=True)
class VideoInfo:
    """What a clip's video stream is, as a player shows it."""

    path: Path
    width: int
    height: int
    # Degrees the stored frames are turned counterclockwise for display (a phone's portrait).
    rotation: int
    # Frames per second on average, and the rate every timestamp is a multiple of (FFmpeg's
    # guess of r_frame_rate: 12 for a clip at 12 fps that skips frames).
    frame_rate: Fraction
    nominal_rate: Fraction
    time_base: Fraction
    # From the container's header: an estimate, 0 / None when it does not say.
    frames: int
    duration: float | None
    audio_streams: int

    def frames_in(self, seconds: float) -> int:
        """How many frames ``seconds`` hold at the clip's average rate (at least 1)."""
        return max(1, round(seconds * float(self.frame_rate)))


class VideoReader:
    """A clip opened for decoding: ``info`` at once, then ``frames()`` streamed, once."""

    def __init__(self, path: str | Path) -> None:
        av = import_av()
        self.path = Path(path)
        name = printable(self.path.name)
        if not self.path.is_file():
            raise DataError(f"{name}: no such video file")
        try:
            self.container = av.open(str(self.path))
        except av.error.FFmpegError as error:
            raise DataError(
                f"{name} cannot be read as a video ({error.strerror}): it is truncated or "
                "not a video file; re-export or remove it"
            ) from error
        if not self.container.streams.video:
            self.container.close()
            raise DataError(f"{name} has no video stream (audio or data only); nothing to stylize")
        self.video = self.container.streams.video[0]
        self.audio = list(self.container.streams.audio)
        context = self.video.codec_context
        rotation = round(self._first_rotation() / 90) % 4 * 90
        width, height = context.width, context.height
        if rotation in (90, 270):
            width, height = height, width
        nominal = self.video.guessed_rate or self.video.average_rate or Fraction(25)
        rate = self.video.average_rate or nominal
        duration = None
        if self.video.duration is not None:
            duration = float(self.video.duration * self.video.time_base)
        elif self.container.duration is not None:
            duration = self.container.duration / 1_000_000
        self.info = VideoInfo(
            path=self.path,
            width=width,
            height=height,
            rotation=rotation,
            frame_rate=Fraction(rate),
            nominal_rate=Fraction(nominal),
            time_base=Fraction(self.video.time_base),
            frames=self.video.frames or round((duration or 0) * float(rate)),
            duration=duration,
            audio_streams=len(self.audio),
        )

    def _first_rotation(self) -> int:
        """The display rotation of the first frame (a phone writes one for the whole clip)."""
        av = import_av()
        try:
            frame = next(self.container.decode(self.video), None)
        except av.error.FFmpegError as error:
            raise DataError(
                f"{printable(self.path.name)}: its first frame cannot be decoded "
                f"({error.strerror}); the file is damaged"
            ) from error
        finally:
            self.container.seek(0)
        if frame is None:
            raise DataError(f"{printable(self.path.name)} holds no video frame")
        return frame.rotation

    def frames(self, on_audio: Callable[[Any], None] | None = None) -> Iterator[Frame]:
        """The clip's frames in order; the audio packets met on the way go to ``on_audio``.
        A file that breaks off (truncated) ends early with a warning, keeping what decoded."""
        av = import_av()
        streams = [self.video, *(self.audio if on_audio else [])]
        turns = self.info.rotation // 90
        count, last_time, failure = 0, 0.0, None
        try:
            for packet in self.container.demux(streams):
                if packet.stream.type == "audio":
                    if packet.dts is not None:
                        on_audio(packet)
                    continue
                for frame in packet.decode():
                    pixels = frame.to_ndarray(format="rgb24")
                    if turns:
                        pixels = np.ascontiguousarray(np.rot90(pixels, turns))
                    count += 1
                    last_time = frame.time or last_time
                    yield Frame(pixels, frame.pts)
        except av.error.FFmpegError as error:
            failure = error.strerror
        # A cut-off Matroska file simply ends: its header still gives the whole duration.
        ends_early = (self.info.duration or 0) - last_time > 2 / float(self.info.nominal_rate)
        if failure or ends_early:
            log.warning(
                "%s breaks off after %d frames, at %.2f s of %s (%s): the file is truncated or "
                "damaged; the frames before are kept",
                printable(self.path.name),
                count,
                last_time,
                f"{self.info.duration:.2f} s" if self.info.duration else "its length",
                failure or "no more data",
            )

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class VideoWriter:
    """Encodes frames with the source's timestamps (variable rates kept) into ``file``, and
    copies the source's audio packets unchanged (no re-encoding)."""

    def __init__(
        self,
        file: BinaryIO,
        suffix: str,
        source: VideoReader,
        codec: str = "libx264",
        pixel_format: str = "yuv420p",
        codec_options: dict[str, str] | None = None,
        metadata: dict[str, Any] | None = None,
        size: tuple[int, int] | None = None,
    ) -> None:
        """``size`` (width, height) of the frames to be written; None: the source's."""
        av = import_av()
        info = source.info
        width, height = size or (info.width, info.height)
        self.container = av.open(file, mode="w", format=container_format(suffix))
        if metadata is not None:
            self.container.metadata[PROVENANCE_TAG] = json.dumps(metadata, sort_keys=True)
        # The encoder drops frames' durations: the last frame lasts one period of ``rate``.
        try:
            self.stream = self.container.add_stream(codec, rate=info.nominal_rate)
        except ValueError as error:
            raise ConfigError(
                f"{error}; choose a codec the {suffix} container holds (webm: libvpx-vp9) "
                "or another video.format"
            ) from error
        # 4:2:0 chroma covers 2×2 pixels: such a format needs even sides.
        self.even = pixel_format.startswith(("yuv420", "yuvj420", "nv12"))
        self.width = width + (width % 2 if self.even else 0)
        self.height = height + (height % 2 if self.even else 0)
        if (self.width, self.height) != (width, height):
            log.warning(
                "%s is %d×%d; %s needs even sides, so the output is %d×%d (its last row or "
                "column repeated); pixel_format=yuv444p keeps the size",
                printable(info.path.name),
                width,
                height,
                pixel_format,
                self.width,
                self.height,
            )
        self.stream.width, self.stream.height = self.width, self.height
        self.stream.pix_fmt = pixel_format
        # Frames keep their own timestamps: the encoder counts in the source's time base, not
        # in 1/rate (which would round a variable rate onto a fixed grid).
        self.stream.time_base = info.time_base
        self.stream.codec_context.time_base = info.time_base
        self.stream.options = {key: str(value) for key, value in (codec_options or {}).items()}
        try:
            self.audio = {
                stream.index: self.container.add_stream_from_template(stream)
                for stream in source.audio
            }
        except ValueError as error:
            raise DataError(
                f"{printable(info.path.name)}: {error}, and its sound is copied unchanged; "
                "write it as video.format=mkv, which holds any"
            ) from error
        self.frame_rate = info.frame_rate
        self.time_base = info.time_base
        self.written = 0

    def write(self, pixels: np.ndarray, pts: int | None) -> None:
        """One HWC uint8 RGB frame, shown at ``pts`` (the source's time base; None = the next
        frame at the average rate)."""
        av = import_av()
        pad_h, pad_w = self.height - pixels.shape[0], self.width - pixels.shape[1]
        if pad_h or pad_w:
            pixels = np.pad(pixels, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
        if pts is None:
            pts = round(self.written / (self.frame_rate * self.time_base))
        frame.pts, frame.time_base = pts, self.time_base
        self.container.mux(self.stream.encode(frame))
        self.written += 1

    def copy_audio(self, packet: Any) -> None:
        """An audio packet of the source, as it is."""
        packet.stream = self.audio[packet.stream.index]
        self.container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and finish the container (its index, for mp4 at the end)."""
        self.container.mux(self.stream.encode(None))
        self.container.close()

    def abandon(self) -> None:
        """Close without flushing: the file is being thrown away."""
        self.container.close()


def container_format(suffix: str) -> str:
    try:
        return CONTAINER_FORMATS[suffix.lower()]
    except KeyError:
        raise ConfigError(
            f"a video cannot be written as {suffix!r}; use one of: {', '.join(CONTAINER_FORMATS)}"
        ) from None


def check_codec(codec: str) -> str:
    """``codec`` if this FFmpeg can encode with it, else a one-line error."""
    if not _encodes(codec):
        choices = [name for name in ("libx264", "libx265", "libvpx-vp9", "mpeg4") if _encodes(name)]
        raise ConfigError(
            f"video codec {codec!r} is not an encoder this FFmpeg has; try {', '.join(choices)}"
        )
    return codec


def _encodes(codec: str) -> bool:
    av = import_av()
    try:
        av.Codec(codec, "w")
    except (av.error.FFmpegError, ValueError):
        return False
    return True


def video_metadata(path: str | Path) -> dict[str, Any] | None:
    """The provenance a ``VideoWriter`` put in ``path``'s container, or None."""
    av = import_av()
    with av.open(str(path)) as container:
        text = container.metadata.get(PROVENANCE_TAG)
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


Stylized = Callable[[Iterable[Frame]], Iterator[tuple[Frame, np.ndarray]]]


def write_video(
    reader: VideoReader,
    target: Path,
    stylized: Stylized,
    codec: str = "libx264",
    pixel_format: str = "yuv420p",
    codec_options: dict[str, str] | None = None,
    metadata: dict[str, Any] | None = None,
    progress: bool = False,
    size: tuple[int, int] | None = None,
) -> int:
    """Decode ``reader``'s clip, pass its frames through ``stylized`` and encode what comes out
    into ``target`` at ``size`` (None: the source's) with the source's timestamps and audio. The
    file is written beside ``target`` and renamed at the end: Ctrl-C, SIGTERM or an error
    leaves no half-written ``target``. Returns the number of frames written."""
    container_format(target.suffix)
    check_codec(codec)
    written = 0

    def write(file: BinaryIO) -> None:
        nonlocal written
        with stop_on_sigterm(), frame_progress(reader.info, progress) as advance:
            writer = VideoWriter(
                file, target.suffix, reader, codec, pixel_format, codec_options, metadata, size
            )
            try:
                for frame, pixels in stylized(reader.frames(on_audio=writer.copy_audio)):
                    writer.write(pixels, frame.pts)
                    advance()
            except BaseException:
                writer.abandon()
                raise
            writer.close()
            written = writer.written

    write_atomically(target, write)
    return written


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM (a scheduler's or `kill`'s stop) raised as SystemExit while active, so the
    half-written file is removed as on Ctrl-C; Python's default would end the process there."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def frame_progress(info: VideoInfo, enabled: bool) -> Iterator[Callable[[], None]]:
    """A progress bar of frames written, with the rate and the time left; yields ``advance``."""
    if not enabled:
        yield lambda: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(printable(info.path.name), total=info.frames or None)
        yield lambda: bar.advance(task)
