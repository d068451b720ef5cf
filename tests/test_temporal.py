"""The video test clips (tests/clips.py) hold what they claim, and the flicker measures
(style_gan.metrics.temporal) tell a steady clip from a flickering or scrambled one."""

from __future__ import annotations

import sys
from pathlib import Path

import av
import numpy as np
import pytest

from style_gan.errors import ConfigError
from style_gan.metrics.temporal import consecutive_difference, flicker_ratio, warping_error
from tests.clips import make_clip, read_clip_facts, truncated_copy


def decoded_frames(path: Path) -> list[np.ndarray]:
    """Every frame of ``path`` as stored (no rotation applied), RGB uint8."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_clip_keeps_frames_rate_and_audio(tmp_path: Path) -> None:
    facts = read_clip_facts(make_clip(tmp_path / "clip.mp4", frames=24, rate=12))
    assert facts["frames"] == 24
    assert facts["average_rate"] == 12
    assert facts["frame_times"] == pytest.approx([index / 12 for index in range(24)])
    assert facts["duration"] == pytest.approx(2.0)
    assert (facts["width"], facts["height"], facts["rotation"]) == (64, 48, 0)
    assert (facts["codec"], facts["pix_fmt"]) == ("h264", "yuv420p")
    assert facts["has_audio"] and facts["audio_rate"] == 44_100
    # AAC pads its last 1024-sample frame: within 23 ms of the video.
    assert facts["audio_duration"] == pytest.approx(facts["duration"], abs=1024 / 44_100)


def test_clip_without_audio(tmp_path: Path) -> None:
    facts = read_clip_facts(make_clip(tmp_path / "silent.mkv", frames=6, audio=False))
    assert facts["frames"] == 6
    assert not facts["has_audio"] and facts["audio_duration"] is None


def test_odd_size_clip(tmp_path: Path) -> None:
    # H.264 cannot store 4:2:0 at odd sizes, so the default is MPEG-4 Part 2 there.
    facts = read_clip_facts(make_clip(tmp_path / "odd.mp4", size=(63, 47), frames=6))
    assert (facts["width"], facts["height"], facts["frames"]) == (63, 47, 6)
    assert (facts["codec"], facts["pix_fmt"]) == ("mpeg4", "yuv420p")
    full_chroma = make_clip(tmp_path / "odd444.mp4", size=(63, 47), frames=6, pix_fmt="yuv444p")
    assert read_clip_facts(full_chroma)["codec"] == "h264"
    with pytest.raises(av.error.ExternalError):
        make_clip(tmp_path / "refused.mp4", size=(63, 47), frames=6, codec="libx264")


def test_variable_rate_clip_has_uneven_gaps(tmp_path: Path) -> None:
    facts = read_clip_facts(make_clip(tmp_path / "vfr.mp4", frames=12, variable_rate=True))
    gaps = np.diff(facts["frame_times"]) * 12
    assert facts["frames"] == 12
    np.testing.assert_allclose(gaps, [1, 2] * 5 + [1], atol=1e-3)
    assert facts["average_rate"] < 12


@pytest.mark.parametrize(("rotation", "suffix"), [(90, ".mp4"), (180, ".mp4"), (270, ".mov")])
def test_rotated_clip_reports_rotation(tmp_path: Path, rotation: int, suffix: str) -> None:
    path = make_clip(tmp_path / f"phone{suffix}", frames=4, rotation=rotation)
    facts = read_clip_facts(path)
    assert facts["rotation"] == rotation
    turned = rotation in (90, 270)
    assert (facts["width"], facts["height"]) == ((48, 64) if turned else (64, 48))
    # As decoders see it: counter-clockwise degrees in [-180, 180], pixels stored unrotated.
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    assert (frame.rotation + rotation) % 360 == 0
    assert (frame.width, frame.height) == (64, 48)


def test_ten_bit_clip(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "deep.mp4", frames=4, pix_fmt="yuv420p10le")
    facts = read_clip_facts(path)
    assert (facts["codec"], facts["pix_fmt"], facts["frames"]) == ("h264", "yuv420p10le", 4)
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    assert frame.to_ndarray(format="rgb48le").max() > 255


def test_truncated_copy(tmp_path: Path) -> None:
    # An mp4 keeps its index at the end: cut, it does not open.
    mp4 = make_clip(tmp_path / "clip.mp4")
    with pytest.raises(av.error.InvalidDataError):
        read_clip_facts(truncated_copy(mp4, tmp_path / "cut.mp4"))
    # A Matroska file opens and decodes up to where it was cut.
    mkv = make_clip(tmp_path / "clip.mkv")
    cut = read_clip_facts(truncated_copy(mkv, tmp_path / "cut.mkv", keep_fraction=0.5))
    assert 0 < cut["frames"] < 24


def test_flicker_ratio_sees_added_flicker(tmp_path: Path) -> None:
    still = decoded_frames(make_clip(tmp_path / "still.mp4", moving=False, audio=False))
    flickering = decoded_frames(
        make_clip(tmp_path / "flicker.mp4", moving=False, flicker=0.3, audio=False)
    )
    assert consecutive_difference(still) < 1e-3
    assert consecutive_difference(flickering) > 0.03
    assert flicker_ratio(flickering, still) > 30
    assert flicker_ratio(still, still) == 1
    # With motion in the input too, the ratio counts only what the flicker adds.
    moving = decoded_frames(make_clip(tmp_path / "moving.mp4", audio=False))
    moving_flicker = decoded_frames(make_clip(tmp_path / "mf.mp4", flicker=0.3, audio=False))
    assert flicker_ratio(moving, moving) == 1
    assert flicker_ratio(moving_flicker, moving) > 2


def test_warping_error_follows_the_motion(tmp_path: Path) -> None:
    frames = decoded_frames(make_clip(tmp_path / "moving.mp4", audio=False))
    own = warping_error(frames, frames)
    shuffled = [frames[index] for index in np.random.default_rng(0).permutation(len(frames))]
    assert own < warping_error(shuffled, frames) / 3
    # Beats comparing unwarped frames: a still input has zero flow everywhere.
    assert own < 0.8 * warping_error(frames, [frames[0]] * len(frames))
    flickering = decoded_frames(make_clip(tmp_path / "flicker.mp4", flicker=0.3, audio=False))
    assert warping_error(flickering, frames) > 2 * own
    # Grayscale frames, H×W or H×W×1, measure the same way.
    gray = [frame[..., 1] for frame in frames]
    assert warping_error([g[..., None] for g in gray], gray) < warping_error(gray[::-1], gray)


def test_measures_refuse_bad_frames() -> None:
    frame = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="at least 2 frames"):
        consecutive_difference([frame])
    with pytest.raises(ValueError, match="uint8"):
        consecutive_difference([frame.astype(np.float32)] * 2)
    with pytest.raises(ValueError, match="as many frames"):
        flicker_ratio([frame] * 3, [frame] * 2)


def test_warping_error_names_the_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 now raises ImportError
    frames = [np.zeros((8, 8, 3), np.uint8)] * 2
    with pytest.raises(ConfigError, match=r"pip install .*'\.\[video\]'"):
        warping_error(frames, frames)
