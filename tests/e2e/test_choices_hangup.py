"""OpenAI's `n`, streamed (one Bedrock stream per choice): a client that hangs up lets every choice's Bedrock
stream go, whether it read on to the end of what it wanted or stopped reading first (the relay's queue of pieces
full, each choice's pump waiting on it). What stays behind otherwise is what an operator sees: Bedrock streams
that no client reads (Bedrock generating, and billing, answers nobody reads, the plugin server holding their
connections), phase handlers and request contexts that never go back to 0, a request never logged.

The emulator's /_emulator/streams counts the streams it is writing: one the relay closed ends at its next write."""

import json
import socket
import time
from urllib.parse import urlsplit

from tests.e2e.clients import logged_request, metric, oa

CHOICES = 3
ASK = [{"role": "user", "content": "a long story"}]
STALLED_FOR_S = 2.0
"""How long the stalled client reads nothing before it hangs up: the relay's queue of pieces (8 a choice) and the
sockets' buffers fill well before, and every pump waits on the queue."""
LET_GO_WITHIN_S = 10.0


def _long_streams(stack, tokens_per_second: int) -> None:
    """Every Bedrock stream long (at 400 tokens/s, minutes), so each is still going when the client leaves;
    0: as fast as Bedrock can, so the relay's queue is full as soon as the client stops reading."""
    stack.emulator_control("PUT", "/_emulator/settings",
                           json={"output_tokens": 60000, "tokens_per_second": tokens_per_second}).raise_for_status()


def _ordinary_streams(stack) -> None:
    stack.emulator_control("PUT", "/_emulator/settings",
                           json={"output_tokens": 12, "tokens_per_second": 0}).raise_for_status()


def _open_streams(stack) -> int:
    """The streams Bedrock (the emulator) is writing now: one whose reader closed it ends at its next write."""
    return stack.emulator_control("GET", "/_emulator/streams").json()["open"]


def _stalled_client(stack) -> tuple[socket.socket, str]:
    """A streamed `n` call whose client reads the head and the first chunks, then nothing (a small receive
    buffer, as a slow phone has); and its request id."""
    payload = json.dumps({"model": "haiku", "max_tokens": 64000, "stream": True, "n": CHOICES,
                          "messages": ASK}).encode()
    proxy = urlsplit(stack.proxy_url)
    client = socket.create_connection((proxy.hostname, proxy.port), timeout=30)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nX-API-Key: dev-developer-key\r\n"
                   b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload))
    head = client.recv(2048)
    assert b" 200 " in head.split(b"\r\n")[0], head[:300]
    request_id = next(line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
                      if line.lower().startswith(b"x-kong-request-id:"))
    return client, request_id


def _left_behind(stack, request_id: str) -> list[str]:
    """What the request still holds, as an operator sees it: Bedrock's streams, the plugin server's phase handlers
    and request contexts (its gauges, 0 when idle), its log line not yet written."""
    held = [f"{_open_streams(stack)} Bedrock stream(s) open",
            f"{metric(stack, 'kong_bedrock_phase_handlers'):.0f} phase handler(s) running",
            f"{metric(stack, 'kong_bedrock_live_request_contexts'):.0f} request context(s) held"]
    held = [what for what in held if not what.startswith("0 ")]
    return held if logged_request(stack, request_id) else [*held, "the request never logged"]


def _let_go(stack, request_id: str) -> dict:
    """Waits (bounded) until the hung-up request holds nothing any more, asserts it; its log line."""
    deadline = time.monotonic() + LET_GO_WITHIN_S
    while (held := _left_behind(stack, request_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not held, f"after the client hung up: {', '.join(held)} (a choice's pump still holds them)"
    return logged_request(stack, request_id)


def _still_serves(stack) -> None:
    """The next `n` stream is answered in full: every choice, then the end."""
    _ordinary_streams(stack)
    chunks = list(oa(stack).chat.completions.create(model="haiku", max_tokens=16, n=CHOICES, stream=True,
                                                    messages=ASK))
    texts = ["".join(c.choices[0].delta.content or "" for c in chunks if c.choices and c.choices[0].index == i)
             for i in range(CHOICES)]
    assert all(text.startswith("Emulated") for text in texts), texts


def test_a_client_that_stopped_reading_then_hangs_up_lets_every_choice_stream_go(stack):
    """The queue of pieces full and every pump waiting on it when the client goes: all are stopped, the Bedrock
    streams closed, the request logged as the client's hang-up and charged what was produced."""
    _long_streams(stack, 0)
    try:
        client, request_id = _stalled_client(stack)
        try:
            time.sleep(STALLED_FOR_S)   # reads nothing: the relay's writes wait, its queue fills, Bedrock waits
            assert _open_streams(stack) == CHOICES, "the choices' streams were not open"
        finally:
            client.close()
        summary = _let_go(stack, request_id)
    finally:
        _ordinary_streams(stack)
    assert summary["error_type"] == "ClientDisconnected"
    assert summary["output_tokens"] > 0 and summary["usage_estimated"] is True
    _still_serves(stack)


def test_an_sdk_client_that_hangs_up_after_the_first_chunks_lets_every_choice_stream_go(stack):
    _long_streams(stack, 400)
    try:
        with oa(stack).chat.completions.with_streaming_response.create(
                model="haiku", max_tokens=64000, n=CHOICES, stream=True, messages=ASK) as response:
            request_id = response.headers["X-Kong-Request-Id"]
            chunks = response.parse()
            seen = {next(chunks).choices[0].index for _ in range(2 * CHOICES)}
            assert seen <= set(range(CHOICES))
            assert _open_streams(stack) == CHOICES, "the choices' streams were not open"
        summary = _let_go(stack, request_id)   # leaving the `with` closed the connection
    finally:
        _ordinary_streams(stack)
    assert summary["error_type"] == "ClientDisconnected"
    _still_serves(stack)

