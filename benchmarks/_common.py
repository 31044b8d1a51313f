"""Helpers shared by the benchmarks (bench_epoch.py, bench_mlp.py, bench_data.py): the
machine's description, timing with the device synchronized, and the end of every ``main()``
(print the report, write the JSON, ``--strict``'s exit status).

Not a benchmark: ``make bench`` does not run it. The scripts import it as ``_common``: run as
``python benchmarks/bench_x.py`` their folder is first on ``sys.path``, and each script puts
it there itself for the tests, which load the scripts by their path.
"""

from __future__ import annotations

import json
import os
import platform
import time

import torch


# ----------------------------------------------------------------------------- machine
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, rounded; None where the system has none."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # Windows: no os.getloadavg
        return None


# ------------------------------------------------------------------------------ timing
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def timed(fn, device: torch.device, cpu: list | None = None) -> float:
    """Seconds for one call of ``fn()``, with the device synchronized on both sides; the
    calling thread's CPU seconds for the call are appended to ``cpu`` when it is given (the
    thread's, not the process's: PyTorch's idle worker threads spin for a while after a
    two-thread operation, which would be counted against the next one-thread call)."""
    _sync(device)
    start, start_cpu = time.perf_counter(), time.thread_time()
    fn()
    _sync(device)
    if cpu is not None:
        cpu.append(time.thread_time() - start_cpu)
    return time.perf_counter() - start


# -------------------------------------------------------------------------------- main
def finish(args, result: dict) -> int:
    """The end of a benchmark's ``main()``: print ``result["report"]``, write ``result`` as
    JSON to ``args.json``, and return the exit status: 1 when ``args.strict`` and a target of
    ``result["targets"]`` fails, else 0."""
    print(result["report"])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    if args.strict and not all(t["pass"] for t in result["targets"]):
        return 1
    return 0
