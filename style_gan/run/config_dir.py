"""Where the configs live; a module of its own so that ``--help`` finds them without Hydra."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_CHECKOUT_CONFIG_DIR = _PACKAGE_DIR.parent / "conf"
# A source checkout keeps conf/ beside the package; a wheel carries it inside the package.
CONFIG_DIR = _CHECKOUT_CONFIG_DIR if _CHECKOUT_CONFIG_DIR.is_dir() else _PACKAGE_DIR / "conf"
