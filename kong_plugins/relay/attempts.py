"""One Bedrock call with retries, and the fallback chain across models.

Retries follow botocore's standard mode (see bedrock.retries). Read timeouts are never retried: the model may
already have run, and a replay would bill the call twice and double the wait. When a model stays throttled, is
denied or unavailable, or Bedrock refuses its configured id, the next model of its fallback chain is tried. A
stream refused in its first frame (a 200 whose first frame is a throttlingException) is the HTTP error it stands
for (relay.first_frame): nothing went to the client yet, so it is retried, and falls back, as that error is.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.exceptions import ConnectTimeoutError, HTTPClientError, ReadTimeoutError

from kong_plugins import metrics
from kong_plugins.bedrock.client import BedrockClient, NoCredentialsError, Upstream
from kong_plugins.bedrock.errors import client_message, config_rejected, error_type, kind_for, \
    mantle_error_type
from kong_plugins.bedrock.retries import CallRetries, RetryBudget
from kong_plugins.bedrock.transport import drain
from kong_plugins.eventlog import log_event
from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats.errors import ErrorKind, Reply, render_error
from kong_plugins.relay import first_frame
from kong_plugins.relay.call import UpstreamCall
from kong_plugins.relay.clock import RelayClock
from kong_plugins.relay.first_frame import Refusal

_BY_STATUS = {400: "ValidationException", 404: "ResourceNotFoundException", 408: "ModelTimeoutException",
              422: "ValidationException", 429: "ThrottlingException", 500: "InternalServerException",
              503: "ServiceUnavailableException"}
BEDROCK_REQUEST_ID = "x-amzn-RequestId"
"""Bedrock's id of a call (on every answer, errors included): the key of its model invocation log entry."""
MISCONFIGURED = ("Bedrock does not accept the gateway's configuration for this model (its model, inference "
                 "profile or guardrail id); the gateway's operators have been told.")
"""A 502: not the client's request at fault (Bedrock's own 400 or 404 would say it was)."""
READ_TIMEOUT = "ReadTimeout"
"""The gateway stopped waiting for a call Bedrock runs on to its end (never retried, charged as planned)."""
TIMED_OUT = "Bedrock did not answer in time."
"""What the client is told of a READ_TIMEOUT, streamed or not."""
NOT_RETRIED = ("x-should-retry", "false")
"""On a read timeout's 504 (streamed or not): the OpenAI and Anthropic SDKs retry a 504 unless told not to, and
each retry would run (and bill) the whole call again at Bedrock, as the gateway itself does not."""
FALLBACK_ON = frozenset({ErrorKind.RATE_LIMITED, ErrorKind.PERMISSION, ErrorKind.UNAVAILABLE})


@dataclass(frozen=True)
class Failure:
    kind: ErrorKind
    message: str          # safe for the client: never the request, never credentials
    upstream_type: str    # Bedrock's error type (or our name for a transport failure), for logs and metrics
    request_id: str | None = None   # Bedrock's x-amzn-RequestId of the failed call, for AWS support and logs
    misconfigured: str | None = None   # Bedrock's words when it refused an id from the gateway's configuration


def native_error(api: ApiFormat, failure: Failure) -> tuple[str, int] | None:
    """Bedrock's own error type and status for a Bedrock-native client (first_frame.bedrock_status: NATIVE_STATUS,
    and a stream-only ModelStreamErrorException's 424); a call the gateway stopped waiting for is Bedrock's
    ModelTimeoutException. None: the kind's (another format, the gateway's own failure, or an id from its
    configuration that Bedrock refused, which is no fault of the client's request)."""
    if api is not ApiFormat.BEDROCK or failure.misconfigured:
        return None
    upstream_type = "ModelTimeoutException" if failure.upstream_type == READ_TIMEOUT else failure.upstream_type
    status = first_frame.bedrock_status(upstream_type)
    return None if status is None else (upstream_type, status)


def error_reply(api: ApiFormat, failure: Failure) -> Reply:
    """`failure` as the client's error, the one place it is decided how its SDK may retry it: a throttle's 429
    with Retry-After; Bedrock's own status and error type for a native client (native_error); and on a call the
    gateway stopped waiting for (READ_TIMEOUT, streamed or not) x-should-retry: false (NOT_RETRIED), since Bedrock
    runs it on and bills it and a retry would run it again."""
    native = native_error(api, failure)
    reply = render_error(api, failure.kind, failure.message, status=native[1] if native else None,
                         retry_after=1 if failure.kind is ErrorKind.RATE_LIMITED else None)
    if native:
        reply.headers["x-amzn-ErrorType"] = native[0]   # boto3 names its exception class by it
    if failure.upstream_type == READ_TIMEOUT:
        reply.headers.update([NOT_RETRIED])
    return reply


def call_with_fallbacks(client: BedrockClient, budget: RetryBudget, candidates: list[UpstreamCall],
                        request_id: str, clock: RelayClock) -> tuple[UpstreamCall, Upstream | Failure]:
    """Try each candidate in order; return the one that answered (or the last failure)."""
    outcome: Upstream | Failure = Failure(ErrorKind.UPSTREAM_ERROR, "No model to call.", "NoCandidate")
    call = candidates[0]
    for index, call in enumerate(candidates):
        outcome = call_with_retries(client, budget, call, clock)
        if isinstance(outcome, Failure) and outcome.misconfigured:   # the operators' to fix, fallback or not
            metrics.model_misconfigured_total.labels(model=call.model_name).inc()
            log_event("model_misconfigured", level="error", request_id=request_id, model=call.model_name,
                      model_id=call.model_id, bedrock_message=outcome.misconfigured)
        if not isinstance(outcome, Failure) or index + 1 == len(candidates) or \
                (outcome.kind not in FALLBACK_ON and not outcome.misconfigured):
            break
        log_event("bedrock_fallback", level="warn", request_id=request_id, model=call.model_name,
                  fallback=candidates[index + 1].model_name, error=outcome.upstream_type)
    return call, outcome


def call_with_retries(client: BedrockClient, budget: RetryBudget, call: UpstreamCall,
                      clock: RelayClock) -> Upstream | Failure:
    if call.operation == "openai-chat" and not os.environ.get(call.api_key_env or ""):
        return Failure(ErrorKind.UNAVAILABLE, "The gateway has no API key for this model's provider.", "NoProviderKey")
    url = upstream_url(client, call)
    accept = ("text/event-stream" if call.is_mantle else "application/vnd.amazon.eventstream") \
        if call.stream else "application/json"
    retries = budget.call()
    while True:
        began = time.perf_counter()
        outcome = _attempt(client, retries, call, url, accept)
        clock.add_waiting(time.perf_counter() - began)   # a non-streamed body is read inside the attempt
        if not isinstance(outcome, float):
            return outcome
        time.sleep(outcome)   # cooperative: the plugin server runs monkey-patched gevent
        clock.add_waiting(outcome)


def _attempt(client: BedrockClient, retries: CallRetries, call: UpstreamCall, url: str,
             accept: str) -> Upstream | Failure | float:
    """One send: the response, a final failure, or the delay before trying again."""
    try:
        if call.operation == "openai-chat":
            upstream = client.send_bearer(url, call.body, os.environ[call.api_key_env or ""], stream=call.stream)
        else:
            upstream = client.send(url, call.region, call.body, accept=accept, stream=call.stream,
                                   service=call.service, extra_headers=dict(call.headers))
    except NoCredentialsError:
        return Failure(ErrorKind.UNAVAILABLE, "The gateway has no AWS credentials for Bedrock.", "NoCredentials")
    except ReadTimeoutError:
        return Failure(ErrorKind.TIMEOUT, TIMED_OUT, READ_TIMEOUT)
    except (BotocoreConnectionError, HTTPClientError) as exc:   # refused, TLS, proxy, connect timeout, reset
        delay = retries.delay(exception=exc)
        if delay is None:
            kind = ErrorKind.TIMEOUT if isinstance(exc, ConnectTimeoutError) else ErrorKind.UPSTREAM_ERROR
            return Failure(kind, "Could not reach Bedrock.", type(exc).__name__)
        return delay
    if upstream.status_code == 200:
        refused = first_frame.refusal(call, upstream) if call.stream else None
        if refused is None:
            retries.succeeded()
            return upstream
        return _refused(call, retries, refused, upstream.headers.get(BEDROCK_REQUEST_ID))
    content = drain(upstream.raw) if call.stream else upstream.content   # its connection kept for the next call
    upstream_type = _upstream_error_type(call, upstream.headers, content, upstream.status_code) or \
        str(upstream.status_code)
    return _refused(call, retries, Refusal(upstream.status_code, upstream_type, _message(content)),
                    upstream.headers.get(BEDROCK_REQUEST_ID))


def _refused(call: UpstreamCall, retries: CallRetries, refused: Refusal, request_id: str | None) -> Failure | float:
    """Bedrock's error, as an HTTP status or as a stream's first frame (relay.first_frame), which is the same
    failure: the delay before trying again (the retry policy's), or the final failure."""
    delay = retries.delay(status=refused.status, error_code=refused.upstream_type)
    if delay is not None:
        return delay
    upstream_type, message = refused.upstream_type, refused.message
    names_model = call.apply is None   # ApplyGuardrail names a guardrail only
    if config_rejected(upstream_type, message, call.gateway_guardrail, names_model=names_model):
        return Failure(ErrorKind.UPSTREAM_ERROR, MISCONFIGURED, upstream_type, request_id,
                       misconfigured=(message or upstream_type)[:300])
    kind = kind_for(upstream_type, refused.status or 0)
    return Failure(kind, client_message(kind, message, upstream_type, names_model=names_model), upstream_type,
                   request_id)


def upstream_url(client: BedrockClient, call: UpstreamCall) -> str:
    if call.operation == "openai-chat":
        return (call.endpoint or "").rstrip("/") + "/chat/completions"
    if call.operation == "mantle-messages":
        return client.mantle_url(call.region, "/v1/messages")
    if call.operation == "mantle-count-tokens":
        return client.mantle_url(call.region, "/v1/messages/count_tokens")
    if call.apply is not None:
        return client.guardrail_url(call.region, call.apply.identifier, call.apply.version)
    return client.model_url(call.region, call.model_id, "invoke" if call.operation == "embed" else call.operation)


def _upstream_error_type(call: UpstreamCall, headers: Any, content: bytes, status: int) -> str:
    if call.operation == "openai-chat":   # OpenAI errors carry no Bedrock type: name them by status
        return _BY_STATUS.get(status, "")
    if call.is_mantle:
        return mantle_error_type(str((_json(content).get("error") or {}).get("type") or ""))
    return error_type(headers.get("x-amzn-ErrorType"))


def _message(content: bytes) -> str | None:
    data = _json(content)
    error = data.get("error")
    value = data.get("message") or (error.get("message") if isinstance(error, dict) else None)
    return value if isinstance(value, str) else None


def _json(content: bytes) -> dict:
    try:
        data = json.loads(content)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
