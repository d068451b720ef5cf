"""Temporal consistency of stylized video: how much flicker a frame-by-frame translation adds.

Frames are uint8 H×W×C arrays (C = 3 for RGB; C = 1 or plain H×W for grayscale), compared as
values / 255 in [0, 1]; a clip is a sequence of them or one T×H×W×C array. Every measure returns
a float.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from style_gan.errors import ConfigError

# Thresholds of Ruder et al.'s video style transfer (GCPR 2016). Forward-backward consistency
# (from Sundaram et al., ECCV 2010): α scales the allowed mismatch with the motion, β (px²) is
# the floor for small motions. Motion boundaries: the same with γ and δ for the flow's gradient.
CONSISTENCY_ALPHA = 0.01
CONSISTENCY_BETA = 0.5
BOUNDARY_GAMMA = 0.01
BOUNDARY_DELTA = 0.002


def _check_clip(frames: Sequence[np.ndarray] | np.ndarray, name: str) -> None:
    if len(frames) < 2:
        raise ValueError(f"{name} needs at least 2 frames, got {len(frames)}")
    for frame in frames:
        if frame.dtype != np.uint8 or frame.ndim < 2 or frame.shape[2:] not in ((), (1,), (3,)):
            raise ValueError(
                f"{name} frames must be uint8 arrays H×W×3, H×W×1 or H×W, got {frame.dtype} "
                f"of shape {frame.shape}"
            )
        if frame.shape != frames[0].shape:
            raise ValueError(f"{name} frames differ in shape: {frames[0].shape}, {frame.shape}")


def _check_pair(
    outputs: Sequence[np.ndarray] | np.ndarray, inputs: Sequence[np.ndarray] | np.ndarray
) -> None:
    _check_clip(outputs, "outputs")
    _check_clip(inputs, "inputs")
    if len(outputs) != len(inputs) or outputs[0].shape[:2] != inputs[0].shape[:2]:
        raise ValueError(
            f"outputs ({len(outputs)} frames of {outputs[0].shape}) and inputs ({len(inputs)} "
            f"frames of {inputs[0].shape}) must have as many frames of the same height and width"
        )


def consecutive_difference(frames: Sequence[np.ndarray] | np.ndarray) -> float:
    """Mean absolute change between consecutive frames, (1/(T-1)) Σ_t mean|F_t - F_{t-1}| / 255:
    0 for a still picture, larger the more a clip changes from frame to frame."""
    _check_clip(frames, "frames")
    total = 0.0
    for previous, current in itertools.pairwise(frames):
        total += float(np.abs(current.astype(np.float32) - previous.astype(np.float32)).mean())
    return total / (len(frames) - 1) / 255


def flicker_ratio(
    outputs: Sequence[np.ndarray] | np.ndarray, inputs: Sequence[np.ndarray] | np.ndarray
) -> float:
    """consecutive_difference(outputs) / consecutive_difference(inputs): for a static-camera
    clip, how much more the stylized frames change from one to the next than the input did
    (1 = no flicker added). inf when only the outputs change; 1 when neither does."""
    _check_pair(outputs, inputs)
    changed, reference = consecutive_difference(outputs), consecutive_difference(inputs)
    if reference == 0:
        return 1.0 if changed == 0 else math.inf
    return changed / reference


def _gray(frame: np.ndarray) -> np.ndarray:
    import cv2

    if frame.ndim == 2:
        return frame
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.shape[2] == 3 else frame[..., 0]


def _flow(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Farneback flow (H×W×2, float32, x then y) with source(p) ≈ target(p + flow(p))."""
    import cv2

    # The values of OpenCV's optical-flow tutorial: 3 pyramid levels halving each time,
    # 15-pixel averaging windows, polynomials fitted over 5-pixel neighbourhoods.
    return cv2.calcOpticalFlowFarneback(
        source,
        target,
        None,
        pyr_scale=0.5,
        levels=3,
        winsize=15,
        iterations=3,
        poly_n=5,
        poly_sigma=1.2,
        flags=0,
    )


def warping_error(
    outputs: Sequence[np.ndarray] | np.ndarray, inputs: Sequence[np.ndarray] | np.ndarray
) -> float:
    """Mean absolute difference between each output frame and the previous output frame
    warped onto it along the motion of the inputs, over pixels where that motion is reliable
    (lower is steadier; 0 for outputs that follow the input's motion exactly).

    For each t ≥ 1, on the grayscale inputs I: backward flow b = Farneback(I_t → I_{t-1}), so
    I_t(p) ≈ I_{t-1}(p + b(p)), and forward flow f = Farneback(I_{t-1} → I_t). The warped
    output is W_t(p) = O_{t-1}(p + b(p)) (bilinear). A pixel is reliable (mask M_t) when p + b(p)
    lies inside the frame, the flows agree (fails where I_t shows what I_{t-1} hid: occlusion)
        |b(p) + f(p + b(p))|² ≤ α (|b(p)|² + |f(p + b(p))|²) + β,  α = 0.01, β = 0.5 px²,
    and p is off a motion boundary, where Farneback's smooth flow is consistent but wrong
        |∇b_x(p)|² + |∇b_y(p)|² ≤ γ |b(p)|² + δ,  γ = 0.01, δ = 0.002
    (Ruder et al. 2016). Then
        E_t = Σ_p M_t(p) mean_c |O_t(p) - W_t(p)| / (255 Σ_p M_t(p)),
    and the result is the mean of E_t over the pairs with any reliable pixel.
    """
    try:
        import cv2
    except ImportError as error:
        raise ConfigError(
            "warping_error needs OpenCV: pip install -c constraints.txt -e '.[video]'"
        ) from error
    _check_pair(outputs, inputs)
    height, width = inputs[0].shape[:2]
    grid_x, grid_y = np.meshgrid(
        np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    )
    errors = []
    previous_gray = _gray(inputs[0])
    for t in range(1, len(inputs)):
        gray = _gray(inputs[t])
        backward = _flow(gray, previous_gray)
        forward = _flow(previous_gray, gray)
        map_x, map_y = grid_x + backward[..., 0], grid_y + backward[..., 1]
        inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
        forward_there = cv2.remap(forward, map_x, map_y, cv2.INTER_LINEAR)
        mismatch = np.square(backward + forward_there).sum(axis=-1)
        motion = np.square(backward).sum(axis=-1) + np.square(forward_there).sum(axis=-1)
        reliable = inside & (mismatch <= CONSISTENCY_ALPHA * motion + CONSISTENCY_BETA)
        roughness = sum(np.square(g) for c in (0, 1) for g in np.gradient(backward[..., c]))
        reliable &= roughness <= BOUNDARY_GAMMA * np.square(backward).sum(axis=-1) + BOUNDARY_DELTA
        previous_gray = gray
        if not reliable.any():
            continue
        current = outputs[t].astype(np.float32)
        # remap drops a single channel axis; put it back before comparing.
        warped = cv2.remap(
            outputs[t - 1].astype(np.float32), map_x, map_y, cv2.INTER_LINEAR
        ).reshape(current.shape)
        difference = np.abs(current - warped)
        if difference.ndim == 3:
            difference = difference.mean(axis=-1)
        errors.append(float(difference[reliable].mean()) / 255)
    if not errors:
        raise ValueError("warping_error found no pixel with reliable flow in any frame pair")
    return float(np.mean(errors))
