"""What a person's feedback changes: the parameters of the next generation and refine, one
step per button press, each step recorded so a result can say how it came about."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

# Each press multiplies or divides a weight by this; four presses are about 2.5×.
STEP_FACTOR = 1.25
# Beyond these the output stops being the model's translation (strength extrapolates the
# change G makes; past 1.5 it overshoots into noise) or the content entirely.
STRENGTH_RANGE = (0.0, 1.5)
CONTENT_WEIGHT_RANGE = (1.0, 8.0)
ACTIONS = ("stronger_style", "weaker_style", "keep_content", "variation")


@dataclass(frozen=True)
class Parameters:
    """What the next generation and refine do.

    ``strength``: the style's strength — α of the exemplar method, else the blend
    x + strength · (G(x) − x); also the style weight of a refine. ``content_weight``: how
    much of the content's detail the result keeps (≥ 1; see ``generation``) and the content
    weight of a refine. ``seed``: 0 = the plain pass; others a seeded variation (a shifted
    and flipped pass, a crop of the exemplar; new noise for DCGAN).
    """

    strength: float = 1.0
    content_weight: float = 1.0
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def apply_feedback(parameters: Parameters, action: str) -> Parameters:
    """The parameters after one press of ``action`` (one of ``ACTIONS``)."""
    if action == "stronger_style":
        return dataclasses.replace(
            parameters, strength=_clamp(parameters.strength * STEP_FACTOR, STRENGTH_RANGE)
        )
    if action == "weaker_style":
        return dataclasses.replace(
            parameters, strength=_clamp(parameters.strength / STEP_FACTOR, STRENGTH_RANGE)
        )
    if action == "keep_content":
        weight = _clamp(parameters.content_weight * STEP_FACTOR * STEP_FACTOR, CONTENT_WEIGHT_RANGE)
        return dataclasses.replace(parameters, content_weight=weight)
    if action == "variation":
        return dataclasses.replace(parameters, seed=parameters.seed + 1)
    raise ValueError(f"unknown feedback {action!r}; one of: {', '.join(ACTIONS)}")


def describe(parameters: Parameters, method_input: str) -> str:
    """One line saying what the next generation does with these parameters."""
    strength = (
        f"style α {parameters.strength:.2f}"
        if method_input == "image_and_style"
        else f"style strength {parameters.strength:.2f}"
    )
    if method_input == "noise":
        return f"samples of seed {parameters.seed}"
    variation = "plain pass" if parameters.seed == 0 else f"variation {parameters.seed}"
    return f"{strength} · content weight {parameters.content_weight:.2f} · {variation}"


def _clamp(value: float, bounds: tuple[float, float]) -> float:
    return round(min(max(value, bounds[0]), bounds[1]), 4)
