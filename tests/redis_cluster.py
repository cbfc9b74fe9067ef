"""Real Redis Clusters on loopback for the tests (redis-server processes, the Debian package): three masters
joined by `redis-cli --cluster create`, as an operator builds one, paused and stopped by process id; and one
node over TLS. launch() starts them, join() waits until the cluster serves."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis
import trustme
from redis.cluster import RedisCluster

from tests.stack import free_port

NODE_TIMEOUT_MS = 60_000
"""Longer than any test leaves a node paused: the others never mark it failed, so the cluster stays up (no
CLUSTERDOWN) and only that node's slots are out of reach."""


class LocalCluster:
    """Three masters on free ports, nothing persisted, removed with their directory on stop(). Their cluster bus
    ports are free ports too: Redis's default (port + 10000) may be in use, or in the kernel's ephemeral range."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.ports = (free_port(), free_port(), free_port())
        self.procs: dict[int, subprocess.Popen] = {}
        self._admins: dict[int, redis.Redis] = {}
        self._create: subprocess.Popen | None = None
        self._client: RedisCluster | None = None

    def launch(self) -> LocalCluster:
        """The servers, and `redis-cli --cluster create` under way: a new cluster serves only some 2 s after its
        nodes started (Redis's writable delay, and redis-cli's own waits), time a test can spend starting a
        gateway meanwhile; join() waits for the rest."""
        exe, cli = shutil.which("redis-server"), shutil.which("redis-cli")
        assert exe and cli, "redis-server and redis-cli are needed (apt-get install redis-server; .ci/run does it)"
        for port in self.ports:
            folder = self.workdir / str(port)
            folder.mkdir(parents=True, exist_ok=True)
            self.procs[port] = subprocess.Popen(
                [exe, "--port", str(port), "--cluster-port", str(free_port()), "--bind", "127.0.0.1",
                 "--cluster-enabled", "yes", "--cluster-config-file", str(folder / "nodes.conf"),
                 "--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--save", "", "--appendonly", "no",
                 "--dir", str(folder)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in self.ports:
            _wait(lambda port=port: self.admin(port).ping(), f"redis-server on {port} did not start")
        self._create = subprocess.Popen([cli, "--cluster", "create", *(f"127.0.0.1:{port}" for port in self.ports),
                                         "--cluster-replicas", "0", "--cluster-yes"],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return self

    def join(self) -> LocalCluster:
        out, _ = self._create.communicate(timeout=60)
        assert self._create.returncode == 0, f"redis-cli --cluster create failed: {out.decode(errors='replace')}"
        for port in self.ports:
            _wait(lambda port=port: self.admin(port).cluster("info")["cluster_state"] == "ok",
                  f"the cluster did not come up on {port}")
        return self

    def stop(self) -> None:
        if self._create is not None and self._create.poll() is None:
            self._create.kill()
            self._create.wait()
        for admin in [*self._admins.values(), *([self._client] if self._client else [])]:
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
        """The master that holds `key`'s hash slot."""
        if self._client is None:
            self._client = RedisCluster(host="127.0.0.1", port=self.ports[0])
        return int(self._client.get_node_from_key(key).port)

    def admin(self, port: int) -> redis.Redis:
        """One node on its own, over one kept connection (so looking adds no connection to count)."""
        return self._admins.setdefault(port, redis.Redis(host="127.0.0.1", port=port))

    def keys_on(self, port: int) -> list[str]:
        """What one master holds."""
        return sorted(key.decode() for key in self.admin(port).keys("*"))

    def flush(self) -> None:
        for port in self.ports:
            self.admin(port).flushall()

    def pause(self, port: int) -> None:
        """SIGSTOP: a node that accepts connections and never answers (a partition, a fork, a paused VM)."""
        os.kill(self.procs[port].pid, signal.SIGSTOP)

    def resume(self, port: int) -> None:
        os.kill(self.procs[port].pid, signal.SIGCONT)

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


def _wait(ready, failure: str, seconds: float = 15.0) -> None:
    """Poll `ready` until it holds (a refused connection counts as not yet)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if ready():
                return
        except redis.ConnectionError:
            pass
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)
