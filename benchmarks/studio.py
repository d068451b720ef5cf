"""The studio's loop on this machine: seconds from a click to its result, per method.

    python benchmarks/studio.py                 # every method, demo-size networks
    python benchmarks/studio.py --browser       # also click to result in chromium (studio extra)

For each method a one-batch checkpoint is trained in a scratch folder (speed does not depend on
the weights; the Quick start's networks are the demo's sizes) and a studio session generates a
512×512 photo (scikit-image's astronaut) ``--repeats`` times and refines on it for 20 steps.
"paper CycleGAN" is resnet_9blocks at 64 channels, the size of the CycleGAN paper's models.
With ``--browser`` a real studio is started on the CycleGAN checkpoint and Debian's chromium
clicks Generate ``--repeats`` times: the time until the page shows the result, against the
server-side generation of the same image measured in the same run (the page's overhead).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from skimage import data

from style_gan.studio.models import ModelChoice
from style_gan.studio.session import RefineSettings, StudioSession, example_input

METHODS = {
    "cyclegan": ["model=cyclegan"],
    "cut": ["model=cut"],
    "fastcut": ["model=fastcut"],
    "exemplar": ["model=exemplar"],
    "pix2pix": ["model=pix2pix"],
    "dcgan": ["model=dcgan"],
    "paper CycleGAN": ["experiment=none", "model=cyclegan", "model/generator=resnet_9blocks"],
}
REFINE_STEPS = 20


def one_batch_checkpoint(root: Path, overrides: list[str]) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "style_gan.train",
            "max_batches=1",
            "metrics=none",
            "logger=csv",
            f"paths.root_dir={root}",
            *overrides,
        ],
        check=True,
        capture_output=True,
        cwd=root,
    )
    return next(root.glob("logs/train/runs/*/checkpoints/last.ckpt"))


def median_seconds(action, repeats: int) -> float:
    action()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_method(
    checkpoint: Path, root: Path, photo: Path, style: Path, repeats: int
) -> tuple[float, float | None]:
    """Median seconds of a generation, and seconds of a 20-step refine (None: no refine)."""
    session = StudioSession(root / "sessions", device="cpu", refine=RefineSettings())
    session.select_model(ModelChoice(checkpoint.name, checkpoint))
    session.set_image("content", example_input(photo), photo, photo.name)
    session.set_image("style", example_input(style), style, style.name)
    generation = median_seconds(session.generate, repeats)
    if session.method_input == "noise":
        return generation, None
    start = time.perf_counter()
    session.refine(REFINE_STEPS)
    return generation, time.perf_counter() - start


def browser_click_to_result(checkpoint: Path, root: Path, photo: Path, repeats: int) -> float:
    """Median seconds from a click on Generate to the page's status naming the result."""
    from playwright.sync_api import sync_playwright

    port = 7899
    root.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "style_gan.studio.launch",
            f"ckpt_path={checkpoint}",
            f"port={port}",
            f"paths.root_dir={root}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=root,
    )
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
            page = browser.new_page()
            for _ in range(240):
                try:
                    page.goto(f"http://127.0.0.1:{port}/")
                    break
                except Exception:
                    time.sleep(0.5)
            page.wait_for_selector("#status:has-text('CycleGAN')", timeout=60_000)
            page.set_input_files("#content-upload input[type=file]", str(photo))
            page.wait_for_selector("#status:has-text('content image:')", timeout=60_000)
            times = []
            for index in range(1, repeats + 2):
                start = time.perf_counter()
                page.click("#generate")
                page.wait_for_selector(
                    f"#status:has-text('generation #{index} done')", timeout=60_000
                )
                page.wait_for_selector("#result img")
                if index > 1:  # the first is the warm-up
                    times.append(time.perf_counter() - start)
            browser.close()
    finally:
        server.terminate()
        server.wait()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        photo = root / "astronaut_512.png"
        Image.fromarray(data.astronaut()).resize((512, 512)).save(photo)
        style = root / "style.png"
        Image.fromarray(data.rocket()).resize((256, 256)).save(style)
        print(
            f"{'method':<16} {'generate 512 px (s)':>20} {f'refine {REFINE_STEPS} steps (s)':>20}"
        )
        checkpoints = {}
        for name in args.methods:
            folder = root / name.replace(" ", "_")
            folder.mkdir()
            checkpoints[name] = one_batch_checkpoint(folder, METHODS[name])
            generation, refine = measure_method(
                checkpoints[name], folder, photo, style, args.repeats
            )
            shown = "-" if refine is None else f"{refine:.1f}"
            print(f"{name:<16} {generation:>20.2f} {shown:>20}", flush=True)
        if args.browser:
            checkpoint = checkpoints.get("cyclegan")
            if checkpoint is None:
                (root / "cyclegan").mkdir()
                checkpoint = one_batch_checkpoint(root / "cyclegan", METHODS["cyclegan"])
            server_side = measure_method(checkpoint, root, photo, style, args.repeats)[0]
            click = browser_click_to_result(checkpoint, root / "browser", photo, args.repeats)
            print(
                f"cyclegan in chromium: click to result {click:.2f} s, the session's generation "
                f"{server_side:.2f} s: the page adds {click / server_side:.2f}×"
            )


if __name__ == "__main__":
    main()
