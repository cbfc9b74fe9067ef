"""Every way a request can end leaves nothing behind in the plugin server.

A request context lives from the first access phase to token-meter's log
phase; a kong-pdk event lives until its handler returns. 200s (plain and
streamed), guardrail 403s and budget 429s (both end with `kong.response.exit`,
the path with leak reports in the Python PDK), 400s, 401s, Bedrock errors,
a mid-stream exception and a client hang-up: once Kong has logged them all,
the plugin server's own gauges are back to zero.
"""

import re
import time

import requests

from tests.stack import GatewayStack

BUDGETS = {"consumer_overrides": [{"consumer": "guest-user", "tokens_per_minute": 1}]}


def _gauge(stack, name: str) -> float:
    text = requests.get(stack.metrics_url, timeout=5).text
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} is not exported"
    return float(match.group(1))


def _chat(stack, key: str, content: str = "hello", stream: bool = False, **kwargs) -> requests.Response:
    return requests.post(stack.proxy_url + "/v1/chat/completions", headers={"X-API-Key": key}, timeout=30,
                         stream=stream, json={"model": "haiku", "max_tokens": 16, "stream": stream,
                                              "messages": [{"role": "user", "content": content}]}, **kwargs)


def _every_ending(stack) -> list[tuple[int, str]]:
    """One request per way of ending; returns (status, request id) for each."""
    ended = []

    def done(r: requests.Response) -> None:
        r.content  # noqa: B018 - read the body to its end
        ended.append((r.status_code, r.headers.get("X-Kong-Request-Id", "")))

    done(_chat(stack, "dev-developer-key"))
    done(_chat(stack, "dev-developer-key", stream=True))
    done(_chat(stack, "dev-developer-key", "charge my card 4111 1111 1111 1111"))
    done(_chat(stack, "dev-guest-key"))
    done(requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-developer-key"},
                       data=b"{not json", timeout=30))
    done(_chat(stack, "not-a-key"))
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "access_denied", "count": 1})
    done(_chat(stack, "dev-developer-key"))
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "stream_exception", "count": 1})
    done(_chat(stack, "dev-developer-key", stream=True))   # throttled after messageStart: the stream was the
    # client's (its opening chunk went out), so a 200 ending in an error event, as for every format
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "stream_exception", "count": 1,
                                                              "after_events": 3})
    done(_chat(stack, "dev-developer-key", stream=True))   # after content: a 200 ending in an error event
    stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 200, "tokens_per_second": 40})
    try:
        r = _chat(stack, "dev-developer-key", "a long story", stream=True)
        next(r.iter_lines())
        r.close()                                  # the client hangs up mid-stream
        ended.append((r.status_code, r.headers["X-Kong-Request-Id"]))
    finally:
        stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 12, "tokens_per_second": 0})
    return ended


def test_every_ending_returns_the_plugin_server_to_zero():
    with GatewayStack(config_overrides={"token-meter": BUDGETS}) as stack:
        ended = _every_ending(stack)
        assert [status for status, _ in ended] == [200, 200, 403, 429, 400, 401, 403, 200, 200, 200]
        for _, request_id in ended:
            assert stack.harness.wait_for_log(request_id, timeout=10)
        deadline = time.monotonic() + 10           # the hung-up stream settles on the relay's next write
        while _gauge(stack, "kong_bedrock_live_request_contexts") != 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gauge(stack, "kong_bedrock_live_request_contexts") == 0
        assert _gauge(stack, "kong_bedrock_pending_pdk_events") == 0
        assert _gauge(stack, "kong_bedrock_phase_handlers") == 0


def test_large_bodies_then_small_ones_on_the_same_connections():
    """Bodies of 200 KiB to 1.5 MiB (Claude Code sends 100-300 KiB) go through Kong's pooled RPC
    connections, whose buffers start over afterwards; the small calls after them still work."""
    with GatewayStack() as stack:
        for size in (200 * 1024, 1536 * 1024, 100, 64 * 1024, 10):
            r = _chat(stack, "dev-admin-key", "word " * (size // 5))
            assert r.status_code == 200, (size, r.status_code, r.text[:200])
            assert stack.harness.wait_for_log(r.headers["X-Kong-Request-Id"], timeout=10)
        assert _gauge(stack, "kong_bedrock_live_request_contexts") == 0
