"""A Responses API request's 400s name the fields the client sent (`max_output_tokens`, `reasoning.effort`,
`text.format`, `input.N`), not those of the Chat Completions request the gateway rewrote it as."""

import pytest

from kong_plugins.formats.body import RequestError
from kong_plugins.formats.responses_errors import in_client_terms
from tests.unit.test_bedrock_proxy_decide import PLUGIN, ctx_for

REMOTE_IMAGE = {"role": "user", "content": [{"type": "input_image", "image_url": "https://example.com/a.png"}]}


@pytest.mark.parametrize("extra, param, opening", [
    ({"max_output_tokens": 0}, "max_output_tokens", "max_output_tokens: "),
    ({"max_output_tokens": "many"}, "max_output_tokens", "max_output_tokens: "),
    ({"reasoning": {"effort": "extreme"}}, "reasoning.effort", "reasoning.effort: "),
    ({"input": [REMOTE_IMAGE]}, "input.0.content.0", "input.0.content.0.image_url: "),
    ({"instructions": "Be brief.", "input": [{"type": "reasoning", "summary": []}, {"role": "user", "content": "a"},
                                             REMOTE_IMAGE]}, "input.2.content.0", "input.2.content.0.image_url: "),
])
def test_responses_errors_name_what_the_client_sent(extra, param, opening):
    reply = PLUGIN.decide(ctx_for("developer", {"model": "sonnet", "input": "hi", **extra}), "/v1/responses")
    error = reply.body["error"]
    assert reply.status == 400 and error["param"] == param and error["message"].startswith(opening)
    assert not any(chat in error["message"] for chat in ("max_completion_tokens", "reasoning_effort", "messages."))


def test_chat_completions_errors_keep_their_own_names():
    reply = PLUGIN.decide(ctx_for("developer", {"model": "sonnet", "max_completion_tokens": 0,
                                                "messages": [{"role": "user", "content": "hi"}]}),
                          "/v1/chat/completions")
    assert reply.body["error"]["param"] == "max_completion_tokens"


@pytest.mark.parametrize("param, message, origins, renamed, moved", [
    ("response_format.json_schema", "response_format.json_schema: required.", (), "text.format.json_schema", False),
    ("messages.1.tool_call_id", "messages.1.tool_call_id: required.", ("instructions", "input.0"), "input.0.call_id",
     False),
    ("messages.0", "messages.0: bad.", ("previous_response_id", "input.0"), "previous_response_id", False),
    ("messages.0.content", "messages.0.content: bad.", ("instructions",), "instructions", False),
    ("tools.3", "tools.3: bad.", ("input.0",), "tools", True),          # a hosted tool left out moved the rest
    ("tools.3", "tools.3: bad.", ("input.0",), "tools.3", False),       # nothing moved: the client's own index
    ("messages.7", "messages.7: bad.", ("input.0",), "messages.7", False),     # out of range: left as it is
    ("temperature", "temperature: must be a number.", (), "temperature", False),
])
def test_chat_paths_map_back_to_the_responses_request(param, message, origins, renamed, moved):
    exc = in_client_terms(RequestError(message, param), origins, moved)
    assert exc.param == renamed and str(exc).startswith(renamed + ":")
