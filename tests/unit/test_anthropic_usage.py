"""What a Mantle (first-party Anthropic API) stream is billed: its counts as the stream's last word gives them."""

import json

from kong_plugins.context import Usage
from kong_plugins.formats.sse import AnthropicSseDecoder


def sse(*events):
    return b"".join(b"event: " + e["type"].encode() + b"\ndata: " + json.dumps(e).encode() + b"\n\n" for e in events)


START = {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [],
                                              "model": "claude-opus-4-7", "stop_reason": None,
                                              "usage": {"input_tokens": 120, "output_tokens": 1,
                                                        "cache_read_input_tokens": 1800,
                                                        "cache_creation_input_tokens": 0}}}


def read(*events):
    decoder = AnthropicSseDecoder()
    list(decoder.feed_bytes(sse(*events)))
    return decoder.usage


def test_message_delta_counts_are_cumulative_input_and_cache_too():
    """Anthropic's message_delta usage is cumulative and may carry input and cache counts (a server tool runs
    the model again): only its output count was read, so the input it added went unbilled."""
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
             "usage": {"input_tokens": 410, "output_tokens": 35, "cache_read_input_tokens": 3600,
                       "cache_creation_input_tokens": 12}}
    assert read(START, delta, {"type": "message_stop"}) == Usage(input=410, output=35, cache_read=3600,
                                                                 cache_write=12)


def test_a_delta_with_output_alone_keeps_message_starts_input():
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 35}}
    assert read(START, delta) == Usage(input=120, output=35, cache_read=1800)
