"""A sweep's results in one table: ``summary.csv`` and ``summary.md`` in the sweep folder.

Written by Hydra when a multirun ends (SweepSummary, a Hydra callback in conf/hydra/) and by
``style-gan-summary <sweep folder>`` for a sweep that is still running or was interrupted.
Each job folder's ``run.json`` (style_gan/run/run_record.py) says how it ended; its
``.hydra/overrides.yaml`` what it changed.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import math
import sys
from pathlib import Path
from typing import Any

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from style_gan.errors import StyleGanError
from style_gan.files import write_atomically
from style_gan.run.run_record import read_run_record

log = logging.getLogger(__name__)

FIXED_COLUMNS = (
    "job",
    "status",
    "objective",
    "objective_value",
    "higher_is_better",
    "overrides",
    "batches",
    "wall_s",
    "restarts",
    "run_dir",
)


class SweepFolderError(StyleGanError):
    """A folder that holds no jobs of a Hydra sweep."""


def job_folders(sweep_dir: Path) -> list[Path]:
    """The job folders of a sweep: those Hydra wrote a ``.hydra/overrides.yaml`` in."""
    folders = [path.parent.parent for path in sweep_dir.glob("**/.hydra/overrides.yaml")]
    # Numbered folders (hydra.sweep.subdir's default) in numeric order, others after them.
    return sorted(folders, key=lambda p: (not p.name.isdigit(), p.name.zfill(12), str(p)))


def job_row(folder: Path, sweep_dir: Path) -> dict[str, Any]:
    """One job's row: its record, or status ``no record`` when it never reached training."""
    overrides = yaml.safe_load((folder / ".hydra" / "overrides.yaml").read_text()) or []
    record = read_run_record(folder) or {}
    row: dict[str, Any] = {
        "job": str(folder.relative_to(sweep_dir)),
        "status": record.get("status", "no record"),
        "objective": record.get("objective"),
        "objective_value": record.get("objective_value"),
        "higher_is_better": record.get("higher_is_better"),
        "overrides": " ".join(overrides),
        "batches": record.get("batches"),
        "wall_s": record.get("wall_s"),
        "restarts": record.get("restarts"),
        "run_dir": str(folder),
    }
    if record.get("status") == "failed" and record.get("error"):
        row["status"] = f"failed: {record['error']}"
    for name, values in sorted(record.get("metrics", {}).items()):
        row[f"{name} best"] = values.get("best")
        row[f"{name} last"] = values.get("last")
    return row


def sort_by_objective(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best objective first, by the metric's direction; jobs without a value last."""

    def key(row: dict[str, Any]) -> tuple[int, float]:
        value = row["objective_value"]
        if value is None or math.isnan(value):
            return (1, 0.0)
        return (0, -value if row["higher_is_better"] else value)

    return sorted(rows, key=key)


def write_summary(sweep_dir: Path) -> list[dict[str, Any]]:
    """Write ``summary.csv`` (every column) and ``summary.md`` (the validation metrics but their
    ``_best`` copies, and of the overrides those that differ between jobs) for the jobs in
    ``sweep_dir``; return the rows, best first, with ``swept`` holding each job's own
    overrides."""
    folders = job_folders(sweep_dir)
    if not folders:
        raise SweepFolderError(
            f"{sweep_dir} holds no sweep jobs (no <job>/.hydra/overrides.yaml); give the folder "
            "a `style-gan-train -m ...` command wrote, e.g. logs/train/multiruns/<date>_<time>"
        )
    rows = sort_by_objective([job_row(folder, sweep_dir) for folder in folders])
    columns = list(FIXED_COLUMNS)
    for row in rows:
        columns += [name for name in row if name not in columns]
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomically(sweep_dir / "summary.csv", table.getvalue())
    shared = set.intersection(*(set(row["overrides"].split()) for row in rows))
    for row in rows:
        row["swept"] = " ".join(o for o in row["overrides"].split() if o not in shared)
    shown = ["job", "status", "objective", "objective_value", "swept", "batches", "wall_s"]
    # A metric's "_best" is the best of the metric, already shown.
    shown += [c for c in columns if c.startswith("val/") and "_best " not in c] + ["run_dir"]
    write_text_atomically(sweep_dir / "summary.md", markdown_table(rows, shown))
    return rows


def write_text_atomically(path: Path, text: str) -> None:
    # A reader of a sweep still running sees the previous summary or the new one, never half.
    write_atomically(path, lambda file: file.write(text.encode()))


def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value).replace("|", "\\|")

    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + " --- |" * len(columns),
        *("| " + " | ".join(cell(row.get(column)) for column in columns) + " |" for row in rows),
    ]
    return "\n".join(lines) + "\n"


def best_line(rows: list[dict[str, Any]]) -> str:
    """One console line naming the best job, or saying that none has an objective value."""
    best = rows[0]
    if best["objective_value"] is None:
        return f"{len(rows)} jobs, none with an objective value (optimized_metric=... sets one)"
    return (
        f"best of {len(rows)} jobs: {best['job']} with {best['objective']}="
        f"{best['objective_value']:.4g} ({best['swept'] or 'no overrides of its own'}) "
        f"in {best['run_dir']}"
    )


class SweepSummary(Callback):
    """Hydra callback: the sweep summary when a multirun ends, and its best job on the console."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if job_folders(sweep_dir):
            rows = write_summary(sweep_dir)
            log.info("%s; table in %s", best_line(rows), sweep_dir / "summary.md")


def main(argv: list[str] | None = None) -> None:
    """``style-gan-summary SWEEP_DIR``: (re)write a sweep's summary and name its best job."""
    parser = argparse.ArgumentParser(
        prog="style-gan-summary",
        description="Write summary.csv and summary.md for a sweep folder, best job first.",
    )
    parser.add_argument("sweep_dir", type=Path)
    args = parser.parse_args(argv)
    try:
        rows = write_summary(args.sweep_dir)
    except StyleGanError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    print(best_line(rows))
    print(f"table: {args.sweep_dir / 'summary.md'}, {args.sweep_dir / 'summary.csv'}")
