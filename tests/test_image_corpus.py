"""One folder of every kind of bad and unusual image file a user's data holds, scanned and
trained on: each unusable entry skipped and counted by kind, the rest read upright as RGB."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from style_gan.data.images import open_image, scan_image_folder
from tests.conftest import write_image, write_unpaired_layout

NON_UTF8_NAME = os.fsdecode(b"caf\xe9.png")
TRUNCATED_NON_UTF8_NAME = os.fsdecode(b"cut\xff.png")


def png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims ``width`` × ``height`` pixels with almost no data behind it:
    what a decompression bomb looks like to a reader of headers."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def write_corpus(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "empty.png").write_bytes(b"")
    whole = write_image(folder / "whole.png", (40, 36)).read_bytes()
    (folder / "whole.png").unlink()
    (folder / "truncated.png").write_bytes(whole[: len(whole) // 2])
    (folder / TRUNCATED_NON_UTF8_NAME).write_bytes(whole[: len(whole) // 2])
    (folder / "renamed_text.jpg").write_text("this is a text file, not a JPEG")
    write_image(folder / "gray.png", mode="L")
    write_image(folder / "rgba.png", mode="RGBA")
    Image.fromarray(np.full((12, 10), 30000, dtype=np.uint16)).save(folder / "sixteen.png")
    Image.new("CMYK", (40, 36), (0, 255, 255, 0)).save(folder / "cmyk.jpg")
    palette = Image.new("P", (40, 36), 1)
    palette.putpalette([0, 0, 0, 255, 0, 0] * 128)
    palette.save(folder / "palette.png", transparency=0)
    write_image(folder / "one_pixel.png", (1, 1))
    write_image(folder / "wide.png", (20000, 10))
    png_header_only(folder / "bomb.png", 30000, 30000)
    png_header_only(folder / "over_limit.png", 12000, 10000)
    exif = Image.new("RGB", (40, 20), (0, 128, 0)).getexif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    Image.new("RGB", (40, 20), (0, 128, 0)).save(folder / "rotated.jpg", exif=exif)
    os.symlink("loop.png", folder / "loop.png")
    write_image(folder / NON_UTF8_NAME)
    (folder / "subfolder").mkdir()


USABLE = {
    "truncated.png",  # its header parses; the decode fails later and is skipped then
    TRUNCATED_NON_UTF8_NAME,
    "gray.png",
    "rgba.png",
    "sixteen.png",
    "cmyk.jpg",
    "palette.png",
    "one_pixel.png",
    "wide.png",
    "rotated.jpg",
    NON_UTF8_NAME,
}
SKIPPED_KINDS = (
    "1 decompression bomb, 1 empty file, 1 not a readable image, "
    "1 over max_pixels=100000000, 1 symlink loop"
)


def test_the_scan_keeps_what_reads_and_counts_every_kind_of_skip(tmp_path: Path, caplog) -> None:
    write_corpus(tmp_path / "corpus")
    usable = scan_image_folder(tmp_path / "corpus")
    assert {path.name for path in usable} == USABLE
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert f"skipped 5 unusable file(s) in {tmp_path / 'corpus'} ({SKIPPED_KINDS})" in warning
    for entry in ("bomb.png (decompression bomb)", "loop.png (symlink loop)", "empty.png"):
        assert entry in warning


def test_every_usable_kind_reads_upright_as_rgb(tmp_path: Path) -> None:
    write_corpus(tmp_path / "corpus")
    folder = tmp_path / "corpus"
    truncated = {"truncated.png", TRUNCATED_NON_UTF8_NAME}
    images = {name: open_image(folder / name) for name in USABLE - truncated}
    assert all(image.rgb.mode == "RGB" for image in images.values())
    assert images["rotated.jpg"].rgb.size == (20, 40)
    sixteen = np.asarray(images["sixteen.png"].rgb)
    assert abs(int(sixteen[0, 0, 0]) - round(30000 / 65535 * 255)) <= 1
    assert images["palette.png"].alpha is not None and images["rgba.png"].alpha is not None
    assert images["wide.png"].rgb.size == (20000, 10)


def test_training_data_on_the_corpus_draws_every_item_in_bounded_memory(tmp_path: Path) -> None:
    # In its own process, so its peak resident memory is this data's alone.
    root = write_unpaired_layout(tmp_path / "data", count=2, splits=("train",))
    write_corpus(root / "corpus")
    for path in (root / "corpus").iterdir():
        path.rename(root / "trainA" / path.name)
    script = textwrap.dedent(
        """
        import logging, resource, sys
        from style_gan.data.datamodule import UnpairedDataModule

        logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
        print("base_mib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
        data = UnpairedDataModule(sys.argv[1], load_size=32, crop_size=32, num_workers=0)
        data.setup("fit")
        dataset = data.datasets["train"]
        shapes = {tuple(dataset[i]["content"].shape) for i in range(len(dataset))}
        print("items", len(dataset), "shapes", sorted(shapes))
        print("peak_mib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(root)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "items 13 shapes [(3, 32, 32)]" in result.stdout
    assert "cut\\xff.png is not a readable image" in result.stdout
    assert "Logging error" not in result.stdout + result.stderr
    assert "1 symlink loop" in result.stdout
    assert "skipping unreadable image: " in result.stdout and "truncated.png" in result.stdout
    base = int(result.stdout.split("base_mib")[1].split()[0])
    peak = int(result.stdout.split("peak_mib")[1])
    # Above what the imports take; a decoded 30000² bomb alone would take 2.5 GiB.
    assert peak - base < 256, result.stdout
