"""Whether the Kong that started this plugin server has started one before: Kong 3.6.1 #12364.

After a plugin-server restart, Kong 3.6.1's workers other than worker 0 can spin for ever on stale instance ids
(fixed in 3.7.0). A respawned server that knows it was respawned can fail /health so the liveness probe gives
the pod a fresh Kong. Kept apart from `server`, which patches the process with gevent as it is imported.
"""

from __future__ import annotations

import os


def mark_started(prefix: str) -> bool:
    """Leave a marker in Kong's prefix naming this Kong; True when one naming the same Kong was there (it
    respawned us, and its workers may hold instance ids of the server that died).

    This Kong is its master process: the pid in `pids/nginx.pid` (kong/templates/nginx.lua) and that process's
    start time, since a restarted container's new master often gets the same pid back. The prefix can outlive
    Kong: an emptyDir survives a container restart, so a marker that only said "started" once made every
    later Kong in the pod fail its liveness probe, a restart loop until the pod was deleted.
    """
    marker = os.path.join(prefix, "bedrock-plugin-server.started")
    kong = kong_identity(prefix)
    try:
        with open(marker, encoding="utf-8") as handle:
            respawned = handle.read() == kong and not kong.endswith("@?")   # no start time: cannot tell, so fresh
    except OSError:
        respawned = False
    with open(marker, "w", encoding="utf-8") as handle:
        handle.write(kong)
    return respawned


def kong_identity(prefix: str) -> str:
    """`<master pid>@<its start time>`; Kong's master is our parent's parent when nginx.pid cannot be read."""
    try:
        with open(os.path.join(prefix, "pids", "nginx.pid"), encoding="ascii") as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        pid = _parent_of(os.getppid()) or os.getppid()
    return f"{pid}@{_start_time(pid)}"


def _proc_stat(pid: int) -> list[str]:
    """/proc/<pid>/stat's fields after the command name (which may hold spaces); [] off Linux."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rpartition(")")[2].split()
    except OSError:
        return []


def _parent_of(pid: int) -> int | None:
    fields = _proc_stat(pid)
    return int(fields[1]) if len(fields) > 1 else None


def _start_time(pid: int) -> str:
    fields = _proc_stat(pid)
    return fields[19] if len(fields) > 19 else "?"
