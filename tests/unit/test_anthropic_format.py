import json

import pytest

from kong_plugins.context import RequestContext
from kong_plugins.bedrock.eventstream import exception_frame
from kong_plugins.emulator.eventstream import chunk_frame, event_frame
from kong_plugins.formats import anthropic
from kong_plugins.formats.api import ApiFormat
from kong_plugins.relay.call import UpstreamCall
from kong_plugins.relay.responses import stream_events
from kong_plugins.relay.stream_errors import StreamException

EVENTS = [
    {"type": "message_start", "message": {"id": "msg_bdrk_1", "type": "message", "role": "assistant",
                                          "content": [], "usage": {"input_tokens": 14, "output_tokens": 1,
                                                                   "cache_read_input_tokens": 100}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}},
    {"type": "message_stop", "amazon-bedrock-invocationMetrics": {
        "inputTokenCount": 14, "outputTokenCount": 4, "cacheReadInputTokenCount": 100,
        "cacheWriteInputTokenCount": 0}},
]


def test_invoke_body_drops_model_and_stream_and_adds_bedrock_version():
    body = json.loads(anthropic.invoke_body({"model": "x", "stream": True, "max_tokens": 5, "messages": []}))
    assert body == {"max_tokens": 5, "messages": [], "anthropic_version": "bedrock-2023-05-31"}


@pytest.mark.parametrize("raw,field", [(b"", None), (b"[1]", None), (b'{"messages":[1]}', "max_tokens"),
                                       (b'{"max_tokens":1,"messages":[]}', "messages"),
                                       (b'{"max_tokens":true,"messages":[1]}', "max_tokens"),
                                       (b"\xff\xfe", None)])
def test_bad_requests_name_the_field(raw, field):
    with pytest.raises(anthropic.RequestError) as err:
        anthropic.parse_request(raw)
    assert err.value.param == field


def call(api=ApiFormat.ANTHROPIC, operation="invoke-with-response-stream", include_usage=False):
    return UpstreamCall(api=api, operation=operation, model_name="sonnet", client_model="sonnet",
                        model_id="us.x", region="us-east-1", body=b"{}", stream=True,
                        include_usage=include_usage, response_id="id-1")


def sse_events(out: list[bytes]) -> list[bytes]:
    """The SSE events in a stream's output, however its writes were cut."""
    return [event + b"\n\n" for event in b"".join(out).split(b"\n\n")[:-1]]


def test_invoke_stream_reaches_anthropic_clients_byte_for_byte_even_split_mid_frame():
    wire = b"".join(chunk_frame(e) for e in EVENTS)
    ctx = RequestContext(request_id="r", consumer=None, body=None)
    pieces = (wire[i:i + 7] for i in range(0, len(wire), 7))     # arbitrary TCP-sized pieces
    out = sse_events(list(stream_events(pieces, call(), ctx)))
    assert [e.split(b"\n", 1)[0] for e in out] == [f"event: {e['type']}".encode() for e in EVENTS]
    assert json.loads(out[2].split(b"data: ", 1)[1]) == EVENTS[2]
    u = ctx.usage
    assert (u.input, u.output, u.cache_read, u.cache_write) == (14, 4, 100, 0)
    assert ctx.first_token_at is not None


def test_invoke_stream_rendered_for_openai_clients():
    ctx = RequestContext(request_id="r", consumer=None, body=None)
    wire = b"".join(chunk_frame(e) for e in EVENTS)
    out = sse_events(list(stream_events([wire], call(api=ApiFormat.OPENAI, include_usage=True), ctx)))
    assert out[-1] == b"data: [DONE]\n\n"
    assert json.loads(out[-2][6:])["usage"]["prompt_tokens"] == 114


def test_converse_stream_rendered_for_openai_clients():
    ctx = RequestContext(request_id="r", consumer=None, body=None)
    wire = (event_frame("messageStart", {"role": "assistant"})
            + event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}})
            + event_frame("contentBlockStop", {"contentBlockIndex": 0})
            + event_frame("messageStop", {"stopReason": "end_turn"})
            + event_frame("metadata", {"usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}}))
    out = sse_events(list(stream_events([wire], call(api=ApiFormat.OPENAI, operation="converse-stream"), ctx)))
    deltas = [json.loads(line[6:])["choices"][0]["delta"] for line in out[:-1]]
    assert {"content": "Hi"} in deltas and out[-1] == b"data: [DONE]\n\n"
    assert (ctx.usage.input, ctx.usage.output) == (3, 1)


def test_one_write_per_upstream_read_and_what_came_before_an_error_goes_out_first():
    ctx = RequestContext(request_id="r", consumer=None, body=None)
    reads = [chunk_frame(EVENTS[0]) + chunk_frame(EVENTS[1]), chunk_frame(EVENTS[2]),
             chunk_frame(EVENTS[3]) + exception_frame("throttlingException", {"message": "slow down"})]
    stream = stream_events(iter(reads), call(), ctx)
    first = next(stream)
    assert [e.split(b"\n", 1)[0] for e in sse_events([first])] == [b"event: message_start",
                                                                   b"event: content_block_start"]
    assert sse_events([next(stream)])[0].startswith(b"event: content_block_delta")
    before_error = next(stream)      # the last read's event, then the exception frame's error
    assert before_error.startswith(f"event: {EVENTS[3]['type']}".encode())
    with pytest.raises(StreamException):
        next(stream)


def test_exception_frame_raises_with_its_type():
    ctx = RequestContext(request_id="r", consumer=None, body=None)
    wire = chunk_frame(EVENTS[0]) + exception_frame("throttlingException", {"message": "slow down"})
    with pytest.raises(StreamException) as exc:
        list(stream_events([wire], call(), ctx))
    assert exc.value.exception_type == "throttlingException" and exc.value.upstream_message == "slow down"


def test_system_turns_fold_into_the_top_level_system():
    request = {"max_tokens": 5, "system": [{"type": "text", "text": "Base.", "cache_control": {"type": "ephemeral"}}],
               "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}]},
                            {"role": "system", "content": "Agents: x, y."},
                            {"role": "user", "content": "b"},
                            {"role": "assistant", "content": "ok"}]}
    folded = anthropic.fold_system_messages(request)
    assert folded["system"] == [{"type": "text", "text": "Base.", "cache_control": {"type": "ephemeral"}},
                                {"type": "text", "text": "Agents: x, y."}]
    assert [m["role"] for m in folded["messages"]] == ["user", "assistant"]
    assert folded["messages"][0]["content"] == [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    plain = {"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    assert anthropic.fold_system_messages(plain) is plain


def test_header_betas_merge_through_the_allowlist():
    body = anthropic.invoke_body({"max_tokens": 5, "messages": [], "anthropic_beta": ["bogus-beta",
                                  "context-1m-2025-08-07"], "context_management": {}},
                                 fields=frozenset({"max_tokens", "messages", "anthropic_beta"}),
                                 betas=frozenset({"context-1m-2025-08-07", "interleaved-thinking-2025-05-14"}))
    assert json.loads(body) == {"max_tokens": 5, "messages": [], "anthropic_beta": ["context-1m-2025-08-07"],
                                "anthropic_version": "bedrock-2023-05-31"}
    merged = anthropic.with_header_betas(body, "claude-code-20250219, interleaved-thinking-2025-05-14",
                                         frozenset({"context-1m-2025-08-07", "interleaved-thinking-2025-05-14"}),
                                         converse=False)
    assert json.loads(merged)["anthropic_beta"] == ["context-1m-2025-08-07", "interleaved-thinking-2025-05-14"]
