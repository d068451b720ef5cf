"""The package's architecture, checked: imports run downward only, and every package says what
it may import."""

import ast
import importlib
from pathlib import Path

import pytest

import style_gan

PACKAGE_ROOT = Path(style_gan.__file__).parent
LEAVES = {"errors", "files", "ranges", "weights", "precision", "cpus"}
ENTRY_POINTS = {"train", "eval", "stylize", "export", "import_weights", "commands"}

# What each unit of style_gan may import besides itself: the arrows of style_gan/__init__.py.
ALLOWED_IMPORTS: dict[str, set[str]] = {
    "studio": {"inference", "gan", "nets", "data", "run"} | LEAVES,
    "inference": {"methods", "run", "gan", "nets", "data"} | LEAVES,
    "sweeps": {"run"} | LEAVES,
    "methods": {"gan", "metrics", "nets"} | LEAVES,
    "gan": {"nets"} | LEAVES,
    "metrics": {"nets"} | LEAVES,
    "nets": LEAVES,
    "data": LEAVES,
    "run": LEAVES,
    "files": set(),
    "ranges": {"errors"},
    "weights": {"errors"},
    "precision": set(),
    "cpus": set(),
    "errors": set(),
}


def unit_of(path: Path) -> str:
    """The top-level unit of style_gan a source file belongs to (a sub-package or a module)."""
    return path.relative_to(PACKAGE_ROOT).parts[0].removesuffix(".py")


def imported_units(path: Path) -> set[str]:
    """The units of style_gan a source file imports, at any depth of the file (lazy imports too)."""
    units = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "style_gan" and len(parts) > 1:
                units.add(parts[1])
    return units


def source_files() -> list[Path]:
    return sorted(PACKAGE_ROOT.rglob("*.py"))


def test_every_unit_has_a_place_in_the_layout() -> None:
    units = {unit_of(path) for path in source_files()} - {"__init__"}
    assert units <= set(ALLOWED_IMPORTS) | ENTRY_POINTS, (
        f"units not in the layout: {sorted(units - set(ALLOWED_IMPORTS) - ENTRY_POINTS)}; "
        "give them a place in style_gan/__init__.py and ALLOWED_IMPORTS"
    )


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(PACKAGE_ROOT)))
def test_imports_run_downward(path: Path) -> None:
    unit = unit_of(path)
    if unit in ENTRY_POINTS or unit == "__init__":
        return
    upward = imported_units(path) - ALLOWED_IMPORTS[unit] - {unit}
    assert not upward, f"{path.relative_to(PACKAGE_ROOT)} imports {sorted(upward)}"


@pytest.mark.parametrize("package", sorted(u for u in ALLOWED_IMPORTS if u not in LEAVES))
def test_package_docstring_says_what_lives_there_and_what_it_may_import(package: str) -> None:
    docstring = importlib.import_module(f"style_gan.{package}").__doc__ or ""
    summary, _, rule = docstring.partition("May import:")
    assert summary.strip(), f"style_gan/{package}/__init__.py does not say what lives there"
    named = {unit for unit in ALLOWED_IMPORTS if unit in rule} | (
        LEAVES if "leaves" in rule else set()
    )
    assert named == ALLOWED_IMPORTS[package], (
        f"style_gan/{package}/__init__.py says it may import {sorted(named)}, "
        f"the layout allows {sorted(ALLOWED_IMPORTS[package])}"
    )


def test_the_test_finds_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "vgg.py"
    module.write_text("def f():\n    from style_gan.metrics.features import x\n")
    assert imported_units(module) == {"metrics"}
