"""Stylizing video: real clips written by PyAV (tests/clips.py) through the stylize command and
the Stylizer API: frames, timing, rotation and sound kept, shared statistics against flicker,
and one line for every bad clip, losing nothing."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from style_gan.errors import ConfigError, DataError
from style_gan.files import PARTIAL_SUFFIX
from style_gan.inference.frame_statistics import cut_signature, is_cut, shared_statistics
from style_gan.inference.provenance import file_sha256, read_provenance
from style_gan.inference.stylizer import Stylizer
from style_gan.inference.video import VideoReader
from style_gan.metrics.temporal import consecutive_difference
from tests.clips import make_clip, read_clip_facts, sample_clip, truncated_copy
from tests.conftest import train_one_batch, write_image


@pytest.fixture(scope="module")
def instance_norm_checkpoint(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A CycleGAN whose generator normalises every image by its own statistics (the demo's
    has no instance norm, so nothing in it could flicker from them)."""
    run = tmp_path_factory.mktemp("instance_norm") / "run"
    return train_one_batch("cyclegan", run, data_dir, "model.generator.norm=instance")


def assert_same_timing(output: dict, source: dict) -> None:
    assert output["frames"] == source["frames"]
    assert output["frame_times"] == pytest.approx(source["frame_times"], abs=1e-3)
    assert output["duration"] == pytest.approx(source["duration"], abs=0.02)


def test_a_clip_keeps_its_frames_timing_and_sound_with_provenance(
    run_stylize, one_batch_checkpoint, tmp_path: Path
) -> None:
    clip = make_clip(tmp_path / "clip.mp4", frames=30, rate=15)
    ckpt = one_batch_checkpoint("cyclegan")
    out = tmp_path / "out" / "styled.mp4"
    assert run_stylize(f"ckpt_path={ckpt}", f"input={clip}", f"output={out}") == [out]
    source, output = read_clip_facts(clip), read_clip_facts(out)
    assert_same_timing(output, source)
    assert (output["width"], output["height"]) == (64, 48)
    assert output["codec"] == "h264" and output["pix_fmt"] == "yuv420p"
    assert output["has_audio"] and output["audio_rate"] == source["audio_rate"]
    assert output["audio_duration"] == pytest.approx(source["audio_duration"], abs=1e-6)
    record = read_provenance(out)
    assert record["content"] == {"file": "clip.mp4", "sha256": file_sha256(clip)}
    assert record["settings"]["statistics"] == "window"
    assert (out.parent / "styled.mp4.json").is_file()
    assert not list(out.parent.glob(f"*{PARTIAL_SUFFIX}"))


def test_variable_rate_rotated_ten_bit_and_one_frame_clips(
    one_batch_checkpoint, tmp_path: Path
) -> None:
    stylizer = Stylizer.from_checkpoint(one_batch_checkpoint("cyclegan"), device="cpu")
    variable = make_clip(tmp_path / "variable.mp4", frames=12, variable_rate=True)
    stylizer.stylize_video(variable, tmp_path / "variable_out.mp4")
    assert_same_timing(read_clip_facts(tmp_path / "variable_out.mp4"), read_clip_facts(variable))

    # A phone's portrait clip: stored 64×48 and turned 90° for display. The output is upright
    # pixels, shown the same way with no rotation to apply.
    phone = make_clip(tmp_path / "phone.mov", frames=6, rotation=90, pix_fmt="yuv420p10le")
    stylizer.stylize_video(phone, tmp_path / "phone_out.mp4")
    facts = read_clip_facts(tmp_path / "phone_out.mp4")
    assert (facts["width"], facts["height"], facts["rotation"]) == (48, 64, 0)
    assert facts["pix_fmt"] == "yuv420p" and facts["frames"] == 6
    with VideoReader(phone) as reader:
        upright = next(reader.frames()).pixels
    import av

    with av.open(str(phone)) as container:
        stored = next(container.decode(video=0)).to_ndarray(format="rgb24")
    np.testing.assert_array_equal(upright, np.rot90(stored, -1))

    single = make_clip(tmp_path / "single.mp4", frames=1, audio=False)
    stylizer.stylize_video(single, tmp_path / "single_out.mkv")
    facts = read_clip_facts(tmp_path / "single_out.mkv")
    assert facts["frames"] == 1 and not facts["has_audio"]


def test_odd_sizes_are_padded_for_yuv420p_or_kept_in_yuv444p(
    one_batch_checkpoint, tmp_path: Path, caplog
) -> None:
    stylizer = Stylizer.from_checkpoint(one_batch_checkpoint("cyclegan"), device="cpu")
    odd = make_clip(tmp_path / "odd.mp4", frames=4, size=(63, 47), audio=False)
    stylizer.stylize_video(odd, tmp_path / "padded.mp4")
    facts = read_clip_facts(tmp_path / "padded.mp4")
    assert (facts["width"], facts["height"]) == (64, 48)
    assert "odd.mp4 is 63×47; yuv420p needs even sides, so the output is 64×48" in caplog.text
    stylizer.stylize_video(odd, tmp_path / "kept.mp4", pixel_format="yuv444p")
    facts = read_clip_facts(tmp_path / "kept.mp4")
    assert (facts["width"], facts["height"], facts["frames"]) == (63, 47, 4)


def test_a_folder_of_videos_and_images_and_bad_clips_each_get_one_line(
    run_stylize, one_batch_checkpoint, tmp_path: Path, caplog
) -> None:
    caplog.set_level(logging.INFO)
    folder = tmp_path / "shots"
    folder.mkdir()
    make_clip(folder / "good.mp4", frames=8)
    make_clip(folder / "long.mkv", frames=40, audio=False)
    truncated_copy(folder / "long.mkv", folder / "cut.mkv", keep_fraction=0.5)
    (folder / "long.mkv").unlink()
    truncated_copy(folder / "good.mp4", folder / "broken.mp4", keep_fraction=0.6)
    (folder / "text.mp4").write_text("this is not a video\n")
    write_image(folder / "still.png", (40, 30), seed=4)
    sound = folder / "sound.m4a"
    _write_audio_only(sound)
    sound.rename(folder / "sound.mp4")
    out = tmp_path / "out"
    written = run_stylize(
        f"ckpt_path={one_batch_checkpoint('cyclegan')}", f"input={folder}", f"output={out}"
    )
    assert sorted(path.name for path in written) == ["cut.mp4", "good.mp4", "still.png"]
    # The cut .mkv keeps what decoded before the break, and says so.
    assert 0 < read_clip_facts(out / "cut.mp4")["frames"] < 40
    assert "cut.mkv breaks off after" in caplog.text
    for name, why in (
        ("broken.mp4", "cannot be read as a video"),
        ("text.mp4", "cannot be read as a video"),
        ("sound.mp4", "has no video stream"),
    ):
        lines = [
            r.getMessage() for r in caplog.records if r.getMessage().startswith(f"skipping {name}")
        ]
        assert len(lines) == 1 and why in lines[0] and "\n" not in lines[0], (name, lines)
    assert not list(out.glob(f"*{PARTIAL_SUFFIX}"))


def _write_audio_only(path: Path) -> None:
    import av

    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000, layout="mono")
        for start in range(0, 16000, 1024):
            chunk = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            chunk.sample_rate, chunk.pts = 16000, start
            container.mux(stream.encode(chunk))
        container.mux(stream.encode())


def test_video_settings_that_cannot_work_are_one_line(
    run_stylize, one_batch_checkpoint, tmp_path: Path
) -> None:
    clip = make_clip(tmp_path / "clip.mp4", frames=2, audio=False)
    ckpt = one_batch_checkpoint("cyclegan")
    with pytest.raises(ConfigError, match="video codec 'h265x' is not an encoder"):
        run_stylize(f"ckpt_path={ckpt}", f"input={clip}", "video.codec=h265x")
    with pytest.raises(ConfigError, match="statistics='frames' is not a way"):
        run_stylize(f"ckpt_path={ckpt}", f"input={clip}", "video.statistics=frames")
    with pytest.raises(ConfigError, match=r"cannot be written as '\.gif'"):
        run_stylize(f"ckpt_path={ckpt}", f"input={clip}", "video.format=gif")
    with pytest.raises(ConfigError, match="'webm' format does not support 'libx264' codec; "):
        run_stylize(f"ckpt_path={ckpt}", f"input={clip}", "video.format=webm")
    with pytest.raises(ConfigError, match="names a video file, which takes one input video"):
        run_stylize(f"ckpt_path={ckpt}", f"input={tmp_path}", f"output={tmp_path}/x.mp4")
    with pytest.raises(DataError, match="'aac' codec, and its sound is copied unchanged"):
        Stylizer.from_checkpoint(ckpt, device="cpu").stylize_video(
            make_clip(tmp_path / "sound.mp4", frames=2), tmp_path / "o.webm", codec="libvpx-vp9"
        )
    assert not list(tmp_path.glob(f".*{PARTIAL_SUFFIX}"))
    with pytest.raises(DataError, match=r"no\.mp4: no such video file"):
        Stylizer.from_checkpoint(ckpt, device="cpu").stylize_video(
            tmp_path / "no.mp4", tmp_path / "o.mp4"
        )


def test_an_interrupted_clip_leaves_no_output_and_no_partial_file(
    one_batch_checkpoint, tmp_path: Path, monkeypatch
) -> None:
    stylizer = Stylizer.from_checkpoint(one_batch_checkpoint("cyclegan"), device="cpu")
    clip = make_clip(tmp_path / "clip.mp4", frames=20)
    target = tmp_path / "out" / "styled.mp4"
    target.parent.mkdir()
    frames_done = 0
    original = Stylizer._stylize_group

    def interrupted(self, group, translate):
        nonlocal frames_done
        frames_done += len(group)
        if frames_done > 5:
            raise KeyboardInterrupt
        yield from original(self, group, translate)

    monkeypatch.setattr(Stylizer, "_stylize_group", interrupted)
    with pytest.raises(KeyboardInterrupt):
        stylizer.stylize_video(clip, target)
    assert list(target.parent.iterdir()) == []


def test_sigterm_stops_the_command_without_a_half_written_video(
    one_batch_checkpoint, tmp_path: Path
) -> None:
    clip = make_clip(tmp_path / "clip.mp4", frames=600, size=(128, 96), moving=False)
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "style_gan.stylize",
            f"ckpt_path={one_batch_checkpoint('cyclegan')}",
            f"input={clip}",
            f"output={out}",
            "device=cpu",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while not list(out.glob(f".clip.mp4*{PARTIAL_SUFFIX}")) and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0].decode()
        time.sleep(0.2)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    log = process.communicate(timeout=60)[0].decode()
    assert process.returncode != 0, log
    assert list(out.iterdir()) == [], log


def test_shared_statistics_pool_within_the_window_and_restart_at_a_cut() -> None:
    # Two shots of 6 frames: a dark picture, then an unrelated one. measure returns the
    # frame's index as its "statistics", so the pooled mean says which frames were pooled.
    rng = np.random.default_rng(0)
    first, second = rng.integers(0, 255, (2, 32, 32, 3), dtype=np.uint8)
    frames = [first] * 6 + [second] * 6
    measured: list[int] = []

    def measure(index_of: dict[int, int]):
        def run(pixels: np.ndarray):
            index = len(measured)
            measured.append(index)
            value = torch.full((1, 1, 1, 1), float(index_of[index]))
            return [(value, torch.zeros_like(value))]

        return run

    order = iter(range(12))
    items = [(next(order), pixels) for pixels in frames]
    sampled = [0, 2, 4, 6, 8, 10]  # stride 2 from each shot's first frame
    results = list(
        shared_statistics(
            items,
            lambda item: item[1],
            measure(dict(enumerate(sampled))),
            half_window=2,
            stride=2,
            cut_threshold=0.6,
        )
    )
    assert [item[0] for item, _ in results] == list(range(12))
    means = [stats[0][0].item() for _, stats in results]
    # Frame 5 pools samples 4 (same shot, within 2), never 6 (the next shot); frame 6 only 6, 8.
    assert means == [1, 1, 2, 3, 3, 4, 7, 7, 8, 9, 9, 10]
    assert is_cut(cut_signature(first), cut_signature(second), 0.6)
    assert not is_cut(cut_signature(first), cut_signature(first // 2 + 40), 0.6)


def _blinking_frames(count: int = 12) -> list[np.ndarray]:
    """A still picture with a square that turns black and white every frame: what changes
    per-frame statistics while most of the picture stays still."""
    rng = np.random.default_rng(3)
    background = rng.integers(40, 200, (1, 1, 3)) + rng.integers(-20, 20, (48, 64, 3))
    frames = []
    for index in range(count):
        frame = background.copy()
        frame[4:16, 4:16] = 255 if index % 2 else 0
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def test_shared_statistics_flicker_less_than_each_frame_its_own(
    instance_norm_checkpoint: Path,
) -> None:
    stylizer = Stylizer.from_checkpoint(instance_norm_checkpoint, device="cpu", batch_size=4)
    frames = _blinking_frames()
    still = (slice(None), slice(24, None), slice(32, None))  # never covered by the square

    def flicker(outputs: list[np.ndarray]) -> float:
        return consecutive_difference(np.stack(outputs)[still])

    per_frame = flicker(list(stylizer.stylize_frames(frames, statistics="frame")))
    window = flicker(list(stylizer.stylize_frames(frames, statistics="window", window=12)))
    whole_clip = flicker(list(stylizer.stylize_frames(frames, statistics="clip")))
    with pytest.raises(ConfigError, match="statistics='clip' reads the frames twice"):
        list(stylizer.stylize_frames(iter(frames), statistics="clip"))
    assert window < 0.5 * per_frame and whole_clip < 0.5 * per_frame, (
        window,
        whole_clip,
        per_frame,
    )


def test_video_frames_larger_than_a_tile_share_the_window_statistics(
    instance_norm_checkpoint: Path,
) -> None:
    frames = _blinking_frames(4)
    whole = Stylizer.from_checkpoint(instance_norm_checkpoint, device="cpu")
    tiled = Stylizer.from_checkpoint(
        instance_norm_checkpoint, device="cpu", tile_size=32, tile_overlap=16
    )
    stats = whole.clip_statistics(frames)
    expected = np.stack(list(whole.stylize_frames(frames, statistics=stats))).astype(float)

    def distance(statistics) -> float:
        result = np.stack(list(tiled.stylize_frames(frames, statistics=statistics)))
        return float(np.abs(result.astype(float) - expected).mean())

    # Tiles see padded borders, so they never match exactly; normalised with the clip's
    # statistics they come closer than with each frame's own.
    assert distance(stats) < 0.8 * distance("frame"), (distance(stats), distance("frame"))


def test_an_exemplar_model_stylizes_a_clip_in_a_style_image(
    run_stylize, one_batch_checkpoint, tmp_path: Path
) -> None:
    clip = make_clip(tmp_path / "clip.mp4", frames=6)
    style = write_image(tmp_path / "ink.png", (40, 40), seed=5)
    out = tmp_path / "out"
    written = run_stylize(
        f"ckpt_path={one_batch_checkpoint('exemplar')}",
        f"input={clip}",
        f"style={style}",
        "alpha=0.5",
        f"output={out}",
    )
    assert [path.name for path in written] == ["clip__ink.mp4"]
    facts = read_clip_facts(out / "clip__ink.mp4")
    assert facts["frames"] == 6 and facts["has_audio"]
    record = read_provenance(out / "clip__ink.mp4")
    assert record["styles"][0]["file"] == "ink.png" and record["settings"]["alpha"] == 0.5
    with pytest.raises(ConfigError, match="a video takes one alpha"):
        run_stylize(
            f"ckpt_path={one_batch_checkpoint('exemplar')}",
            f"input={clip}",
            f"style={style}",
            "alpha=[0.5,1]",
            f"output={out}",
        )


def test_max_side_downsizes_every_frame_of_a_clip(one_batch_checkpoint, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", frames=5, size=(128, 96))
    stylizer = Stylizer.from_checkpoint(one_batch_checkpoint("cyclegan"), device="cpu", max_side=64)
    stylizer.stylize_video(clip, tmp_path / "small.mp4")
    facts = read_clip_facts(tmp_path / "small.mp4")
    assert (facts["width"], facts["height"], facts["frames"]) == (64, 48, 5)


def test_the_scene_cuts_of_a_real_clip_are_found_and_nothing_else() -> None:
    # bikes.mp4: six shots of street footage, with camera moves and people passing. The frames
    # either side of each of these were looked at: each pair is two different shots. The
    # highest score between other consecutive frames is 0.29.
    with VideoReader(sample_clip("bikes")) as reader:
        signatures = [cut_signature(frame.pixels) for frame in reader.frames()]
    cuts = [
        index
        for index in range(1, len(signatures))
        if is_cut(signatures[index - 1], signatures[index], 0.6)
    ]
    assert cuts == [30, 76, 137, 187, 242]
