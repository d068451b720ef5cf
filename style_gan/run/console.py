"""What a run prints: Lightning's messages in the run's log file, without its adverts and
hints that do not apply, and its stop message in batches rather than optimizer steps."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

_LIGHTNING_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric")
# rank_zero_info() logs through whichever of these Lightning imported last.
_RANK_ZERO_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
)
_NOISE = (
    re.compile(r"^💡 Tip: "),
    re.compile(r"^(GPU|TPU) available: False"),
)
_MAX_STEPS_REACHED = re.compile(r"^`Trainer\.fit` stopped: `max_steps=(\d+)` reached\.$")


class LightningMessages(logging.Filter):
    """Drops Lightning's adverts and its "no GPU/TPU available" lines; when ``max_batches`` is
    given, rewrites its ``max_steps=N reached`` (N counts every optimizer step, two per GAN
    batch) as the batches the user asked for."""

    def __init__(self, max_batches: int | None) -> None:
        super().__init__()
        self.max_batches = max_batches

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(pattern.match(message) for pattern in _NOISE):
            return False
        if self.max_batches is not None and _MAX_STEPS_REACHED.match(message):
            record.msg, record.args = f"stopped after max_batches={self.max_batches} batches", None
        return True


@contextmanager
def lightning_console(max_batches: int | None = None) -> Iterator[None]:
    """While a run trains: Lightning's messages filtered, and sent to the root logger's handlers
    (Hydra's console and ``<task>.log``) when it has any."""
    if logging.getLogger().hasHandlers():
        # Lightning adds its own console handler and stops propagation when it is imported
        # before logging is configured, which Hydra does only later; its messages then miss
        # the run's log file.
        for name in _LIGHTNING_LOGGERS:
            logger = logging.getLogger(name)
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True
    messages = LightningMessages(max_batches)
    for name in _RANK_ZERO_LOGGERS:
        logging.getLogger(name).addFilter(messages)
    with warnings.catch_warnings():
        # Lightning 2.6.6 builds torch's deprecated LeafSpec when it flattens a batch; there is
        # nothing to change on our side until a Lightning release stops doing so.
        warnings.filterwarnings(
            "ignore",
            message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
            category=FutureWarning,
        )
        # The weight averages and frozen feature networks stay in eval mode by design (their
        # train() keeps them there), which is all Lightning counts here.
        warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode")
        # Said on any machine with srun on the PATH, though a run started without srun is one
        # process by intent; jobs a SLURM launcher starts run under srun and never see it.
        warnings.filterwarnings("ignore", message=r"The `srun` command is available")
        # A data module without a validation split returns no validation loader on purpose
        # and says so itself, with how to add one.
        warnings.filterwarnings("ignore", message=r"Total length of `list` across ranks is zero")
        try:
            yield
        finally:
            for name in _RANK_ZERO_LOGGERS:
                logging.getLogger(name).removeFilter(messages)
