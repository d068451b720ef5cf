"""The console scripts: ``--help`` answered before the entry point's module is imported (torch
and Lightning take half a minute to import on a busy machine), else the entry point's main."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from style_gan.run.help import exit_with_help_if_asked


def _entry_point(command: str, module: str) -> Callable[[], None]:
    """The script ``command``: its help, or ``module``'s ``main``, imported only then."""

    def run() -> None:
        exit_with_help_if_asked(command)
        importlib.import_module(module).main()

    return run


train = _entry_point("style-gan-train", "style_gan.train")
evaluate = _entry_point("style-gan-eval", "style_gan.eval")
stylize = _entry_point("style-gan-stylize", "style_gan.stylize")
export = _entry_point("style-gan-export", "style_gan.export")
import_weights = _entry_point("style-gan-import", "style_gan.import_weights")
studio = _entry_point("style-gan-studio", "style_gan.studio.launch")
