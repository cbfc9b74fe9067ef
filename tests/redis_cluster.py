"""Real Redis Clusters on loopback for the tests (redis-server processes, the Debian package): three masters,
with a replica each if asked, joined by `redis-cli --cluster create`, as an operator builds one, paused, killed,
restarted and failed over by process id; and one node over TLS. launch() starts them, join() waits until the
cluster serves."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis
import trustme
from redis.cluster import key_slot

from tests.stack import free_port

NODE_TIMEOUT_MS = 60_000
"""Longer than any test leaves a node paused: the others never mark it failed, so the cluster stays up (no
CLUSTERDOWN) and only that node's slots are out of reach."""


class LocalCluster:
    """Three masters on free ports (and `replicas` replicas of each), nothing persisted, removed with their directory
    on stop(). Their cluster bus ports are free ports too: Redis's default (port + 10000) may be in use, or in the
    kernel's ephemeral range. `node_timeout_ms` is how long a node must be silent before the others mark it failed
    (then its replica takes over, or without one the cluster answers CLUSTERDOWN)."""

    def __init__(self, workdir: Path, replicas: int = 0, node_timeout_ms: int = NODE_TIMEOUT_MS) -> None:
        self.workdir = workdir
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.ports = tuple(free_port() for _ in range(3 * (1 + replicas)))
        self.procs: dict[int, subprocess.Popen] = {}
        self._argv: dict[int, list[str]] = {}
        self._admins: dict[int, redis.Redis] = {}
        self._create: subprocess.Popen | None = None
        self.stopped: set[int] = set()
        """Nodes paused or killed: left out when the cluster's layout is read or waited for."""

    def launch(self) -> LocalCluster:
        """The servers, and `redis-cli --cluster create` under way: a new cluster serves only some 2 s after its
        nodes started (Redis's writable delay, and redis-cli's own waits), time a test can spend starting a
        gateway meanwhile; join() waits for the rest."""
        exe, cli = shutil.which("redis-server"), shutil.which("redis-cli")
        assert exe and cli, "redis-server and redis-cli are needed (apt-get install redis-server; .ci/run does it)"
        for port in self.ports:
            folder = self.workdir / str(port)
            folder.mkdir(parents=True, exist_ok=True)
            self._argv[port] = [exe, "--port", str(port), "--cluster-port", str(free_port()), "--bind", "127.0.0.1",
                                "--cluster-enabled", "yes", "--cluster-config-file", str(folder / "nodes.conf"),
                                "--cluster-node-timeout", str(self.node_timeout_ms), "--save", "",
                                "--appendonly", "no", "--repl-diskless-sync-delay", "0", "--dir", str(folder)]
            self._start(port)
        for port in self.ports:
            _wait(lambda port=port: self.admin(port).ping(), f"redis-server on {port} did not start")
        self._create = subprocess.Popen([cli, "--cluster", "create", *(f"127.0.0.1:{port}" for port in self.ports),
                                         "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return self

    def _start(self, port: int) -> None:
        self.procs[port] = subprocess.Popen(self._argv[port], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def join(self) -> LocalCluster:
        out, _ = self._create.communicate(timeout=60)
        assert self._create.returncode == 0, f"redis-cli --cluster create failed: {out.decode(errors='replace')}"
        self.settle()
        return self

    def settle(self, seconds: float = 30.0) -> LocalCluster:
        """Wait until every running node says the cluster is ok and agrees on who serves each slot, and every
        other running node is a replica in sync with its master (a master that was replaced is one by then)."""
        def settled() -> bool:
            running = self._running()
            if any(self.admin(port).cluster("info")["cluster_state"] != "ok" for port in running):
                return False
            layouts = {tuple(sorted(self._slots(port).items())) for port in running}
            if len(layouts) != 1:
                return False
            masters = {master for _, master in next(iter(layouts))}
            return all(self._synced(port) for port in running) and all(
                port in masters or self.admin(port).info("replication")["role"] == "slave" for port in running)
        _wait(settled, lambda: f"the cluster did not settle: {self.describe()}", seconds)
        return self

    def stop(self) -> None:
        if self._create is not None and self._create.poll() is None:
            self._create.kill()
            self._create.wait()
        for admin in self._admins.values():
            admin.close()
        for proc in self.procs.values():
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                proc.kill()
            proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def record(self, **extra: object) -> dict:
        """The plugins' `redis` record for this cluster."""
        return {"host": "127.0.0.1", "port": self.ports[0], "cluster": True, "timeout_ms": 200, **extra}

    def port_of(self, key: str) -> int:
        """The master that holds `key`'s hash slot, as a running node sees it now."""
        slot = key_slot(key.encode())
        return next(port for (first, last), port in self._slots(self._running()[0]).items() if first <= slot <= last)

    def masters(self) -> list[int]:
        """The masters that serve slots now, as a running node sees it."""
        return sorted(set(self._slots(self._running()[0]).values()))

    def replica_of(self, master: int) -> int:
        """A running replica of `master` (its INFO names the master)."""
        found: list[int] = []

        def named() -> bool:
            found[:] = [port for port in self._running() if port != master and
                        int(self.admin(port).info("replication").get("master_port", 0)) == master]
            return bool(found)
        _wait(named, lambda: f"{master} has no replica: {self.describe()}")
        return found[0]

    def failover(self, replica: int, how: str = "") -> None:
        """CLUSTER FAILOVER [FORCE|TAKEOVER] on `replica`, then wait until every running node names it master of
        its slots and says the cluster is ok. Without `how` its master must answer (a manual failover loses no
        write); FORCE needs the other masters' votes, TAKEOVER nobody's."""
        self.admin(replica).execute_command("CLUSTER FAILOVER", *([how] if how else []))
        _wait(lambda: self.serves(replica), lambda: f"{replica} did not take over: {self.describe()}")
        self.wait_state("ok")

    def serves(self, port: int) -> bool:
        """Whether every running node names `port` the master of some slots."""
        return all(port in self._slots(other).values() for other in self._running())

    def wait_state(self, state: str, seconds: float = 30.0) -> None:
        """Wait until every running node says the cluster is `state` (ok, or fail: CLUSTERDOWN to every key)."""
        _wait(lambda: all(self.admin(port).cluster("info")["cluster_state"] == state for port in self._running()),
              lambda: f"the cluster is not {state}: {self.describe()}", seconds)

    def recover(self) -> None:
        """Every node paused resumed, every node killed started again; then wait until the cluster settles."""
        for port in sorted(self.stopped):
            self.resume(port) if self.procs[port].poll() is None else self.restart(port)
        self.settle()

    def sync(self) -> None:
        """Wait until every running replica has every write its master has had (replication is asynchronous)."""
        _wait(lambda: all(self._synced(port) for port in self._running()), lambda: f"replicas lag: {self.describe()}")

    def describe(self) -> str:
        """Each node's address, role and flags as a running node sees them (for a failure's message)."""
        try:
            nodes = self.admin(self._running()[0]).cluster("nodes")
        except redis.RedisError as exc:
            return repr(exc)
        return "; ".join(f"{address} {info['flags']}" for address, info in sorted(nodes.items()))

    def _running(self) -> list[int]:
        return [port for port in self.ports if port not in self.stopped]

    def _slots(self, port: int) -> dict[tuple[int, int], int]:
        """CLUSTER SLOTS from one node: each range's master."""
        return {(int(first), int(last)): int(master[1])
                for first, last, master, *_ in self.admin(port).execute_command("CLUSTER SLOTS")}

    def _synced(self, port: int) -> bool:
        info = self.admin(port).info("replication")
        if info["role"] != "slave":
            return True
        master = int(info["master_port"])
        return (info["master_link_status"] == "up" and master not in self.stopped and
                int(info["slave_repl_offset"]) >= int(self.admin(master).info("replication")["master_repl_offset"]))

    def admin(self, port: int) -> redis.Redis:
        """One node on its own, over one kept connection (so looking adds no connection to count)."""
        return self._admins.setdefault(port, redis.Redis(host="127.0.0.1", port=port))

    def keys_on(self, port: int) -> list[str]:
        """What one master holds."""
        return sorted(key.decode() for key in self.admin(port).keys("*"))

    def flush(self) -> None:
        for port in self.masters():
            self.admin(port).flushall()

    def pause(self, port: int) -> None:
        """SIGSTOP: a node that accepts connections and never answers (a partition, a fork, a paused VM)."""
        os.kill(self.procs[port].pid, signal.SIGSTOP)
        self.stopped.add(port)

    def resume(self, port: int) -> None:
        os.kill(self.procs[port].pid, signal.SIGCONT)
        self.stopped.discard(port)

    def kill(self, port: int) -> None:
        """SIGKILL: a node gone (its host died): connections to it are refused. Nothing it held is kept."""
        self.procs[port].kill()         # a paused process too
        self.procs[port].wait()
        self.admin(port).connection_pool.disconnect()
        self.stopped.add(port)

    def restart(self, port: int) -> None:
        """A killed node started again on its port with its cluster config: it rejoins with its old role (as the
        others see it now: a master that was replaced comes back as a replica), and nothing it held."""
        self._start(port)
        _wait(lambda: self.admin(port).ping(), f"redis-server on {port} did not restart")
        self.stopped.discard(port)

    def connections_received(self, port: int) -> int:
        """Connections the node accepted since it started (those made while it was paused count once it runs)."""
        return int(self.admin(port).info("stats")["total_connections_received"])


class TlsClusterNode:
    """One redis-server in cluster mode over TLS only, holding every slot, with a password: a cluster as
    ElastiCache's in-transit encryption and AUTH serve it, its certificate for 127.0.0.1 from the test's own CA."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.ca = workdir / "ca.crt"
        self.proc: subprocess.Popen | None = None
        self.password = "tls-node-password"
        self._admin = redis.Redis(host="127.0.0.1", port=self.port, ssl=True, ssl_ca_certs=str(self.ca),
                                  password=self.password)

    def launch(self) -> TlsClusterNode:
        """The server, given every slot; join() waits out Redis's 2 s before a new cluster serves."""
        self._certificates()
        self.proc = subprocess.Popen(
            [shutil.which("redis-server"), "--port", "0", "--tls-port", str(self.port),
             "--cluster-port", str(free_port()), "--bind", "127.0.0.1",
             "--tls-cert-file", str(self.workdir / "node.crt"), "--tls-key-file", str(self.workdir / "node.key"),
             "--tls-ca-cert-file", str(self.ca), "--tls-auth-clients", "no", "--tls-cluster", "yes",
             "--cluster-enabled", "yes", "--cluster-config-file", str(self.workdir / "nodes.conf"),
             "--requirepass", self.password, "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(self._admin.ping, f"redis-server over TLS on {self.port} did not start")
        self._admin.execute_command("CLUSTER ADDSLOTSRANGE", 0, 16383)
        return self

    def join(self) -> TlsClusterNode:
        _wait(lambda: self._admin.cluster("info")["cluster_state"] == "ok", "the TLS cluster did not come up")
        return self

    def _certificates(self) -> None:
        """A CA, and the node's certificate for IP 127.0.0.1 (the address CLUSTER SLOTS names)."""
        ca = trustme.CA()
        node = ca.issue_cert("127.0.0.1")
        ca.cert_pem.write_to_path(str(self.ca))
        node.private_key_pem.write_to_path(str(self.workdir / "node.key"))
        node.cert_chain_pems[0].write_to_path(str(self.workdir / "node.crt"))

    def stop(self) -> None:
        self._admin.close()
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _wait(ready, failure, seconds: float = 15.0) -> None:
    """Poll `ready` until it holds (a refused connection counts as not yet); `failure`, the message, may be a
    function of nothing, asked only on failure."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if ready():
                return
        except redis.ConnectionError:
            pass
        assert time.monotonic() < deadline, failure() if callable(failure) else failure
        time.sleep(0.05)
