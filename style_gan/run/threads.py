"""How many threads a training process gives torch.

By default torch takes one thread per core of the host. Where the cores are shared (a busy
workstation, parallel sweep jobs, CPU DDP ranks) its threads then spend their time waiting
for each other at every parallel region: on 2 cores beside one busy process, 2 threads ran
the Quick start's batch 2.2x slower than their fair share, 1 thread at its fair share
(benchmarks/threads.py). So ``auto`` gives each training process its share of the CPUs it
may use, and no more than were idle when it started.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import torch

from style_gan.cpus import idle_cpus, usable_cpus
from style_gan.errors import ConfigError

log = logging.getLogger(__name__)

AUTO = "auto"


def set_cpu_threads(setting: Any, processes: int = 1) -> int:
    """Give torch the threads ``choose_threads`` picks for one of ``processes`` processes,
    say so in the log and return the number (the entry points call it once at start)."""
    threads, why = choose_threads(setting, processes)
    torch.set_num_threads(threads)
    log.info("torch uses %d CPU thread%s (%s)", threads, "" if threads == 1 else "s", why)
    return threads


def choose_threads(setting: Any, processes: int) -> tuple[int, str]:
    """(threads, why) for one of ``processes`` training processes on this machine.

    ``setting`` (the config's ``cpu_threads``): a number wins; ``auto`` takes
    ``OMP_NUM_THREADS`` when it is set, else min(usable CPUs / processes, idle CPUs /
    processes rounded), at least 1."""
    if setting != AUTO:
        if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
            raise ConfigError(f"cpu_threads={setting!r} must be auto or a number >= 1")
        return setting, f"cpu_threads={setting}"
    from_environment = os.environ.get("OMP_NUM_THREADS", "").strip()
    if from_environment.isdigit() and int(from_environment) >= 1:
        return int(from_environment), f"OMP_NUM_THREADS={from_environment}"
    cpus = usable_cpus()
    share = max(1, cpus // processes)
    per_process = "" if processes == 1 else f" among {processes} training processes"
    idle = idle_cpus()
    if idle is None:
        return share, f"{cpus} usable CPUs{per_process}"
    free = max(1, round(idle / processes))
    return min(share, free), f"{cpus} usable CPUs, {idle:.1f} idle at start{per_process}"


def local_training_processes(trainer: Any) -> int:
    """Training processes a run starts on each machine: its devices under a DDP strategy
    (``trainer`` is the ``trainer`` config node), else 1."""
    devices = trainer.get("devices")
    strategy = str(trainer.get("strategy", ""))
    if "ddp" in strategy and isinstance(devices, int) and devices > 1:
        return devices
    return 1
