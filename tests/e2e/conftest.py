import shutil
import subprocess
import time

import pytest
import redis

from tests.stack import GatewayStack, free_port


@pytest.fixture(scope="module")
def stack():
    with GatewayStack() as running:
        yield running


@pytest.fixture(autouse=True)
def _clean_emulator(request):
    """The module's stack, for a test that uses it, starts with no faults and no recorded requests.

    A module whose tests start stacks of their own (or none) does not start one to clean it.
    """
    if "stack" not in request.fixturenames:
        yield
        return
    stack = request.getfixturevalue("stack")
    stack.emulator_control("DELETE", "/_emulator/faults")
    stack.emulator_control("DELETE", "/_emulator/requests")
    yield


@pytest.fixture()
def redis_server(tmp_path):
    exe = shutil.which("redis-server")
    assert exe, "redis-server is not installed (apt-get install redis-server; .ci/run does it)"
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    yield port, proc
    proc.kill()
    proc.wait()
