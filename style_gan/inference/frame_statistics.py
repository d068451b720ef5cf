"""Instance-norm statistics shared by a video's frames, so that its colours do not pulse.

A generator with instance norms normalises every frame by that frame's own (μ, σ²) per
channel and layer. Those change from frame to frame with whatever moves, enters or is noise,
and each change shifts the output's colour and contrast: flicker, the classic artefact of
stylizing a video frame by frame. As tiles share their image's statistics (tiling.py), frames
here share statistics pooled over the frames around them: frame t is normalised with the
statistics of the sampled frames of its shot within t ± ``half_window``, so they drift slowly
with the scene, and restart at a scene cut, so one shot never colours the next.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import numpy as np
from PIL import Image

from style_gan.inference.tiling import Statistics, pooled_statistics

Item = TypeVar("Item")
# Frames are compared as SIGNATURE_SIDE² grey thumbnails for scene cuts.
SIGNATURE_SIDE = 32


def cut_signature(pixels: np.ndarray) -> np.ndarray:
    """A frame reduced to what a scene cut changes: a small grey thumbnail with its level and
    contrast removed (median and median absolute deviation, which a bright object entering
    barely moves), so that a flash or a fade within a shot does not count as a cut."""
    grey = Image.fromarray(pixels).convert("L").resize((SIGNATURE_SIDE, SIGNATURE_SIDE))
    values = np.asarray(grey, dtype=np.float32)
    centre = np.median(values)
    return (values - centre) / (1.4826 * np.median(np.abs(values - centre)) + 1.0)


def is_cut(previous: np.ndarray, current: np.ndarray, threshold: float) -> bool:
    """Whether two consecutive signatures differ by more than ``threshold`` in most places:
    the median absolute difference, which a change in a minority of the picture (an object
    moving, a light switched on) leaves low. Unrelated photos score about 1, a pan of 3% of
    the width 0.07, of 12% 0.33, a flash 0.06."""
    return float(np.median(np.abs(current - previous))) > threshold


def shared_statistics(
    items: Iterable[Item],
    pixels: Callable[[Item], np.ndarray],
    measure: Callable[[np.ndarray], Statistics],
    half_window: int,
    stride: int,
    cut_threshold: float | None,
) -> Iterator[tuple[Item, Statistics]]:
    """``items`` (frames, in order) each with the statistics to normalise it with: pooled over
    the frames of its shot within ± ``half_window`` that were measured (every ``stride``-th
    of a shot, from its first; ``measure`` runs the generator on one frame's pixels). Streams
    with a look-ahead of ``half_window`` frames: memory does not grow with the clip."""
    stride = max(1, min(stride, half_window or 1))
    ahead: deque[tuple[int, int, Item]] = deque()
    samples: deque[tuple[int, int, Statistics]] = deque()
    shot, shot_start, previous = 0, 0, None
    cache: tuple[tuple[int, ...], Statistics] | None = None

    def release() -> tuple[Item, Statistics]:
        nonlocal cache
        index, frame_shot, item = ahead.popleft()
        while samples and samples[0][0] < index - half_window:
            samples.popleft()
        chosen = tuple(
            sample_index
            for sample_index, sample_shot, _ in samples
            if sample_shot == frame_shot and sample_index <= index + half_window
        )
        if cache is None or cache[0] != chosen:
            measured = [stats for sample_index, _, stats in samples if sample_index in chosen]
            cache = (chosen, pooled_statistics(measured))
        return item, cache[1]

    for index, item in enumerate(items):
        frame = pixels(item)
        signature = cut_signature(frame)
        if (
            previous is not None
            and cut_threshold is not None
            and is_cut(previous, signature, cut_threshold)
        ):
            shot, shot_start = shot + 1, index
        previous = signature
        # A shot's first frame is always measured, so every frame has a sample within
        # stride - 1 <= half_window frames before it.
        if (index - shot_start) % stride == 0:
            samples.append((index, shot, measure(frame)))
        ahead.append((index, shot, item))
        while ahead and ahead[0][0] + half_window <= index:
            yield release()
    while ahead:
        yield release()
