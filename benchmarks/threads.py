"""What busy neighbours cost the Quick start: seconds per batch of the demo's CycleGAN, on an
idle machine and beside one and two busy CPU-bound processes, with torch's default threads
(one per core) against ``cpu_threads=auto`` (style_gan.run.threads).

Each measurement is a fresh process (threads are set once per process) that builds the Quick
start's model and data from the project's configs and times ``--batches`` training batches
after two of warm-up. The neighbours are pure-Python busy loops, started before it and
stopped after it. "Fair share" is the time a batch takes on an even split of the CPUs among
it and its neighbours: idle, with max(1, CPUs // (neighbours + 1)) threads, times
max(1, (neighbours + 1) / CPUs) (two neighbours on 2 CPUs leave it 2/3 of one).

    python benchmarks/threads.py
    python benchmarks/threads.py --batches 20 --neighbours 0 1 2 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

BUSY_LOOP = "while True: pass"


def measure(batches: int, threads: str) -> dict[str, Any]:
    """In this process: the Quick start's model and data, ``threads`` (a number or auto), and
    the median seconds of ``batches`` training batches after two of warm-up."""
    import lightning as L
    import torch
    from methods_vs_identity import fit_on_demo

    from style_gan.run.threads import choose_threads

    chosen, why = choose_threads(threads if threads == "auto" else int(threads), 1)
    torch.set_num_threads(chosen)
    times: list[float] = []

    class Timer(L.Callback):
        def on_train_batch_start(self, *_: Any) -> None:
            self.start = time.perf_counter()

        def on_train_batch_end(self, *_: Any) -> None:
            times.append(time.perf_counter() - self.start)

    fit_on_demo(["metrics=none", "data.num_workers=0"], 0, batches + 2, "32-true", [Timer()])
    return {"threads": chosen, "why": why, "seconds": statistics.median(times[2:])}


def run_child(batches: int, threads: str, neighbours: int) -> dict[str, Any]:
    """``measure`` in a fresh process beside ``neighbours`` busy loops."""
    loops = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(neighbours)]
    try:
        time.sleep(1.0 if neighbours else 0.0)  # let them be seen as busy
        environment = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
        result = subprocess.run(
            [sys.executable, __file__, "--child", str(batches), threads],
            capture_output=True,
            text=True,
            check=True,
            env=environment,
        )
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--neighbours", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(int(args.child[0]), args.child[1])))
        return
    cpus = len(os.sched_getaffinity(0))
    print(
        f"machine: {platform.processor() or platform.machine()}, {cpus} CPUs; "
        f"the Quick start's CycleGAN, {args.batches} batches after 2 of warm-up, fp32"
    )
    idle = {
        threads: run_child(args.batches, str(threads), 0)["seconds"]
        for threads in range(1, cpus + 1)
    }
    print("idle: " + ", ".join(f"{n} thread(s) {t:.2f} s/batch" for n, t in idle.items()))
    print(f"{'busy neighbours':>15} {'threads':>9} {'s/batch':>8} {'× fair':>7}  chosen")
    for neighbours in args.neighbours:
        share = max(1, cpus // (neighbours + 1))
        fair = idle[share] * max(1.0, (neighbours + 1) / cpus)
        for threads in (str(cpus), "auto"):
            result = run_child(args.batches, threads, neighbours)
            label = "default" if threads == str(cpus) else "auto"
            print(
                f"{neighbours:>15} {label + ' ' + str(result['threads']):>9} "
                f"{result['seconds']:8.2f} {result['seconds'] / fair:7.2f}  {result['why']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
