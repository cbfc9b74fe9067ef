"""bench.wakeups runs its echo server, measures every placement the machine allows, and writes its JSON."""

from __future__ import annotations

import json
import os

from bench import wakeups


def test_every_placement_is_measured_and_written(tmp_path, capsys):
    out = tmp_path / "wakeups.json"
    cpus = os.sched_getaffinity(0)
    assert wakeups.main(["--round-trips", "200", "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    expected = {"unpinned", "same vCPU"} | ({"other vCPU"} if len(cpus) > 1 else set())
    assert set(results) == expected
    for row in results.values():
        assert row["round_trip_us"] > 0 and row["waking_send_cpu_us"] >= 0
    assert "round trip" in capsys.readouterr().out
    assert os.sched_getaffinity(0) == cpus   # the test process gets its CPUs back
