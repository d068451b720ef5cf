"""Threads chosen for the machine: a set number or OMP_NUM_THREADS wins; auto takes this
process's share of the CPUs it may use, and no more than were idle when it started."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from style_gan import cpus
from style_gan.errors import ConfigError
from style_gan.run import threads
from style_gan.run.cli import CONFIG_DIR
from style_gan.run.threads import choose_threads, local_training_processes
from style_gan.train import train


@pytest.fixture(autouse=True)
def kept_thread_count(monkeypatch) -> Iterator[None]:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def machine(monkeypatch, usable: int, idle: float | None) -> None:
    monkeypatch.setattr(threads, "usable_cpus", lambda: usable)
    monkeypatch.setattr(threads, "idle_cpus", lambda: idle)


@pytest.mark.parametrize(
    ("usable", "idle", "processes", "expected"),
    [
        (4, 4.0, 1, 4),  # an idle machine: every CPU
        (2, 0.9, 1, 1),  # one busy neighbour on 2 cores: the idle one
        (2, 0.2, 1, 1),  # all busy: still one
        (4, 3.6, 2, 2),  # two DDP ranks share them
        (8, 8.0, 3, 2),  # a share is whole CPUs
        (4, None, 1, 4),  # /proc/stat unreadable: the share
    ],
)
def test_auto_takes_a_share_of_the_usable_and_idle_cpus(
    monkeypatch, usable, idle, processes, expected
) -> None:
    machine(monkeypatch, usable, idle)
    chosen, why = choose_threads("auto", processes)
    assert chosen == expected
    assert f"{usable} usable CPUs" in why


def test_a_number_or_omp_num_threads_wins(monkeypatch) -> None:
    machine(monkeypatch, 4, 0.1)
    assert choose_threads(3, 1) == (3, "cpu_threads=3")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert choose_threads("auto", 1) == (2, "OMP_NUM_THREADS=2")
    for bad in (0, -1, "many", 1.5, True):
        with pytest.raises(ConfigError, match=r"cpu_threads=.* must be auto or a number >= 1"):
            choose_threads(bad, 1)


def test_ddp_ranks_count_as_processes() -> None:
    assert (
        local_training_processes({"strategy": "ddp_find_unused_parameters_true", "devices": 2}) == 2
    )
    assert local_training_processes({"strategy": "auto", "devices": 1}) == 1
    assert local_training_processes({"strategy": "ddp", "devices": "auto"}) == 1


def test_a_cgroup_quota_caps_the_usable_cpus(monkeypatch, tmp_path: Path) -> None:
    limit = tmp_path / "cpu.max"
    monkeypatch.setattr(cpus, "CGROUP_V2_MAX", limit)
    monkeypatch.setattr(cpus, "affinity_cpus", lambda: {0, 1, 2, 3})
    limit.write_text("150000 100000\n")  # docker --cpus=1.5
    assert cpus.cgroup_cpu_quota() == 1.5 and cpus.usable_cpus() == 1
    limit.write_text("max 100000\n")
    assert cpus.cgroup_cpu_quota() is None and cpus.usable_cpus() == 4


def test_idle_cpus_are_read_from_this_machine() -> None:
    idle = cpus.idle_cpus()
    assert idle is not None and 0 <= idle <= len(cpus.affinity_cpus()) + 0.01


def test_training_sets_and_logs_its_threads(train_config, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="style_gan.run.threads"):
        train(train_config("cpu_threads=1"))
    assert torch.get_num_threads() == 1
    assert "torch uses 1 CPU thread (cpu_threads=1)" in caplog.text


def test_stylize_and_eval_choose_their_threads_the_same_way(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="style_gan.run.threads"):
        assert threads.set_cpu_threads(1) == 1
    assert torch.get_num_threads() == 1
    assert "torch uses 1 CPU thread (cpu_threads=1)" in caplog.text
    for config in ("stylize", "eval"):
        assert "\ncpu_threads: auto\n" in (CONFIG_DIR / f"{config}.yaml").read_text()
