"""Logger factories whose defaults suit unattended cluster jobs."""

from __future__ import annotations

import netrc
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lightning.pytorch.loggers import WandbLogger

from style_gan.errors import check_choice

WANDB_MODES = ("auto", "online", "offline", "disabled")


def wandb_logged_in() -> bool:
    """Whether W&B has an API key (WANDB_API_KEY or a ~/.netrc entry), checked without prompting."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlsplit(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    netrc_path = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return netrc.netrc(netrc_path).authenticators(host or "") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def wandb_logger(mode: str = "auto", **kwargs: Any) -> WandbLogger:
    """A WandbLogger that never prompts for a login.

    mode: ``auto`` = the WANDB_MODE environment variable if set, else online when an API key is
    configured and offline otherwise (upload later with ``wandb sync``); ``online``,
    ``offline`` and ``disabled`` as in W&B.
    """
    check_choice("logger.wandb.mode", mode, WANDB_MODES)
    if mode == "auto":
        mode = os.environ.get("WANDB_MODE") or ("online" if wandb_logged_in() else "offline")
    return WandbLogger(mode=mode, **kwargs)
