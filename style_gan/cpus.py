"""The CPUs this process may use and how many of them are idle: what thread and worker counts
are chosen from. On a shared machine the host's core count says little: SLURM, taskset and
containers narrow a process to fewer, and neighbours keep some of those busy."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

# cgroup v2's CPU limit ("<quota> <period>" or "max <period>"), and v1's two files.
CGROUP_V2_MAX = Path("/sys/fs/cgroup/cpu.max")
CGROUP_V1_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
CGROUP_V1_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
PROC_STAT = Path("/proc/stat")


def affinity_cpus() -> set[int]:
    """The CPU numbers this process may run on (its affinity mask)."""
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:
        return set(range(os.cpu_count() or 1))


def cgroup_cpu_quota() -> float | None:
    """CPUs' worth of time the process's cgroup may use (``docker --cpus=1.5`` gives 1.5);
    None when unlimited or unknown."""
    try:
        if CGROUP_V2_MAX.is_file():
            quota, period = CGROUP_V2_MAX.read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        if CGROUP_V1_QUOTA.is_file():
            quota = int(CGROUP_V1_QUOTA.read_text())
            return None if quota <= 0 else quota / int(CGROUP_V1_PERIOD.read_text())
    except (OSError, ValueError):
        return None
    return None


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity, capped by a cgroup quota (rounded down, at
    least 1)."""
    cpus = len(affinity_cpus())
    quota = cgroup_cpu_quota()
    return max(1, min(cpus, math.floor(quota))) if quota else cpus


def idle_cpus(seconds: float = 0.1) -> float | None:
    """How many of this process's CPUs were idle over a ``seconds`` sample of /proc/stat
    (idle and I/O-wait time); None where it cannot be read."""
    mine = affinity_cpus()

    def sample() -> dict[int, tuple[int, int]]:
        times = {}
        for line in PROC_STAT.read_text().splitlines():
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in mine:
                ticks = [int(field) for field in fields[:8]]
                times[int(name[3:])] = (ticks[3] + ticks[4], sum(ticks))
        return times

    try:
        before = sample()
        time.sleep(seconds)
        after = sample()
    except (OSError, ValueError, IndexError):
        return None
    idle = 0.0
    for cpu, (idle_after, total_after) in after.items():
        idle_before, total_before = before.get(cpu, (idle_after, total_after))
        if total_after > total_before:
            idle += (idle_after - idle_before) / (total_after - total_before)
    return idle if after else None
