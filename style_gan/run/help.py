"""``--help`` for the console entry points: what the command does, its own keys with the comments
above them in ``conf/<name>.yaml``, the config groups it composes and an example. Built from the
yaml text with the standard library alone, so that it prints before torch or Hydra is imported
(they take half a minute to import on a busy machine)."""

from __future__ import annotations

import functools
import re
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from style_gan.run.config_dir import CONFIG_DIR

HELP_FLAGS = ("--help", "-h")
# Plumbing rather than settings: it names the folder under logs/ the runs go to.
_HIDDEN_KEYS = {"task_name"}
# Present in every command's defaults: where files go and Hydra's own settings.
_HIDDEN_GROUPS = {"_self_", "hydra", "paths"}
_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w]*):(?: (?P<value>.*))?$")
_DEFAULT = re.compile(r"^ *- (?:optional )?(?P<group>[\w/]+)(?:@\S+)?(?:: (?P<option>.+))?$")


@dataclass(frozen=True)
class Command:
    """A console entry point: its config file and one example of its use."""

    config: str
    example: str


COMMANDS: dict[str, Command] = {
    "style-gan-train": Command(
        "train", "style-gan-train experiment=horse2zebra data.root=/data/horse2zebra trainer=gpu"
    ),
    "style-gan-eval": Command(
        "eval",
        "style-gan-eval ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt metrics=[fd_effnet]",
    ),
    "style-gan-stylize": Command(
        "stylize",
        "style-gan-stylize ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt input=photo.jpg",
    ),
    "style-gan-export": Command(
        "export",
        "style-gan-export ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt format=onnx",
    ),
    "style-gan-import": Command(
        "import", "style-gan-import input=latest_net_G_A.pth format=cyclegan output=horse2zebra/"
    ),
    "style-gan-studio": Command(
        "studio", "style-gan-studio ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt"
    ),
}


@dataclass
class Block:
    """Consecutive entries of a yaml file (``key=value``) and the comment above them."""

    comment: list[str] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)


@dataclass
class ConfigText:
    """What ``--help`` shows of a config file: its header, its keys and its config groups."""

    header: list[str]
    keys: list[Block]
    groups: list[Block]


def read_config_text(text: str) -> ConfigText:
    """The header comment, the key blocks and the defaults-list blocks of a config file's text.
    Nested keys are shown dotted (``refine.steps=20``)."""
    header: list[str] = []
    keys: list[Block] = []
    groups: list[Block] = []
    comment: list[str] = []
    parents: list[tuple[int, str]] = []  # (indent, key) of the mappings the line is inside
    in_header = True
    in_defaults = False
    current: Block | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            # "# " opens a comment; the spaces after it indent continuation lines.
            (header if in_header else comment).append(stripped[1:].removeprefix(" ").rstrip())
            current = None
            continue
        in_header = False
        if not stripped:
            current = None
            continue
        default = _DEFAULT.match(line) if in_defaults else None
        if default:
            group, option = default["group"], default["option"] or ""
            if group not in _HIDDEN_GROUPS and "${" not in option:
                current = _append(groups, current, comment, f"{group}={_flow(option)}")
            comment = []
            continue
        match = _KEY.match(line)
        if match is None:
            continue
        indent, key, value = len(match["indent"]), match["key"], match["value"]
        parents = [(i, k) for i, k in parents if i < indent]
        in_defaults = indent == 0 and key == "defaults"
        if in_defaults or not value:
            parents.append((indent, key))
            # A mapping's own comment goes with its first key (``video:`` → ``video.format=``).
            comment = [] if in_defaults else comment
            current = None
            continue
        name = ".".join([*(k for _, k in parents), key])
        if name not in _HIDDEN_KEYS:
            current = _append(keys, current, comment, f"{name}={_value(value)}")
        comment = []
    return ConfigText(header, keys, groups)


def _append(blocks: list[Block], current: Block | None, comment: list[str], entry: str) -> Block:
    """Add ``entry`` to ``current`` when it follows it directly, else to a new block."""
    if current is None or comment:
        current = Block(comment=list(comment))
        blocks.append(current)
    current.entries.append(entry)
    return current


def _value(value: str) -> str:
    value = value.split(" #", 1)[0].strip()
    return "???  (required)" if value == "???" else _flow(value)


def _flow(value: str) -> str:
    """A yaml flow list as a command line writes it: ``[a, b]`` as ``[a,b]``."""
    return re.sub(r",\s+", ",", value.strip())


def group_options(group: str) -> list[str]:
    """The options of a config group: its folder's yaml files."""
    return sorted(path.stem for path in (CONFIG_DIR / group).glob("*.yaml"))


def command_help(command: str) -> str:
    """The ``--help`` text of a console entry point (a key of COMMANDS)."""
    spec = COMMANDS[command]
    path = CONFIG_DIR / f"{spec.config}.yaml"
    config = read_config_text(path.read_text())
    lines = [*config.header, "", f"Settings (key=value; from {path.name}):"]
    for block in config.keys:
        lines += [f"  # {line}" for line in block.comment]
        lines += [f"  {entry}" for entry in block.entries]
    if config.groups:
        lines += ["", "Config groups (group=option; the default, then the options in conf/):"]
        for block in config.groups:
            lines += [f"  # {line}" for line in block.comment]
            for entry in block.entries:
                options = ", ".join(group_options(entry.split("=", 1)[0]))
                line = f"  {entry}  ({options})"
                lines.append(textwrap.fill(line, 100, subsequent_indent=" " * 6))
    lines += [
        "",
        f"Each run has its own folder, logs/{spec.config}/runs/<time>/, under the current one",
        "(STYLE_GAN_ROOT=<dir>: under <dir>, with data/).",
        "",
        "Example:",
        f"  {spec.example}",
        "",
        "Hydra: --cfg job prints the composed config; --info and --hydra-help its own help.",
    ]
    return "\n".join(lines) + "\n"


def help_requested(argv: list[str]) -> bool:
    """Whether the command line asks for ``--help`` (Hydra's --hydra-help is left to Hydra)."""
    return any(arg in HELP_FLAGS for arg in argv)


def exit_with_help_if_asked(command: str) -> None:
    """Print the command's help and exit 0 when ``sys.argv`` asks for it."""
    if help_requested(sys.argv[1:]):
        sys.stdout.write(command_help(command))
        sys.exit(0)


def answers_help(command: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Around an entry point's main: ``--help`` prints the command's help, not Hydra's page
    (``python -m style_gan.<name> --help`` as well as the console script)."""

    def decorate(main: Callable[[], Any]) -> Callable[[], Any]:
        @functools.wraps(main)
        def wrapper() -> Any:
            exit_with_help_if_asked(command)
            return main()

        return wrapper

    return decorate
