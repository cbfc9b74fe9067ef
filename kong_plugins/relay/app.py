"""WSGI application of the relay (served by gevent.pywsgi on loopback).

It serves a request only if its X-Kong-Request-Id names a live context that
bedrock-proxy's access phase armed in this same process (once); everything
else gets 403.
The body sent to Bedrock is the one the plugins inspected (from the request
context), not the bytes Kong forwarded, so what was scanned is what is sent.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any, Callable, Iterable, Iterator

import gevent

from kong_plugins import metrics
from kong_plugins.bedrock.client import BedrockClient
from kong_plugins.bedrock import request_metadata
from kong_plugins.bedrock.retries import RetryBudget
from kong_plugins.context import ContextStore, RequestContext
from kong_plugins.eventlog import log_event
from kong_plugins.formats import openai_embeddings
from kong_plugins.formats.anthropic import with_count_header_betas, with_header_betas
from kong_plugins.formats.api import ApiFormat, api_for_path, request_id_headers
from kong_plugins.formats.errors import ErrorKind, render_error
from kong_plugins.formats.image_models import NotDrawn
from kong_plugins.metering import budget_status
from kong_plugins.metering.estimate import as_planned
from kong_plugins.relay.attempts import BEDROCK_REQUEST_ID, READ_TIMEOUT, Failure, call_with_fallbacks, error_reply
from kong_plugins.relay.call import GUARDRAIL_HEADERS, LATENCY_HEADER, REQUEST_ID_HEADER, UpstreamCall
from kong_plugins.relay import background, item_store
from kong_plugins.relay.choices import call_choices, charge_failed_choices, first_failure, merged_stream, \
    render_choices
from kong_plugins.relay.clock import RelayClock
from kong_plugins.relay.keepalive import kept_alive
from kong_plugins.relay.stream_errors import STREAM_TIMED_OUT, StreamCut
from kong_plugins.relay.stream_failures import STREAM_FAILURES, cancelled, failure_event, failure_reply
from kong_plugins.policy.service_tier import HEADER as TIER_HEADER
from kong_plugins.relay.embeddings import embed_all
from kong_plugins.relay.responses import (note_served_tier, render_message, tier_named_for_openai, translator_for,
                                          upstream_chunks)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_SSE_HEADERS = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]
_REQUEST_ID_ENVIRON_KEY = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")
SERVED_MODEL_HEADER = "X-Bedrock-Model"
"""The catalogue name of the model that answered."""
SERVED_TIER_HEADER = "X-Bedrock-Service-Tier"
BEDROCK_REQUEST_ID_HEADER = "X-Bedrock-Request-Id"
"""Bedrock's id of the call that answered, for OpenAI and Anthropic clients (native ones get x-amzn-RequestId)."""
FALLBACK_FROM_HEADER = "X-Bedrock-Fallback-From"
"""Set when a fallback model answered: the model that was asked for."""
SUBSTITUTED_FROM_HEADER = "X-Bedrock-Model-Substituted-From"
"""Set when the role's default model served a request for a model the role may not use."""
OMITTED_TOOLS_HEADER = "X-Bedrock-Omitted-Tools"
"""The hosted OpenAI tool types a Responses call went on without (bedrock-proxy's openai_hosted_tools)."""
_HEALTH = json.dumps({"status": "ok"}).encode()
_RESPAWNED = json.dumps({"status": "restart-pod",
                         "reason": "the plugin server was respawned; Kong 3.6.1 workers may keep stale "
                                   "plugin instance ids (Kong issue #12364)"}).encode()
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 413: "Payload Too Large",
            429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class RelayApp:
    def __init__(self, client: BedrockClient, contexts: ContextStore, retries: RetryBudget,
                 healthy: bool = True) -> None:
        self.client = client
        self.contexts = contexts
        self.retries = retries
        self.healthy = healthy   # False: respawned under Kong 3.6.1 (#12364), the pod should be restarted

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        _drain(environ)
        if environ.get("PATH_INFO") == "/health" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            if not self.healthy:
                return _json(start_response, "503 Service Unavailable", _RESPAWNED)
            return _json(start_response, "200 OK", _HEALTH)
        request_id = environ.get(_REQUEST_ID_ENVIRON_KEY) or ""
        ctx = self.contexts.claim(request_id)
        if ctx is None or not isinstance(ctx.upstream, UpstreamCall):
            return self._refuse(request_id, environ, start_response)
        start_response = _noting_status(ctx, start_response)
        missing = sorted(ctx.required_signoffs - ctx.signoffs)
        if missing:
            # Kong 3.6.1 went on without a plugin whose RPC failed: fail closed here.
            log_event("relay_refused", level="error", reason="missing_signoff", plugins=missing,
                      request_id=ctx.request_id)
            metrics.rejections_total.labels(reason="missing_signoff", role=ctx.role or "unknown").inc()
            return _error(start_response, render_error(
                ctx.upstream.api, ErrorKind.UNAVAILABLE,
                f"A gateway check did not run ({', '.join(missing)}); the request was not sent to the model.",
                retry_after=1))
        betas = environ.get("HTTP_ANTHROPIC_BETA") or ""
        ctx.body = ctx.prompt = None   # planned into the calls below: a long stream need not hold the prompt twice
        ctx.relay_active = True
        ctx.relay_clock = RelayClock()
        try:
            candidates = [_with_client_headers(_with_betas(c, betas), environ) for c in [ctx.upstream, *ctx.fallbacks]]
            body = self._forward(ctx, candidates, start_response)
        except BaseException:
            _relayed(ctx)   # settled and logged whatever failed (safety.never_raise answers 502): never left active
            raise
        return _then_done(body, ctx)

    def _refuse(self, request_id: str, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        """No plan to serve. A live request our plugins saw but bedrock-proxy never planned (it raised, or is
        not on the route) is the gateway's failure, said as such; anything else did not pass the gateway."""
        api = api_for_path(environ.get("PATH_INFO") or "/")
        seen = self.contexts.get(request_id) if request_id else None
        if seen is not None and (seen.path or "").rstrip("/") == budget_status.PATH:   # token-meter is not on it
            return _error(start_response, render_error(api, ErrorKind.NOT_FOUND, "No budget applies to this route: "
                                                       "token-meter is not configured on it."))
        if seen is not None and seen.upstream is None and not seen.relay_active:
            log_event("relay_refused", level="error", reason="unplanned", request_id=request_id)
            metrics.rejections_total.labels(reason="missing_signoff", role=seen.role or "unknown").inc()
            return _error(start_response, render_error(
                api, ErrorKind.UNAVAILABLE, "A gateway check did not run (bedrock-proxy); the request was not "
                "sent to the model.", retry_after=1))
        log_event("relay_refused", level="warn", reason="no live context")
        return _error(start_response, render_error(
            api, ErrorKind.PERMISSION, "This endpoint only serves requests that passed the gateway."))

    def _forward(self, ctx: RequestContext, candidates: list[UpstreamCall],
                 start_response: StartResponse) -> Iterable[bytes]:
        if ctx.upstream.embedding is not None:
            return self._embed(ctx, ctx.upstream, start_response)
        if ctx.upstream.choices > 1:
            return self._choices(ctx, candidates[0], start_response)
        if ctx.background is not None:
            return self._background(ctx, candidates, start_response)
        call, upstream = call_with_fallbacks(self.client, self.retries, candidates, ctx.request_id, ctx.relay_clock)
        if isinstance(upstream, Failure):
            return self._fail(ctx, call, start_response, upstream)
        _answered(ctx, call, upstream)
        if call.stream:   # a Bedrock-native stream keeps Bedrock's own headers
            head = _passthrough_headers(upstream.headers) if call.api is ApiFormat.BEDROCK else _SSE_HEADERS
            start_response("200 OK", head + _served_headers(ctx, call))
            return self._stream(ctx, call, upstream, start_response)
        return self._answer(ctx, call, upstream, start_response, lambda: render_message(call, upstream.content, ctx,
                                                                                       upstream.headers))

    def _choices(self, ctx: RequestContext, call: UpstreamCall, start_response: StartResponse) -> Iterable[bytes]:
        """OpenAI's `n`: that many calls of one model at once, answered as one completion (relay.choices)."""
        outcomes = call_choices(self.client, self.retries, call, ctx.request_id, ctx.relay_clock)
        failure = first_failure(outcomes)
        if failure is not None:   # the client gets the failure; the calls Bedrock completed are still charged
            failed = self._fail(ctx, call, start_response, failure)
            charge_failed_choices(call, outcomes, ctx)
            return failed
        answers = [answer for answer in outcomes if not isinstance(answer, Failure)]
        _answered(ctx, call, answers[0])
        if call.stream:
            start_response("200 OK", _SSE_HEADERS + _served_headers(ctx, call))
            return _failing_as_bedrock_would(ctx, call, ctx.relay_clock.downstream(merged_stream(call, answers, ctx)),
                                             start_response)
        return self._answer(ctx, call, answers[0], start_response, lambda: render_choices(call, answers, ctx))

    def _background(self, ctx: RequestContext, candidates: list[UpstreamCall],
                    start_response: StartResponse) -> Iterable[bytes]:
        """OpenAI's `background: true`: keep the response as running, answer with it, then call Bedrock."""
        call = candidates[0]
        pending = background.running(call.response_id, call.client_model, ctx.response_echo, tier_named_for_openai(ctx))
        try:
            ctx.background.pending(pending)
        except item_store.ItemStoreError:
            return _error(start_response, render_error(call.api, ErrorKind.UNAVAILABLE, "The gateway's response "
                                                       "store is unreachable, so a background response could not be "
                                                       "started; retry."))
        ctx.relay_detached = True
        gevent.spawn(self._run_in_background, ctx, candidates, pending)
        return _json(start_response, "200 OK", json.dumps(pending, separators=(",", ":")).encode(),
                     _served_headers(ctx, call))

    def _run_in_background(self, ctx: RequestContext, candidates: list[UpstreamCall], pending: dict) -> None:
        """The Bedrock call of a background response; what it answers is kept unless the client cancelled."""
        finished = ctx.background.while_running(ctx.keep_items, pending["created_at"])

        def keep(response: dict) -> bool:
            kept = finished(response)
            ctx.background_status = response.get("status") if kept else "cancelled"
            return kept
        ctx.keep_items = keep
        try:
            call, upstream = call_with_fallbacks(self.client, self.retries, candidates, ctx.request_id,
                                                 ctx.relay_clock)
            if isinstance(upstream, Failure):
                _failed(ctx, upstream)
                return keep(background.failed(pending, upstream.kind, upstream.message))
            _answered(ctx, call, upstream)
            render_message(call, upstream.content, ctx, upstream.headers)   # keeps the finished Response
        except Exception as exc:  # noqa: BLE001 - a background call has no client to answer: keep what went wrong
            ctx.error_type = type(exc).__name__
            keep(background.failed(pending, ErrorKind.UPSTREAM_ERROR, "Bedrock returned a response the gateway "
                                   "could not read."))
        finally:
            _relayed(ctx)

    def _answer(self, ctx: RequestContext, call: UpstreamCall, upstream: Any, start_response: StartResponse,
                render: Callable[[], bytes]) -> Iterable[bytes]:
        """A non-streamed answer in the client's format, with the headers that say who served it at what cost."""
        try:
            content = render()
        except NotDrawn as exc:
            return self._fail(ctx, call, start_response, _not_drawn(exc, ctx.bedrock_request_id))
        except (ValueError, KeyError, TypeError, AttributeError):
            return self._fail(ctx, call, start_response, Failure(
                ErrorKind.UPSTREAM_ERROR, "Bedrock returned a response the gateway could not read.",
                "MalformedResponse", ctx.bedrock_request_id))
        headers = _passthrough_headers(upstream.headers) if call.api is ApiFormat.BEDROCK else \
            [("Content-Type", "application/json")]
        start_response("200 OK", headers + _served_headers(ctx, call) + usage_headers(ctx)
                       + [("Content-Length", str(len(content)))])
        return [content]

    def _embed(self, ctx: RequestContext, call: UpstreamCall, start_response: StartResponse) -> Iterable[bytes]:
        assert call.embedding is not None
        outcome = embed_all(self.client, self.retries, call, ctx.relay_clock)
        if isinstance(outcome, Failure):
            return self._fail(ctx, call, start_response, outcome)
        vectors, ctx.usage = outcome
        ctx.upstream_status = 200
        content = openai_embeddings.render(vectors, ctx.usage.input, model=call.client_model,
                                           encoding=call.embedding.encoding)
        start_response("200 OK", [("Content-Type", "application/json")] + _served_headers(ctx, call)
                       + usage_headers(ctx) + [("Content-Length", str(len(content)))])
        return [content]

    def _stream(self, ctx: RequestContext, call: UpstreamCall, upstream: Any,
                start_response: StartResponse) -> Iterator[bytes]:
        """Bedrock's stream to the client as it arrives, in the client's format (a native one byte for byte), with
        keep-alive pings while Bedrock is silent (relay.keepalive)."""
        try:
            clock = ctx.relay_clock
            pieces = translator_for(call)(clock.upstream(upstream_chunks(upstream)), call, ctx)
            yield from _failing_as_bedrock_would(
                ctx, call, clock.downstream(kept_alive(pieces, call.api, ctx.stream_ping_seconds)), start_response)
        finally:
            upstream.raw.close()

    def _fail(self, ctx: RequestContext, call: UpstreamCall, start_response: StartResponse,
              failure: Failure) -> Iterable[bytes]:
        _failed(ctx, failure)
        log_event("bedrock_error", level="warn", request_id=ctx.request_id, model=call.model_name,
                  error=failure.upstream_type, status=failure.kind.status, bedrock_request_id=failure.request_id)
        reply = error_reply(call.api, failure)   # its status and type, and whether the client's SDK may retry it
        if failure.request_id:   # AWS SDKs read Bedrock's own header into the error's RequestId
            reply.headers[BEDROCK_REQUEST_ID if call.api is ApiFormat.BEDROCK else BEDROCK_REQUEST_ID_HEADER] = \
                failure.request_id
        return _error(start_response, reply)


def _answered(ctx: RequestContext, call: UpstreamCall, upstream: Any) -> None:
    """What Bedrock's answer tells the context: its status and request id, the model and tier that served."""
    ctx.upstream_status, ctx.bedrock_request_id = upstream.status_code, upstream.headers.get(BEDROCK_REQUEST_ID)
    ctx.model, ctx.service_tier = call.model_name, call.service_tier if call.tiered else None   # None: no tier metrics
    note_served_tier(upstream.headers.get(TIER_HEADER), ctx)   # InvokeModel's word; Converse's is in its body


def _failed(ctx: RequestContext, failure: Failure) -> None:
    """What a failed call tells the context; one the gateway stopped waiting for still runs at Bedrock and is
    billed, so it is charged as planned."""
    ctx.error_type, ctx.bedrock_request_id = failure.upstream_type, failure.request_id
    if failure.upstream_type == READ_TIMEOUT:
        ctx.usage = as_planned(ctx.planned_input, ctx.planned_output, ctx.planned_calls)
        ctx.usage_estimated = True


def _failing_as_bedrock_would(ctx: RequestContext, call: UpstreamCall, pieces: Iterator[bytes],
                              start_response: StartResponse) -> Iterator[bytes]:
    """A stream's pieces, ended as Bedrock ends a failed call for this client. The 200 goes out with the first
    bytes: a failure before them is answered with the error's own status (pywsgi takes a new start_response,
    with exc_info, until the head is sent), which the SDKs retry, and billed as that error is (nothing, or, for a
    call the gateway stopped waiting for, as planned); a refusal in the first frame was retried before it
    (relay.first_frame). After them: the format's error event; a native stream is cut (passthrough_events ends
    Bedrock's own failures; this is one of ours)."""
    started = False
    try:
        for piece in pieces:
            started = started or bool(piece)
            yield piece
    except GeneratorExit:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()   # the translators note what was streamed (their finally) before the hang-up is logged
        if call.choices == 1:   # relay.choices' merged stream logs its own
            cancelled(ctx)
        raise
    except STREAM_FAILURES as exc:
        if call.api is ApiFormat.BEDROCK:
            ctx.error_type = type(exc).__name__
            raise StreamCut() from None          # cut, not a clean end a client would read as a short answer
        if started:
            yield failure_event(ctx, call, exc)
            return
        exc_info = sys.exc_info()
        if call.choices == 1:   # (the choices of `n` that did open are billed their prompts: relay.choices)
            ctx.usage, ctx.usage_estimated = (as_planned(ctx.planned_input, ctx.planned_output), True) \
                if isinstance(exc, STREAM_TIMED_OUT) else (None, False)
        yield from _error(lambda status, headers: start_response(status, headers, exc_info),
                          failure_reply(ctx, call, exc))


def _not_drawn(exc: NotDrawn, request_id: str | None) -> Failure:
    """Stability's 200 without an image, as the error OpenAI's Images API gives for it."""
    if exc.filtered:
        return Failure(ErrorKind.CONTENT_POLICY, "The image model's content filters refused the prompt or the "
                       "image drawn from it; change the prompt and try again.", "ContentFiltered", request_id)
    return Failure(ErrorKind.UPSTREAM_ERROR, "The image model failed to draw the image; try again.",
                   "InferenceError", request_id)


def _served_headers(ctx: RequestContext, call: UpstreamCall) -> list[tuple[str, str]]:
    """Which model answered (and why it is not the one asked for), on which Bedrock service tier (a stream's
    is the tier asked for: Bedrock's word comes in its last event), and the caller's budget state."""
    served = [(SERVED_MODEL_HEADER, call.model_name)]
    if call.operation != "openai-chat" and call.tiered:
        served.append((SERVED_TIER_HEADER, ctx.service_tier))
    if ctx.bedrock_request_id and call.api is not ApiFormat.BEDROCK:
        served.append((BEDROCK_REQUEST_ID_HEADER, ctx.bedrock_request_id))
    if ctx.upstream is not None and call.model_name != ctx.upstream.model_name:
        served.append((FALLBACK_FROM_HEADER, ctx.upstream.model_name))
    if ctx.substituted_from:
        served.append((SUBSTITUTED_FROM_HEADER, ctx.substituted_from))
    if ctx.omitted_tools:
        served.append((OMITTED_TOOLS_HEADER, ", ".join(ctx.omitted_tools)))
    served.extend(ctx.budget_headers.items())
    return served


def _error(start_response: StartResponse, error: Any) -> list[bytes]:
    status = f"{error.status} {_REASONS.get(error.status, 'Error')}"
    return _json(start_response, status, json.dumps(error.body).encode(), list(error.headers.items()))


def _json(start_response: StartResponse, status: str, body: bytes,
          headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
                   + (headers or []))
    return [body]


_PASSED_HEADERS = ("content-type", "x-amzn-bedrock-content-type", "x-amzn-requestid",
                   "x-amzn-bedrock-input-token-count", "x-amzn-bedrock-output-token-count",
                   "x-amzn-bedrock-invocation-latency", "x-amzn-bedrock-cache-read-input-token-count",
                   "x-amzn-bedrock-cache-write-input-token-count", "x-amzn-bedrock-performanceconfig-latency",
                   "x-amzn-bedrock-service-tier")


def usage_headers(ctx: RequestContext) -> list[tuple[str, str]]:
    """Non-streamed answers carry their usage and cost (streams carry usage in their final event).

    Set here because external plugins have no header_filter phase.
    """
    if ctx.usage is None:
        return []
    u = ctx.usage
    headers = [("X-Token-Usage-Input", str(u.input)), ("X-Token-Usage-Output", str(u.output)),
               ("X-Token-Usage-Cache-Read", str(u.cache_read)), ("X-Token-Usage-Cache-Write", str(u.cache_write)),
               ("X-Token-Usage-Total", str(u.total))]
    if ctx.price is not None:
        headers.append(("X-Token-Cost-USD", f"{ctx.price.charged_usd(u):.6f}"))
    return headers


def _noting_status(ctx: RequestContext, start_response: StartResponse) -> StartResponse:
    """`start_response` that also notes the status on the context (token-meter's log reports it) and names the
    request for the client's SDK."""
    def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
        ctx.answered_status = int(status.split(" ", 1)[0])
        return start_response(status, headers + request_id_headers(ctx.api, ctx.request_id), *exc_info)
    return start


def _then_done(body: Iterable[bytes], ctx: RequestContext) -> Iterator[bytes]:
    """Yield the response, then tell the context the relay is finished (even on disconnect)."""
    try:
        yield from body
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
        if not ctx.relay_detached:   # a background call settles when it is done (_run_in_background)
            _relayed(ctx)


def _relayed(ctx: RequestContext) -> None:
    """The relay is done with the request: its own time noted, then what waited for it (settle, log)."""
    if ctx.relay_clock is not None:
        ctx.relay_overhead_ms = ctx.relay_clock.overhead_ms()
    try:
        ctx.relay_done()
    except Exception as exc:  # noqa: BLE001 - accounting must never break the relay
        log_event("relay_accounting_error", level="error", error=type(exc).__name__)


def _with_betas(call: UpstreamCall, header: str) -> UpstreamCall:
    """The call with the client's anthropic-beta header merged into its body (allowlisted).

    Mantle speaks the first-party API: the header is forwarded as a header, unchanged.
    """
    if header and call.is_mantle:
        return replace(call, headers=call.headers + (("anthropic-beta", header),))
    if not header or call.beta_allowlist is None:
        return call
    if call.operation == "count-tokens":   # the InvokeModel body CountTokens counts
        return replace(call, body=with_count_header_betas(call.body, header, call.beta_allowlist))
    body = with_header_betas(call.body, header, call.beta_allowlist, converse=call.upstream_is_converse)
    return replace(call, body=body)


def _environ_keys(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((name, "HTTP_" + name.upper().replace("-", "_")) for name in names)


_CLIENT_HEADER_GROUPS = (_environ_keys(GUARDRAIL_HEADERS), _environ_keys((request_metadata.INVOKE_HEADER,)),
                         _environ_keys((LATENCY_HEADER,)))


def _with_client_headers(call: UpstreamCall, environ: dict[str, Any]) -> UpstreamCall:
    """A Bedrock-native InvokeModel keeps the guardrail, request metadata and latency setting its client sent in
    headers (as Converse keeps its body's), unless bedrock-proxy replaced them (the role's guardrail, the gateway's
    pairs)."""
    if call.api is not ApiFormat.BEDROCK or not call.operation.startswith("invoke"):
        return call
    planned = {name for name, _ in call.headers}
    kept = tuple((name, environ[key]) for group in _CLIENT_HEADER_GROUPS
                 if not planned.intersection(name for name, _ in group) for name, key in group if environ.get(key))
    return replace(call, headers=call.headers + kept) if kept else call


def _passthrough_headers(upstream_headers: Any) -> list[tuple[str, str]]:
    """Bedrock's own response headers for Bedrock-native clients (SDKs read some of them)."""
    return [(name, value) for name, value in upstream_headers.items() if name.lower() in _PASSED_HEADERS]


def _drain(environ: dict[str, Any]) -> None:
    """Read the forwarded body so the keep-alive connection stays usable."""
    stream = environ.get("wsgi.input")
    if stream is not None:
        while stream.read(65536):
            pass
