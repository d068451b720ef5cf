"""The console scripts: ``--help`` answered before the entry point's module is imported (torch
and Lightning take half a minute to import on a busy machine), else the entry point's main."""

from __future__ import annotations

from style_gan.run.help import exit_with_help_if_asked


def train() -> None:
    exit_with_help_if_asked("style-gan-train")
    from style_gan.train import main

    main()


def evaluate() -> None:
    exit_with_help_if_asked("style-gan-eval")
    from style_gan.eval import main

    main()


def stylize() -> None:
    exit_with_help_if_asked("style-gan-stylize")
    from style_gan.stylize import main

    main()


def export() -> None:
    exit_with_help_if_asked("style-gan-export")
    from style_gan.export import main

    main()


def import_weights() -> None:
    exit_with_help_if_asked("style-gan-import")
    from style_gan.import_weights import main

    main()


def studio() -> None:
    exit_with_help_if_asked("style-gan-studio")
    from style_gan.studio.launch import main

    main()
