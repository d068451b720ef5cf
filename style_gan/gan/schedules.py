"""Learning-rate schedules, as multipliers of the base rate for ``LambdaLR``."""

from __future__ import annotations


class LinearDecay:
    """1.0 for ``constant_epochs``, then linearly down over ``decay_epochs`` (CycleGAN).

    multiplier(e) = 1 - max(0, e + 1 - constant_epochs) / (decay_epochs + 1), for the epoch e
    that is about to start (0-based), so the last decay epoch still trains at a small rate;
    0 after that (a run longer than the schedule must not get a negative rate).
    ``decay_epochs`` 0 = constant rate.
    """

    def __init__(self, constant_epochs: int, decay_epochs: int) -> None:
        if constant_epochs < 0 or decay_epochs < 0:
            raise ValueError(
                f"lr schedule epochs must be >= 0, got constant_epochs={constant_epochs}, "
                f"decay_epochs={decay_epochs}"
            )
        self.constant_epochs = constant_epochs
        self.decay_epochs = decay_epochs

    def __call__(self, epoch: int) -> float:
        if self.decay_epochs == 0:
            return 1.0
        return max(0.0, 1.0 - max(0, epoch + 1 - self.constant_epochs) / (self.decay_epochs + 1))
