"""The plugin server's start: gevent patches everything, reading the installed packages' metadata once.

Kong waits for the plugin server's socket before it serves plugin phases, and a restarted pod waits with it;
gevent's patch_all used to read every package's metadata at each of its ~25 events (0.45 s on a machine with
180 packages). Counted here, in a fresh interpreter, as calls to importlib.metadata.distributions (no clock).
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, importlib.metadata as metadata
scans = []
real = metadata.distributions
metadata.distributions = lambda **kw: (scans.append(1), real(**kw))[1]
original_lookup = metadata.entry_points
import kong_plugins.server
from gevent import monkey
print(json.dumps({
    "scans": len(scans),
    "patched": [monkey.is_module_patched(m) for m in ("socket", "ssl", "threading", "select", "time")],
    "lookup_restored": metadata.entry_points is original_lookup,
}))
"""


def _probe() -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_gevent_patches_every_module_reading_package_metadata_once() -> None:
    seen = _probe()
    assert seen["patched"] == [True] * 5
    assert seen["scans"] == 1
    assert seen["lookup_restored"] is True
