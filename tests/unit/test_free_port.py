from pathlib import Path

from tests.stack import free_port


def test_free_ports_lie_below_the_ephemeral_range_and_are_handed_out_once():
    """Outgoing connections draw local ports from the ephemeral range: a port there could be
    taken before the child process binds it (EADDRINUSE, seen in CI)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(1024 <= port < low for port in ports)
