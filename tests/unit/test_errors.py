from kong_plugins.formats.api import ApiFormat, api_for_path
from kong_plugins.formats.errors import ErrorKind, render_error, sse_error_event


def test_api_format_by_path():
    assert api_for_path("/v1/messages") is ApiFormat.ANTHROPIC
    assert api_for_path("/v1/messages/count_tokens") is ApiFormat.ANTHROPIC
    assert api_for_path("/v1/chat/completions") is ApiFormat.OPENAI
    assert api_for_path("/model/x/invoke") is ApiFormat.BEDROCK


def test_each_format_has_its_own_error_shape():
    o = render_error(ApiFormat.OPENAI, ErrorKind.MODEL_NOT_FOUND, "nope", param="model")
    assert o.status == 404 and o.body == {"error": {"message": "nope", "type": "invalid_request_error",
                                                    "param": "model", "code": "model_not_found"}}
    a = render_error(ApiFormat.ANTHROPIC, ErrorKind.RATE_LIMITED, "slow down", retry_after=3)
    assert a.status == 429 and a.body == {"type": "error", "error": {"type": "rate_limit_error",
                                                                     "message": "slow down"}}
    assert a.headers["Retry-After"] == "3"
    b = render_error(ApiFormat.BEDROCK, ErrorKind.CONTENT_BLOCKED, "blocked")
    assert b.status == 403 and b.body == {"message": "blocked"}
    assert b.headers["x-amzn-ErrorType"] == "AccessDeniedException"


def test_no_kind_is_a_bare_500():
    assert all(kind.status != 500 for kind in ErrorKind)


def test_stream_error_events():
    assert sse_error_event(ApiFormat.ANTHROPIC, ErrorKind.UNAVAILABLE, "x").startswith(b"event: error\ndata: {")
    assert sse_error_event(ApiFormat.OPENAI, ErrorKind.UNAVAILABLE, "x").startswith(b'data: {"error"')
