"""An OpenAI request's top-level settings, checked as OpenAI checks them.

Most of these change nothing on Bedrock (`seed`, `logprobs`) or are mapped loosely (`temperature`
is clamped to Claude's 0 to 1), but a value OpenAI answers with a 400 must not pass here: a client
that sent `stream: "yes"` or `temperature: NaN` has a bug it should hear about, and an
OpenAI-compatible upstream would be handed the request as it came. Chat Completions and
Responses (whose fields of the same names are copied into the Chat request) share these checks.
"""

from __future__ import annotations

from typing import Any

from kong_plugins.formats.body import RequestError, boolean, number_in, whole_number

BOOLEANS = ("stream", "parallel_tool_calls", "logprobs", "store")
RANGES = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0), "presence_penalty": (-2.0, 2.0),
          "frequency_penalty": (-2.0, 2.0)}
"""OpenAI's range for each number."""
_INT64 = 2 ** 63


def check(request: dict[str, Any]) -> None:
    """RequestError naming the first setting OpenAI would refuse."""
    for name in BOOLEANS:
        boolean(request.get(name), name)
    for name, (low, high) in RANGES.items():
        if request.get(name) is not None:
            number_in(request[name], name, low, high)
    if request.get("seed") is not None:
        whole_number(request["seed"], "seed", low=-_INT64, high=_INT64 - 1, message="seed: must be an integer.")
    if request.get("top_logprobs") is not None:
        whole_number(request["top_logprobs"], "top_logprobs", low=0, high=20,
                     message="top_logprobs: must be an integer from 0 to 20.")
    include_usage(request)


def include_usage(request: dict[str, Any]) -> bool:
    """`stream_options.include_usage`: whether a stream ends with a usage chunk."""
    options = request.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise RequestError("stream_options: must be an object.", "stream_options")
    return bool(boolean(options.get("include_usage"), "stream_options.include_usage"))

