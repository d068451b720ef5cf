"""Every style_gan command in the README (and each --help page's example) works as written:
each one's config composes with its overrides, names no key its node does not take and holds
no value out of range. (Running them needs datasets, GPUs and clusters; the parts that can run
here are tested elsewhere.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from style_gan.errors import ConfigError
from style_gan.run.cli import CONFIG_DIR
from style_gan.run.config_values import check_config_values
from style_gan.run.help import COMMANDS
from style_gan.run.instantiate import check_target_keys

README = Path(__file__).parents[1] / "README.md"
CONFIGS = {name: command.config for name, command in COMMANDS.items()}
# Flags that are no overrides: -m starts a sweep; the help and inspection flags run nothing.
SWEEP_FLAGS = {"-m", "--multirun"}
INSPECTION_FLAGS = {"--help", "-h", "--cfg", "--info", "--hydra-help"}
# Where the README shows a placeholder, a value of the same kind.
PLACEHOLDERS = [(re.compile(r"<[^>]+>"), "run"), (re.compile(r"=\.\.\.(?=\s|$)"), "=x")]


def readme_commands() -> list[str]:
    """The style_gan command lines of the README's bash blocks, continuations joined and
    comments dropped."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            words = line.split()
            if words and Path(words[0]).name in CONFIGS:
                commands.append(line)
    return commands


def first_of_sweep(value: str) -> str:
    """``5,10`` -> ``5`` (a sweep's first job); commas inside [] or () are kept."""
    depth = 0
    for index, char in enumerate(value):
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "," and depth == 0:
            return value[:index]
    return value


def overrides_of(command: str) -> tuple[str, list[str]]:
    """(config name, overrides) of one README command."""
    for pattern, replacement in PLACEHOLDERS:
        command = pattern.sub(replacement, command)
    program, *words = shlex.split(command)
    overrides = [word for word in words if word not in SWEEP_FLAGS]
    if SWEEP_FLAGS & set(words):
        overrides = [
            f"{key}={first_of_sweep(value)}" if equals else key
            for key, equals, value in (word.partition("=") for word in overrides)
        ]
    return CONFIGS[Path(program).name], overrides


# The README's commands, and each --help page's example.
EXAMPLES = [*readme_commands(), *(command.example for command in COMMANDS.values())]


def test_the_readme_shows_every_command() -> None:
    assert len(EXAMPLES) > 40
    assert {Path(c.split()[0]).name for c in readme_commands()} == set(CONFIGS)


@pytest.mark.parametrize("command", EXAMPLES)
def test_a_readme_command_composes_and_passes_the_config_checks(command: str, tmp_path) -> None:
    config_name, overrides = overrides_of(command)
    if INSPECTION_FLAGS & set(overrides):
        pytest.skip("runs nothing: tests/test_cli.py checks the flags")
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            config_name,
            overrides=[f"paths.root_dir={tmp_path}", *overrides],
            return_hydra_config=True,
        )
    GlobalHydra.instance().clear()
    check_target_keys(cfg)
    try:
        check_config_values(cfg)
    except ConfigError as error:
        # The GPU commands are written for a machine that has one.
        if "no GPU was found" not in str(error):
            raise
