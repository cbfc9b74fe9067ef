"""A stream the gateway stopped waiting for before its first byte is answered as the same call unstreamed: a 504
timeout the SDKs are told not to retry (Bedrock runs the call on and bills it), not a 502 'stream broke off'."""

import pytest
from botocore.exceptions import ReadTimeoutError
from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeout

from kong_plugins.context import RequestContext
from kong_plugins.formats.api import ApiFormat
from kong_plugins.relay.call import UpstreamCall
from kong_plugins.relay.stream_failures import failure_reply


def _stream(api: ApiFormat) -> UpstreamCall:
    operation = "converse-stream" if api is ApiFormat.OPENAI else "invoke-with-response-stream"
    return UpstreamCall(api=api, operation=operation, model_name="sonnet", client_model="sonnet",
                        model_id="us.anthropic.claude-sonnet-4-5-20250929-v1:0", region="us-east-1", body=b"{}",
                        stream=True)


TIMEOUTS = [ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"),
            Urllib3ReadTimeout(None, "/model", "Read timed out.")]


@pytest.mark.parametrize("exc", TIMEOUTS, ids=["botocore", "urllib3"])
def test_an_anthropic_stream_that_timed_out_before_its_first_byte_is_a_504_timeout_error(exc):
    ctx = RequestContext(request_id="r", consumer=None, body=None)
    reply = failure_reply(ctx, _stream(ApiFormat.ANTHROPIC), exc)
    assert reply.status == 504 and reply.body["error"]["type"] == "timeout_error"
    assert reply.body["error"]["message"] == "Bedrock did not answer in time."
    assert reply.headers["x-should-retry"] == "false" and "Retry-After" not in reply.headers
    assert ctx.error_type == "ReadTimeout"   # as the unstreamed call's, in the request log and metrics


@pytest.mark.parametrize("exc", TIMEOUTS, ids=["botocore", "urllib3"])
def test_an_openai_stream_that_timed_out_before_its_first_byte_is_a_504(exc):
    reply = failure_reply(RequestContext(request_id="r", consumer=None, body=None), _stream(ApiFormat.OPENAI), exc)
    assert reply.status == 504 and reply.body["error"]["message"] == "Bedrock did not answer in time."
    assert reply.headers["x-should-retry"] == "false"


def test_a_stream_that_broke_before_its_first_byte_is_still_a_502_the_sdks_may_retry():
    reply = failure_reply(RequestContext(request_id="r", consumer=None, body=None), _stream(ApiFormat.OPENAI),
                          ConnectionResetError())
    assert reply.status == 502 and "x-should-retry" not in reply.headers


@pytest.mark.parametrize("exc", TIMEOUTS, ids=["botocore", "urllib3"])
def test_a_native_stream_that_timed_out_before_its_first_byte_is_bedrocks_408_as_unstreamed(exc):
    """botocore retries any 504 (a transient status), so a 504 ModelTimeoutException ran the call again."""
    reply = failure_reply(RequestContext(request_id="r", consumer=None, body=None), _stream(ApiFormat.BEDROCK), exc)
    assert reply.status == 408 and reply.headers["x-amzn-ErrorType"] == "ModelTimeoutException"
    assert reply.body == {"message": "Bedrock did not answer in time."}
