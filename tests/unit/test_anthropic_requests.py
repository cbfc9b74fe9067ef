"""Anthropic Messages requests as the gateway reads them: what Anthropic's API refuses is the client's 400."""

import json

import pytest

from kong_plugins.formats import anthropic
from kong_plugins.formats.body import RequestError

HELLO = [{"role": "user", "content": "Hello"}]


def body(**fields):
    return json.dumps({"model": "sonnet", "max_tokens": 16, "messages": HELLO, **fields}).encode()


@pytest.mark.parametrize("fields, param", [
    ({"stream": "yes"}, "stream"),
    ({"stream": 1}, "stream"),
    ({"metadata": "user-1"}, "metadata"),
    ({"metadata": ["user-1"]}, "metadata"),
    ({"metadata": {"user_id": 42}}, "metadata.user_id"),
])
def test_a_stream_or_metadata_of_the_wrong_type_is_a_400_naming_it(fields, param):
    with pytest.raises(RequestError) as refused:
        anthropic.parse_request(body(**fields))
    assert refused.value.param == param and "user-1" not in str(refused.value)


@pytest.mark.parametrize("fields", [{}, {"stream": True}, {"stream": False}, {"stream": None}, {"metadata": {}},
                                    {"metadata": {"user_id": None}}, {"metadata": {"user_id": "u-1"}}])
def test_the_shapes_the_sdk_and_claude_code_send_are_taken(fields):
    assert anthropic.parse_request(body(**fields))["messages"] == HELLO
