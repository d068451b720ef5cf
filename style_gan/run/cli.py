"""What the console entry points share: where the configs live and one-line user errors."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf.errors import MissingMandatoryValue

from style_gan.errors import StyleGanError

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_CHECKOUT_CONFIG_DIR = _PACKAGE_DIR.parent / "conf"
# A source checkout keeps conf/ beside the package; a wheel carries it inside the package.
CONFIG_DIR = _CHECKOUT_CONFIG_DIR if _CHECKOUT_CONFIG_DIR.is_dir() else _PACKAGE_DIR / "conf"


def root_error(error: BaseException) -> BaseException:
    """The innermost cause of ``error`` (Hydra wraps errors raised while instantiating)."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def one_line_errors(task: Callable[..., Any]) -> Callable[..., Any]:
    """Print a StyleGanError as ``error: ...`` and exit 2; let real bugs keep their traceback."""

    @functools.wraps(task)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return task(*args, **kwargs)
        except Exception as error:
            if os.environ.get("HYDRA_FULL_ERROR"):
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
            else:
                raise
            sys.exit(2)

    return wrapper
