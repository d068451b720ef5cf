"""What the console entry points share: where the configs live and one-line user errors."""

from __future__ import annotations

import difflib
import functools
import os
import sys
from collections.abc import Callable
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, MissingConfigException
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, MissingMandatoryValue

from style_gan.errors import StyleGanError
from style_gan.run.config_dir import CONFIG_DIR as CONFIG_DIR  # the entry points import it here
from style_gan.run.instantiate import accepted_keys, unknown_key_message

# Whether the user asked for full tracebacks; one_line_composition_errors sets the variable
# itself while Hydra composes the config.
_USER_FULL_ERROR = os.environ.get("HYDRA_FULL_ERROR") == "1"


def root_error(error: BaseException) -> BaseException:
    """The user's error behind ``error``: the outermost StyleGanError or missing value along
    its causes (Hydra wraps errors raised while instantiating; ours keep the low-level error
    that led to them as their cause), else the innermost cause."""
    while not isinstance(error, (StyleGanError, MissingMandatoryValue)):
        if error.__cause__ is None:
            return error
        error = error.__cause__
    return error


def one_line_errors(task: Callable[..., Any]) -> Callable[..., Any]:
    """Print a StyleGanError as ``error: ...`` and exit 2 (in a multirun: raise it, so the job
    fails and the sweep goes on); let real bugs keep their traceback."""

    @functools.wraps(task)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _USER_FULL_ERROR:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        try:
            return task(*args, **kwargs)
        except Exception as error:
            if _USER_FULL_ERROR:
                raise
            cause = root_error(error)
            if isinstance(cause, MissingMandatoryValue):
                key = cause.full_key
                print(
                    f"error: {key} is required; set it on the command line: {key}=...",
                    file=sys.stderr,
                )
            elif isinstance(cause, StyleGanError):
                print(f"error: {cause}", file=sys.stderr)
            elif _is_lightning_config_error(cause):
                # What Lightning refuses that the config checks do not know (four GPUs asked
                # of a machine with one, say): its own words, on one line.
                print(f"error: {one_line(str(cause))}", file=sys.stderr)
            else:
                raise
            if in_multirun():
                # Hydra marks a job failed on an exception; exiting would end the whole sweep.
                raise cause from None
            sys.exit(2)

    return wrapper


def _is_lightning_config_error(error: BaseException) -> bool:
    """Whether ``error`` is Lightning's MisconfigurationException: a setting it refuses."""
    # Imported here: the entry points that never load Lightning need not load it to fail.
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    return isinstance(error, MisconfigurationException)


def one_line(text: str) -> str:
    """A message of several lines as one: its lines stripped and joined by spaces."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def in_multirun() -> bool:
    """Whether this is a job of a Hydra multirun (``-m``), where the sweeper decides what a
    failed job means."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def one_line_composition_errors(hydra_main: Callable[[], Any]) -> Callable[[], Any]:
    """Around a ``@hydra.main`` function: Hydra's own errors (a key or a group option that does
    not exist, bad override syntax) as one ``error: ...`` line and exit 2, not several lines."""

    @functools.wraps(hydra_main)
    def wrapper() -> Any:
        if _USER_FULL_ERROR:
            return hydra_main()
        # Hydra prints these itself and exits 1 unless HYDRA_FULL_ERROR=1 makes it raise them;
        # the task's one_line_errors unsets it again before any training code runs.
        os.environ["HYDRA_FULL_ERROR"] = "1"
        try:
            return hydra_main()
        except HydraException as error:
            print(f"error: {composition_error_message(error)}", file=sys.stderr)
            sys.exit(2)
        except StyleGanError as error:
            # From a sweeper or launcher, outside the jobs (whose own errors one_line_errors
            # prints).
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)
        finally:
            os.environ.pop("HYDRA_FULL_ERROR", None)

    return wrapper


def composition_error_message(error: HydraException) -> str:
    """One line for an error Hydra raised while composing the config from the command line."""
    cause = error.__cause__
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and isinstance(
        cause.parent_node, DictConfig
    ):
        key = cause.full_key
        node = cause.parent_node
        target = node.get("_target_")
        accepted = accepted_keys(target) if target else None
        if accepted is not None and key.rsplit(".", 1)[-1] in accepted:
            return f"{key} is not in the config yet; add it with a leading +: +{key}=..."
        allowed = accepted if accepted is not None else [str(k) for k in node if k != "hydra"]
        return unknown_key_message(key, allowed, target or "the config")
    if isinstance(error, MissingConfigException) and error.options and error.missing_cfg_file:
        group, _, option = error.missing_cfg_file.rpartition("/")
        hint = difflib.get_close_matches(option, error.options, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        return (
            f"{group}={option} does not exist{suggestion}; "
            f"choose one of: {', '.join(sorted(error.options))}"
        )
    return one_line(str(error))
