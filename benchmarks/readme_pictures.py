"""The README's stylize picture, made again from the current defaults: scikit-image's coffee
photo (held out from the demo's training photos) beside the Quick start model's ink print of
it, at its own size, in ``experiments/stylize_coffee.jpg``. Rerun it when the defaults change.

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
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

from style_gan.inference.stylizer import Stylizer

ROOT = Path(__file__).parents[1]
COFFEE = ROOT / "experiments" / "stylize_coffee.jpg"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", type=Path, default=None, help="a Quick start checkpoint")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.ckpt or quick_start_checkpoint(Path(tmp))
        coffee_picture(checkpoint, COFFEE)
    print(f"wrote {COFFEE.relative_to(ROOT)} from {checkpoint}")


if __name__ == "__main__":
    main()
