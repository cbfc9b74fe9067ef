"""What one process waking another costs on this machine: the floor under every hop of a request.

A chat call through this gateway crosses processes about 24 times (client ->
Kong, 9 PDK round trips to the plugin server, Kong -> relay -> Bedrock and
back, Kong -> client). Each crossing wakes a process that sleeps in epoll
(nginx, gevent) or poll. This times one round trip between a Python client and
a gevent server over a Unix socket, the shape of Kong's hop to the plugin
server, with both processes on one vCPU, on different vCPUs, and where the
scheduler puts them. The difference is what the kernel and the hypervisor
charge to wake a sleeping vCPU (an inter-processor interrupt, a halt exit).
Bounded and loopback only: a few thousand round trips per placement.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MESSAGE = b"\x94\x00\x01\xabplugin.Step\x91\x81\xa7EventId\x01" + b"\x00" * 80
"""About the size of a PDK step message."""


def serve(path: str) -> None:
    """Echo every read back, on gevent's loop, as the plugin server's listener does."""
    from gevent import monkey
    monkey.patch_all()
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen()
    conn, _ = listener.accept()
    while data := conn.recv(65536):
        conn.sendall(data)


def round_trips(conn: socket.socket, n: int) -> tuple[float, float]:
    """(wall us per round trip, CPU us the client spends in the send that wakes the server)."""
    for _ in range(n // 10):
        conn.sendall(MESSAGE)
        conn.recv(65536)
    send_cpu = 0.0
    started = time.perf_counter()
    for _ in range(n):
        before = time.thread_time()
        conn.sendall(MESSAGE)
        send_cpu += time.thread_time() - before
        conn.recv(65536)
    return (time.perf_counter() - started) / n * 1e6, send_cpu / n * 1e6


def placements(cpus: list[int]) -> dict[str, tuple[set[int], set[int]]]:
    """Placement name -> (client CPUs, server CPUs)."""
    out = {"unpinned": (set(cpus), set(cpus)), "same vCPU": ({cpus[0]}, {cpus[0]})}
    if len(cpus) > 1:
        out["other vCPU"] = ({cpus[0]}, {cpus[1]})
    return out


def measure(n: int) -> dict[str, dict[str, float]]:
    cpus = sorted(os.sched_getaffinity(0))
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as workdir:
        path = os.path.join(workdir, "echo.sock")
        server = subprocess.Popen([sys.executable, "-m", "bench.wakeups", "--serve", path],
                                  cwd=Path(__file__).resolve().parent.parent)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(path):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the echo server did not start")
                time.sleep(0.02)
            conn = socket.socket(socket.AF_UNIX)
            conn.connect(path)
            conn.settimeout(30)   # as Kong's cosockets and the harness: the wait is a poll
            for name, (client_cpus, server_cpus) in placements(cpus).items():
                os.sched_setaffinity(0, client_cpus)
                os.sched_setaffinity(server.pid, server_cpus)
                wall, send_cpu = round_trips(conn, n)
                results[name] = {"round_trip_us": round(wall, 1), "waking_send_cpu_us": round(send_cpu, 1)}
            conn.close()
        finally:
            os.sched_setaffinity(0, set(cpus))
            server.wait(10)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--round-trips", type=int, default=5000, help="per placement")
    parser.add_argument("--json", default="bench/results/wakeups.json")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    from bench.report import write_results   # not at the top: the --serve child patches sockets first

    results = measure(args.round_trips)
    print("\nwake-up cost: Python client <-> gevent server, Unix socket (the Kong -> plugin server hop)")
    for name, row in results.items():
        print(f"  {name:11s} round trip {row['round_trip_us']:6.1f} us, "
              f"client CPU in the waking send {row['waking_send_cpu_us']:5.1f} us")
    if "other vCPU" in results:
        extra = results["other vCPU"]["round_trip_us"] - results["same vCPU"]["round_trip_us"]
        print(f"  a round trip across vCPUs costs {extra:.0f} us more than on one; "
              f"the 11 round trips of a request: {11 * extra / 1000:.2f} ms if all crossed")
    write_results(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
