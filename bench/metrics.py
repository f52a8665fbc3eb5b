"""Benchmark: what the Prometheus metrics cost on the MM7 submit path.

The same ``mmsc serve`` (one process, as in ``bench/mm7.py``: SQLite, local folder, SMSC
emulator, an offline emulated recipient) takes the same 30 KB SubmitReq from ``wrk`` at 16
connections, with metrics (the default) and with ``[metrics] enabled = false``, in
alternating rounds of one run, so that both see the same machine. Reported per round and in
total: requests per second and the server's CPU time per request (from ``/proc/<pid>/stat``),
the steadier of the two on a shared machine; the target is a cost under 5 %.

    .venv/bin/python bench/metrics.py [seconds per point] [rounds]    (needs wrk)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mm7 import (
    ROOT, free_port, loaded, mmsc_config, submit_script, wait_nodes, wait_port,
)

CONNECTIONS = 16


def point(work: Path, script: Path, label: str, extra: str,
          seconds: float) -> tuple[float, float, float]:
    """(requests per second, p99 ms, server CPU ms per request) of one server run."""
    folder = Path(tempfile.mkdtemp(prefix=label, dir=work))
    port = free_port()
    config = mmsc_config(folder, port, extra=extra)
    with open(folder / "server.log", "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "mmsc", "serve", "--no-demo",
                                   "--config", str(config)], stdout=subprocess.DEVNULL,
                                  stderr=log, cwd=folder)
        try:
            wait_port(port, server)
            wait_nodes(port, 1, server)
            rate, _, p99, _, cpu_ms, _ = loaded(server, port, script, CONNECTIONS, seconds)
        finally:
            server.terminate()
            server.wait(10)
    os.sync()
    shutil.rmtree(folder, ignore_errors=True)
    return rate, p99, cpu_ms


def main(seconds: float, rounds: int) -> None:
    if shutil.which("wrk") is None:
        print("bench/metrics.py skipped: it needs wrk (apt-get install wrk)")
        return
    variants = {"metrics": "", "no metrics": "[metrics]\nenabled = false"}
    totals: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        work = Path(tmp)
        script, size = submit_script(work)
        print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs; wrk, {CONNECTIONS} "
              f"connections, {seconds:g} s per point; SubmitReq of {size} octets")
        print(f"{'round':>5} {'server':12} {'req/s':>8} {'p99 ms':>8} {'CPU ms/req':>11}")
        for number in range(1, rounds + 1):
            order = list(variants) if number % 2 else list(reversed(variants))
            for name in order:
                rate, p99, cpu = point(work, script, name.replace(" ", ""), variants[name],
                                       seconds)
                totals[name].append((rate, p99, cpu))
                print(f"{number:5d} {name:12} {rate:8.0f} {p99:8.1f} {cpu:11.2f}", flush=True)

    def mean(name: str, index: int) -> float:
        return sum(p[index] for p in totals[name]) / len(totals[name])

    rate_cost = 1 - mean("metrics", 0) / mean("no metrics", 0)
    cpu_cost = mean("metrics", 2) / mean("no metrics", 2) - 1
    print(f"mean: {mean('metrics', 0):.0f} req/s with metrics, {mean('no metrics', 0):.0f} "
          f"without: {100 * rate_cost:+.1f} % throughput lost; CPU per request "
          f"{mean('metrics', 2):.2f} ms against {mean('no metrics', 2):.2f} ms: "
          f"{100 * cpu_cost:+.1f} %")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0,
         int(sys.argv[2]) if len(sys.argv) > 2 else 4)
