"""A client that stops reading a stream holds Bedrock's stream back, not the plugin server's memory."""

import json
import socket
import time

import psutil

from tests.e2e.clients import logged_request

HELD_FOR_S = 6
GROWTH_LIMIT = 48 << 20


def _stalled_stream(stack, body: dict) -> tuple[socket.socket, str]:
    """A streamed call whose client reads the head and the first events, then nothing (a small receive buffer,
    as a slow phone would have); and its request id."""
    payload = json.dumps({"model": "haiku", "max_tokens": 64000, "stream": True, **body}).encode()
    host, port = stack.proxy_url.removeprefix("http://").split(":")
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect((host, int(port)))
    client.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nX-API-Key: dev-admin-key\r\n"
                   b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload))
    head = client.recv(2048)
    assert b" 200 " in head.split(b"\r\n")[0]
    request_id = next(line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
                      if line.lower().startswith(b"x-kong-request-id:"))
    return client, request_id


def test_a_stalled_client_of_a_several_choices_stream_holds_bedrock_back(stack):
    """OpenAI `n`: each choice's Bedrock stream was read as fast as it came into a queue without bound; three
    stalled clients of 4 x 60,000-token answers grew the plugin server by 109 MiB (an exploratory pass:
    +600 MB for five clients with n=8, the chart's limit is 1.5 GiB)."""
    server = psutil.Process(stack.harness.plugin_server_pids()["bedrock"])
    stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 60000, "tokens_per_second": 0})
    clients = []
    try:
        before = server.memory_info().rss
        clients = [_stalled_stream(stack, {"n": 4, "messages": [{"role": "user", "content": f"stall {i}"}]})
                   for i in range(3)]
        grown, until = 0, time.monotonic() + HELD_FOR_S
        while time.monotonic() < until and grown <= GROWTH_LIMIT:
            time.sleep(0.25)
            grown = server.memory_info().rss - before
        assert grown <= GROWTH_LIMIT, f"the plugin server grew by {grown >> 20} MiB"
        for client, _ in clients:   # then hang up: the Bedrock streams are closed and what was produced is billed
            client.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(logged_request(stack, rid) for _, rid in clients):
            time.sleep(0.1)
        summaries = [logged_request(stack, rid) for _, rid in clients]
        assert all(summaries), "a hung-up request was never settled (its relay stuck on a full queue)"
        assert all(summary["output_tokens"] > 0 for summary in summaries)
    finally:
        for client, _ in clients:
            client.close()
        stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 12, "tokens_per_second": 0})
