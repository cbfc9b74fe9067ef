import pytest

from kong_plugins.formats import converse
from kong_plugins.formats.body import RequestError

REQUEST = {
    "max_tokens": 100, "temperature": 0.2, "top_k": 5, "stop_sequences": ["END"],
    "system": [{"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Time in Paris?"},
                                     {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                                  "data": "iVBOR"}}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "get_time",
                                           "input": {"tz": "Europe/Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "12:00"}]},
    ],
    "tools": [{"name": "get_time", "description": "Current time",
               "input_schema": {"type": "object", "properties": {"tz": {"type": "string"}}}}],
    "tool_choice": {"type": "any"},
}


def test_request_maps_every_part():
    body = converse.request_from_anthropic(REQUEST)
    assert body["system"] == [{"text": "Be terse."}, {"cachePoint": {"type": "default"}}]
    assert body["messages"][0]["content"][1] == {"image": {"format": "png", "source": {"bytes": "iVBOR"}}}
    assert body["messages"][1]["content"][0]["toolUse"] == {"toolUseId": "t1", "name": "get_time",
                                                            "input": {"tz": "Europe/Paris"}}
    assert body["messages"][2]["content"][0]["toolResult"] == {"toolUseId": "t1", "content": [{"text": "12:00"}]}
    assert body["inferenceConfig"] == {"maxTokens": 100, "temperature": 0.2, "stopSequences": ["END"]}
    assert body["toolConfig"]["toolChoice"] == {"any": {}}
    assert body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]["properties"]["tz"]
    assert body["additionalModelRequestFields"] == {"top_k": 5}
    assert "additionalModelRequestFields" not in converse.request_from_anthropic(REQUEST, model_fields=False)


def test_tool_history_without_tools_is_a_400_naming_the_field():
    bad = {**REQUEST, "tools": []}
    with pytest.raises(RequestError) as err:
        converse.request_from_anthropic(bad)
    assert err.value.param == "tools"


def test_image_url_sources_are_refused():
    bad = {"max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "url", "url": "https://x"}}]}]}
    with pytest.raises(RequestError):
        converse.request_from_anthropic(bad)


def test_response_becomes_an_anthropic_message():
    response = {"output": {"message": {"role": "assistant", "content": [
        {"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig"}}},
        {"text": "It is noon."},
        {"toolUse": {"toolUseId": "t2", "name": "get_time", "input": {"tz": "UTC"}}}]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 120, "outputTokens": 35, "totalTokens": 2255, "cacheReadInputTokens": 1800,
                  "cacheWriteInputTokens": 300, "cacheDetails": [{"ttl": "5m", "inputTokens": 100},
                                                                 {"ttl": "1h", "inputTokens": 200}]}}
    message = converse.message_from_converse(response, model="sonnet", message_id="msg_1")
    assert [b["type"] for b in message["content"]] == ["thinking", "text", "tool_use"]
    assert message["stop_reason"] == "tool_use"
    assert message["usage"] == {"input_tokens": 120, "output_tokens": 35, "cache_creation_input_tokens": 300,
                                "cache_read_input_tokens": 1800,
                                "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200}}


def test_stream_events_synthesise_block_starts_and_wait_for_metadata():
    t = converse.ConverseStreamToAnthropic(model="titan", message_id="msg_2")
    wire = [("messageStart", {"role": "assistant"}),
            ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hel"}}),
            ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "lo"}}),
            ("contentBlockStop", {"contentBlockIndex": 0}),
            ("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t", "name": "f"}}}),
            ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"a\":1}"}}}),
            ("contentBlockStop", {"contentBlockIndex": 1}),
            ("messageStop", {"stopReason": "tool_use"}),
            ("metadata", {"usage": {"inputTokens": 9, "outputTokens": 3, "totalTokens": 12}})]
    events = [e for kind, payload in wire for e in t.events(kind, payload)]
    assert [e["type"] for e in events] == [
        "message_start", "content_block_start", "content_block_delta", "content_block_delta",
        "content_block_stop", "content_block_start", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop"]
    assert events[-2]["delta"]["stop_reason"] == "tool_use" and events[-2]["usage"]["output_tokens"] == 3
    assert (t.usage.input, t.usage.output) == (9, 3)


def test_the_stop_sequence_is_named_when_the_request_named_one_only():
    from kong_plugins.formats.converse import ConverseStreamToAnthropic, message_from_converse
    response = {"output": {"message": {"content": [{"text": "Hello"}]}}, "stopReason": "stop_sequence",
                "usage": {"inputTokens": 3, "outputTokens": 1}}
    assert message_from_converse(response, model="m", message_id="x", stop_sequence="END")["stop_sequence"] == "END"
    assert message_from_converse(response, model="m", message_id="x")["stop_sequence"] is None
    ended = {**response, "stopReason": "end_turn"}
    assert message_from_converse(ended, model="m", message_id="x", stop_sequence="END")["stop_sequence"] is None
    stream = ConverseStreamToAnthropic(model="m", message_id="x", stop_sequence="END")
    events = [*stream.events("messageStop", {"stopReason": "stop_sequence"}),
              *stream.events("metadata", {"usage": {"inputTokens": 3, "outputTokens": 1}})]
    assert events[0]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "END"}
