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


def test_bedrock_refusing_a_configured_id_is_told_apart_from_a_bad_request():
    from kong_plugins.bedrock.errors import config_rejected
    on_demand = ("Invocation of model ID anthropic.claude-haiku-4-5-20251001-v1:0 with on-demand throughput isn't "
                 "supported. Retry your request with the ID or ARN of an inference profile that contains this model.")
    guardrail = "The guardrail identifier or version provided in the request does not exist."
    for error_type, message in [("ValidationException", "The provided model identifier is invalid."),
                                ("ValidationException", on_demand), ("ResourceNotFoundException", None)]:
        assert config_rejected(error_type, message), message
    assert config_rejected("ValidationException", guardrail, gateway_guardrail=True)      # the role's: operators'
    assert not config_rejected("ValidationException", guardrail)   # a native client's own: the client's 400
    for error_type, message in [("ValidationException", "messages.0.content: Field required"),
                                ("ValidationException", "max_tokens: 100000 > 64000, which is the maximum"),
                                ("AccessDeniedException", "The provided model identifier is invalid."),
                                ("ValidationException", None)]:
        assert not config_rejected(error_type, message), message
