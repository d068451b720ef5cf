"""The studio in a real browser: ``style-gan-studio`` serving a checkpoint of a two-batch run,
Debian's chromium driven by Playwright through the whole loop (upload, generate, stronger style,
refine, rate, download), bad uploads, and two tabs at once.

Needs the studio extra and /usr/bin/chromium (.ci/run installs both and sets
STYLE_GAN_REQUIRE_BROWSER=1, so there a missing part fails instead of skipping).
STYLE_GAN_STUDIO_CHECKPOINT=<ckpt> serves that checkpoint instead of a fresh two-batch run;
STYLE_GAN_SCREENSHOT=<png> keeps the screenshot of the page after the first generation.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from style_gan.inference.images import embedded_metadata
from style_gan.inference.provenance import file_sha256
from tests.conftest import write_image
from tests.test_studio import png_with_header

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
# What chromium needs to start as root, offline, without reaching for the network.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MAX_UPLOAD_MB = 2
STEP_TIMEOUT_S = 120


def require(ready: bool, reason: str) -> None:
    if ready:
        return
    if os.environ.get("STYLE_GAN_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class Studio:
    url: str
    root: Path
    checkpoint: Path
    log: Path

    def session_logs(self) -> list[Path]:
        return sorted(self.root.glob("logs/studio/runs/*/sessions/*/feedback.jsonl"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def two_batch_checkpoint(root: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "style_gan.train", "max_batches=2", f"paths.root_dir={root}"],
        check=True,
        capture_output=True,
        cwd=root,
        timeout=600,
    )
    return next(root.glob("logs/train/runs/*/checkpoints/last.ckpt"))


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    require(importlib.util.find_spec("gradio") is not None, "the studio extra is not installed")
    require(importlib.util.find_spec("playwright") is not None, "playwright is not installed")
    require(CHROMIUM.is_file(), f"{CHROMIUM} is missing (apt-get install chromium)")
    root = tmp_path_factory.mktemp("studio")
    given = os.environ.get("STYLE_GAN_STUDIO_CHECKPOINT")
    checkpoint = Path(given) if given else two_batch_checkpoint(root)
    port = free_port()
    log = root / "studio.log"
    env = {**os.environ, "GRADIO_TEMP_DIR": str(root / "gradio")}
    with open(log, "w") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "style_gan.studio.launch",
                f"ckpt_path={checkpoint}",
                f"port={port}",
                f"paths.root_dir={root}",
                f"max_upload_mb={MAX_UPLOAD_MB}",
                "refine.steps=2",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=root,
            env=env,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the studio did not start:\n{log.read_text()}") from None
                time.sleep(0.5)
        yield Studio(url, root, checkpoint, log)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def browser(studio: Studio) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def open_page(browser, studio: Studio):
    page = browser.new_page(viewport={"width": 1400, "height": 1300}, accept_downloads=True)
    page.goto(studio.url)
    wait_for_status(page, "CycleGAN, ")
    return page


def wait_for_status(page, text: str) -> str:
    """The page's status line once it contains ``text``."""
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while time.monotonic() < deadline:
        status = page.inner_text("#status")
        if text in status:
            return status
        time.sleep(0.1)
    raise AssertionError(f"the status never said {text!r}; it says {page.inner_text('#status')!r}")


def upload(page, role: str, path: Path) -> None:
    page.set_input_files(f"#{role}-upload input[type=file]", str(path))


def pick_example(page, role: str, name: str) -> None:
    page.locator(f"#{role}-example button").filter(has_text=name).click()


def clear_upload(page, role: str) -> None:
    page.locator(f"#{role}-upload button[aria-label='Clear']").click()


def test_the_loop_in_a_browser(browser, studio: Studio, tmp_path: Path) -> None:
    page = open_page(browser, studio)
    content = tmp_path / "street.png"
    Image.open(sample_content(tmp_path)).crop((64, 40, 448, 296)).save(content)
    upload(page, "content", content)
    wait_for_status(page, "content image: street.png, 384×256")
    page.click("#generate")
    wait_for_status(page, "generation #1 done")
    page.wait_for_selector("#result img")
    page.wait_for_selector("#history img")
    page.wait_for_function(
        "[...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    screenshot = Path(os.environ.get("STYLE_GAN_SCREENSHOT") or tmp_path / "studio.png")
    page.screenshot(path=str(screenshot), full_page=True)
    assert Image.open(screenshot).width >= 1000

    page.click("#stronger-style")
    wait_for_status(page, "Stronger style: generation #2")
    assert "style strength 1.25" in page.inner_text("#next")
    page.click("#refine")
    wait_for_status(page, "refined for 2 of 2 steps: generation #3")
    assert "refined weights v1" in page.inner_text("#next")
    page.get_by_label("4").check()
    page.fill("#note textarea", "more ink on the edges")
    page.click("#rate")
    wait_for_status(page, "rating 4 saved for generation #3")
    with page.expect_download() as download:
        page.click("#download")
    downloaded = tmp_path / "downloaded.png"
    download.value.save_as(downloaded)

    assert Image.open(downloaded).size == (384, 256)
    record = embedded_metadata(downloaded)
    assert record["method"] == "CycleGAN"
    assert record["checkpoint"]["sha256"] == file_sha256(studio.checkpoint)
    assert record["content"]["sha256"] == file_sha256(content)
    settings = record["settings"]
    assert settings["content_name"] == "street.png" and settings["strength"] == 1.25
    assert settings["weights"] == "refined version 1"
    assert [step["action"] for step in settings["feedback"]] == ["stronger_style", "refine"]
    assert settings["feedback"][1]["steps"] == 2

    session_log = next(
        log for log in studio.session_logs() if record["settings"]["studio_session"] in str(log)
    )
    events = [json.loads(line) for line in session_log.read_text().splitlines()]
    assert [e["event"] for e in events] == [
        "model",
        "content",
        "generate",
        "feedback",
        "generate",
        "refine",
        "generate",
        "rating",
    ]
    rating = events[-1]
    assert rating["rating"] == 4 and rating["note"] == "more ink on the edges"
    assert rating["content_sha256"] == file_sha256(content)
    assert rating["parameters"] == {"strength": 1.25, "content_weight": 1.0, "seed": 0}

    page.click("#export")
    status = wait_for_status(page, "refined weights saved as an export")
    assert (Path(status.split("export: ")[1].strip()) / "model.safetensors").is_file()
    page.close()


def sample_content(folder: Path) -> Path:
    from style_gan.studio.examples import write_examples

    return write_examples(folder / "examples")["content"]["coffee"]


def test_bad_uploads_get_a_message_and_the_server_keeps_serving(
    browser, studio: Studio, tmp_path: Path
) -> None:
    page = open_page(browser, studio)
    text = tmp_path / "letter.png"
    text.write_text("Dear studio,\n")
    huge = tmp_path / "huge.png"
    with open(huge, "wb") as sparse:
        sparse.truncate(2**30)
    cases = [
        (text, "letter.png is not an image file"),
        (png_with_header(tmp_path / "bomb.png", 100_000, 100_000), "decompression bomb"),
        (write_image(tmp_path / "dot.png", (1, 1)), "dot.png is 1×1 px"),
    ]
    for path, message in cases:
        upload(page, "content", path)
        assert "⚠" in wait_for_status(page, message)
        clear_upload(page, "content")
    upload(page, "content", huge)
    page.wait_for_selector(
        f"text=File(s) exceed the maximum allowed size of {MAX_UPLOAD_MB}.0 Mb", timeout=30_000
    )
    # The server refuses an oversized body itself too, not only the page's check.
    request = urllib.request.Request(
        f"{studio.url}gradio_api/upload",
        data=b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\n'
        + b"\0" * (MAX_UPLOAD_MB * 2**20 + 1)
        + b"\r\n--x--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 413
    # Still serving: the same page goes on.
    page.reload()
    wait_for_status(page, "CycleGAN, ")
    pick_example(page, "content", "chelsea")
    wait_for_status(page, "content image: built-in chelsea")
    page.click("#generate")
    wait_for_status(page, "generation #1 done")
    page.close()


def test_two_tabs_have_their_own_sessions_and_take_turns(browser, studio: Studio) -> None:
    first, second = open_page(browser, studio), open_page(browser, studio)
    for page, photo in ((first, "coffee"), (second, "coins")):
        pick_example(page, "content", photo)
        wait_for_status(page, f"content image: built-in {photo}")
    first.locator("#refine-steps input[type=number]").fill("200")
    first.locator("#refine-steps input[type=number]").press("Enter")
    first.click("#refine")
    time.sleep(2)
    second.click("#generate")
    time.sleep(1)
    # The second tab's generation waits for the first tab's refine (one queue slot) ...
    assert "generation #1" not in second.inner_text("#status")
    first.click("#stop")
    status = wait_for_status(first, "refined for ")
    done = int(status.split("refined for ")[1].split(" of ")[0])
    assert 1 <= done < 200
    # ... and runs once it has stopped, on its own session's content.
    wait_for_status(second, "generation #1 done")
    logs = {path.parent.name: path.read_text() for path in studio.session_logs()}
    mine = [text for text in logs.values() if '"name": "coins (built-in)"' in text]
    assert len(mine) == 1 and '"event": "refine"' not in mine[0]
    for page in (first, second):
        page.close()
