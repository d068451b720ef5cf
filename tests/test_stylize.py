"""The stylize command: folders in, stylised files with provenance out, for every method, and
one line for each bad input, losing nothing."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from style_gan.errors import CheckpointError, ConfigError, DataError
from style_gan.inference.provenance import file_sha256, read_provenance
from tests.conftest import write_image


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    write_image(folder / "a.png", (37, 53), seed=1)
    write_image(folder / "b.jpg", (30, 20), seed=2)
    write_image(folder / "nested" / "c.png", (24, 24), seed=3)
    (folder / "broken.png").write_bytes(b"not an image")
    return folder


def test_a_folder_is_stylised_with_provenance_and_bad_files_skipped(
    run_stylize, one_batch_checkpoint, photos: Path, tmp_path: Path, caplog
) -> None:
    caplog.set_level(logging.INFO)
    ckpt = one_batch_checkpoint("cyclegan")
    out = tmp_path / "out"
    written = run_stylize(f"ckpt_path={ckpt}", f"input={photos}", f"output={out}")
    assert sorted(p.name for p in written) == ["a.png", "b.png"]
    assert Image.open(out / "a.png").size == (37, 53)
    assert "skipping broken.png: " in caplog.text and "skipped 1: broken.png" in caplog.text
    record = read_provenance(out / "a.png")
    assert record == json.loads((out / "a.png.json").read_text())
    assert record["method"] == "CycleGAN" and record["batches_trained"] == 1
    assert record["checkpoint"]["sha256"] == file_sha256(ckpt)
    assert record["content"] == {"file": "a.png", "sha256": file_sha256(photos / "a.png")}
    # Existing outputs stay unless overwrite=true; subfolders with recursive=true.
    before = (out / "a.png").stat().st_mtime_ns
    again = run_stylize(f"ckpt_path={ckpt}", f"input={photos}", f"output={out}", "recursive=true")
    assert [p.relative_to(out) for p in again] == [Path("nested/c.png")]
    assert (out / "a.png").stat().st_mtime_ns == before
    run_stylize(f"ckpt_path={ckpt}", f"input={photos}/a.png", f"output={out}", "overwrite=true")
    assert (out / "a.png").stat().st_mtime_ns != before
    batched = tmp_path / "batched"
    run_stylize(f"ckpt_path={ckpt}", f"input={photos}", f"output={batched}", "batch_size=3")
    assert sorted(p.name for p in batched.glob("*.png")) == ["a.png", "b.png"]


def test_tiny_thin_and_bad_files_in_one_folder_do_not_stop_it(
    run_stylize, one_batch_checkpoint, tmp_path: Path, caplog
) -> None:
    caplog.set_level(logging.INFO)
    folder = tmp_path / "mixed"
    sizes = {"dot": (1, 1), "three": (3, 3), "column": (1, 100), "strip": (300, 2)}
    sizes["photo"] = (37, 53)
    for index, (name, size) in enumerate(sizes.items()):
        write_image(folder / f"{name}.png", size, seed=index)
    (folder / "loop_a.png").symlink_to(folder / "loop_b.png")
    (folder / "loop_b.png").symlink_to(folder / "loop_a.png")
    (folder / "dangling.png").symlink_to(folder / "gone.png")
    (folder / "notes.png").write_text("a text file named like an image")
    out = tmp_path / "out"
    # batch_size=2 puts the bad file in a batch with a good one.
    ckpt = one_batch_checkpoint("cyclegan")
    written = run_stylize(f"ckpt_path={ckpt}", f"input={folder}", f"output={out}", "batch_size=2")
    assert {p.stem: Image.open(p).size for p in written} == sizes
    skips = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipping ")]
    assert [line.split(":")[0] for line in skips] == [
        "skipping dangling.png",
        "skipping loop_a.png",
        "skipping loop_b.png",
        "skipping notes.png",
    ]
    assert all("\n" not in line for line in skips)
    assert "skipping loop_a.png: symlink loop" in skips
    assert "skipping dangling.png: broken link" in skips
    assert "skipped 4: dangling.png, loop_a.png, loop_b.png, notes.png" in caplog.text
    # Nothing written: an error (a non-zero exit), with every skip counted.
    for name in sizes:
        (folder / f"{name}.png").unlink()
    with pytest.raises(DataError, match=r"wrote 0 file.*skipped 4: dangling\.png"):
        run_stylize(f"ckpt_path={ckpt}", f"input={folder}", f"output={tmp_path / 'none'}")


def test_jpeg_output_and_no_provenance(run_stylize, one_batch_checkpoint, photos, tmp_path):
    out = tmp_path / "out"
    ckpt = one_batch_checkpoint("cyclegan")
    camera = Image.Exif()
    camera[0x0110] = "Camera X"  # model
    Image.open(photos / "b.jpg").save(photos / "b.jpg", exif=camera)
    run_stylize(f"ckpt_path={ckpt}", f"input={photos}/b.jpg", f"output={out}", "format=jpg")
    assert read_provenance(out / "b.jpg")["content"]["file"] == "b.jpg"
    assert 0x0110 not in Image.open(out / "b.jpg").getexif()  # the camera's EXIF stays home
    kept = tmp_path / "kept"
    run_stylize(f"ckpt_path={ckpt}", f"input={photos}/b.jpg", f"output={kept}", "keep_exif=true")
    assert Image.open(kept / "b.png").getexif()[0x0110] == "Camera X"
    plain = tmp_path / "plain"
    run_stylize(f"ckpt_path={ckpt}", f"input={photos}/b.jpg", f"output={plain}", "provenance=false")
    assert read_provenance(plain / "b.png") is None and not (plain / "b.png.json").exists()


def test_exemplar_writes_one_output_per_content_and_style_and_a_strip_of_alphas(
    run_stylize, one_batch_checkpoint, photos: Path, tmp_path: Path
) -> None:
    styles = [write_image(tmp_path / "styles" / f"s{i}.png", (40, 40), seed=9 + i) for i in (1, 2)]
    out = tmp_path / "out"
    written = run_stylize(
        f"ckpt_path={one_batch_checkpoint('exemplar')}",
        f"input={photos}/a.png",
        f"output={out}",
        f"style=[{styles[0]},{styles[1]}]",
        "alpha=[0,0.5,1]",
    )
    assert sorted(p.name for p in written) == ["a__s1.png", "a__s2.png"]
    assert Image.open(out / "a__s1.png").size == (3 * 37, 53)
    assert not (out / "a__s1__grid.png").exists()
    run_stylize(
        f"ckpt_path={one_batch_checkpoint('exemplar')}",
        f"input={photos}/a.png",
        f"output={out}",
        f"style={styles[0]}",
        "overwrite=true",
        "grid=true",
    )
    # content | style | the strip of results, at the results' height; a sheet of all outputs.
    assert Image.open(out / "a__s1__grid.png").height == 53
    assert Image.open(out / "contact_sheet.png").size == (192, 192)
    record = read_provenance(out / "a__s2.png")
    assert record["styles"][0]["file"] == "s2.png" and record["settings"]["alpha"] == [0, 0.5, 1]


def test_dcgan_generates_seeded_samples(run_stylize, one_batch_checkpoint, tmp_path) -> None:
    ckpt = one_batch_checkpoint("dcgan")
    first = run_stylize(f"ckpt_path={ckpt}", f"output={tmp_path / 'a'}", "num_images=2", "seed=5")
    second = run_stylize(f"ckpt_path={ckpt}", f"output={tmp_path / 'b'}", "num_images=2", "seed=5")
    assert [p.name for p in first] == ["sample_seed5_0000.png", "sample_seed5_0001.png"]
    assert np.array_equal(np.asarray(Image.open(first[1])), np.asarray(Image.open(second[1])))


def test_bad_inputs_are_one_line_errors(
    run_stylize, one_batch_checkpoint, photos: Path, tmp_path: Path
) -> None:
    cyclegan, cut = one_batch_checkpoint("cyclegan"), one_batch_checkpoint("cut")
    exemplar = one_batch_checkpoint("exemplar")
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(cyclegan.read_bytes()[:1000])
    cases = [
        (CheckpointError, "does not exist", [f"ckpt_path={tmp_path}/none.ckpt"]),
        (CheckpointError, "it is truncated", [f"ckpt_path={truncated}"]),
        (CheckpointError, "has no direction='BA'", [f"ckpt_path={cut}", "direction=BA"]),
        (ConfigError, "needs style=", [f"ckpt_path={exemplar}"]),
        (ConfigError, "takes no style=", [f"ckpt_path={cyclegan}", f"style={photos}/a.png"]),
        (ConfigError, "input= is required", [f"ckpt_path={cyclegan}", "input=null"]),
        (DataError, "does not exist", [f"ckpt_path={cyclegan}", "input=/no/such/photo.png"]),
        (ConfigError, "is an input", [f"ckpt_path={cyclegan}", f"output={photos}"]),
    ]
    for error, message, overrides in cases:
        with pytest.raises(error, match=message):
            run_stylize(f"input={photos}/a.png", *overrides)
    assert not list(photos.glob("*.json"))  # nothing was written among the inputs


def test_an_output_folder_that_cannot_be_written(
    run_stylize, one_batch_checkpoint, photos, tmp_path
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("a file where the output folder would be")
    ckpt = one_batch_checkpoint("cyclegan")
    with pytest.raises(ConfigError, match="cannot be written"):
        run_stylize(f"ckpt_path={ckpt}", f"input={photos}", f"output={blocker / 'styled'}")


def test_the_command_line_stylises_and_inspects(one_batch_checkpoint, photos, tmp_path) -> None:
    env = {**os.environ, "STYLE_GAN_ROOT": str(tmp_path)}
    command = [sys.executable, "-m", "style_gan.stylize"]
    ckpt = one_batch_checkpoint("cyclegan")
    out = tmp_path / "out"
    result = subprocess.run(
        [*command, f"ckpt_path={ckpt}", f"input={photos}/a.png", f"output={out}", "device=cpu"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    inspected = subprocess.run(
        [*command, f"inspect={out / 'a.png'}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert inspected.returncode == 0 and json.loads(inspected.stdout)["method"] == "CycleGAN"
    missing = subprocess.run(
        [*command, f"input={photos}"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert missing.returncode == 2 and missing.stderr.startswith("error: ckpt_path is required")


def test_a_single_text_file_named_like_an_image_is_an_error(
    run_stylize, one_batch_checkpoint, tmp_path
) -> None:
    notes = tmp_path / "notes.png"
    notes.write_text("a text file named like an image")
    # A DataError: the command line prints it as one line and exits 2, not 0.
    with pytest.raises(DataError, match=r"wrote 0 file.*skipped 1: notes\.png"):
        run_stylize(
            f"ckpt_path={one_batch_checkpoint('cyclegan')}",
            f"input={notes}",
            f"output={tmp_path / 'out'}",
        )
