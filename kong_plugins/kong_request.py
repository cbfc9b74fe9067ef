"""The PDK calls the three plugins share: few round trips, no failure modes.

Every PDK call is one msgpack-RPC round trip to Kong. A request's context is
keyed by `$kong_request_id`. ecommerce-guardrails, the first of our plugins,
gets id, path, body and consumer in one call from the table kong.yaml's
post-function leaves in kong.ctx.shared; the others spend one
`kong.nginx.get_var` each and reuse the rest from the in-process context.

Kong 3.6.1 quirks handled here (see shared/kong/plugin-server-protocol.md):
- mp_rpc.lua's call_pdk_method keeps only the first return value, so a PDK
  `nil, err` arrives as plain None: every getter result is treated as optional.
- An exception raised before a handler's first PDK call deadlocks kong-pdk's
  whole server, and Kong 3.6.1 then skips the plugin (fails open). `guarded`
  makes every phase method catch everything and return.
- `kong.response.exit` does not return a reply to the handler; any PDK call
  after it would block forever, so `respond` must be the handler's last call.
  Under stock kong-pdk the event greenlet then blocked forever too, putting its
  "ret" on a channel nobody reads (the PDK's known leak around exit/error,
  about 1 KiB per answered request). `kong_plugins.pdk_events` ends the handler
  when it sends exit; `respond` also raises GreenletExit after exit, so a
  stock kong-pdk server leaks nothing either.
"""

from __future__ import annotations

import codecs
import functools
import re
from typing import Any, Callable

from gevent import GreenletExit

from kong_plugins.bedrock.request_metadata import INVOKE_HEADER as METADATA_HEADER
from kong_plugins.context import Consumer, ContextStore, RequestContext, store
from kong_plugins.eventlog import log_event
from kong_plugins.formats.api import FORM_PATHS, api_for_path, request_id_headers
from kong_plugins.formats import multipart_form, wire_json
from kong_plugins.formats.errors import Reply
from kong_plugins.policy.service_tier import HEADER as TIER_HEADER

PhaseMethod = Callable[[Any, Any], None]


def guarded(plugin: str, phase: str) -> Callable[[PhaseMethod], PhaseMethod]:
    """Wrap a phase method so that no exception ever escapes to kong-pdk."""

    def decorate(fn: PhaseMethod) -> PhaseMethod:
        @functools.wraps(fn)
        def wrapper(self: Any, kong: Any) -> None:
            try:
                fn(self, kong)
            except BaseException as exc:  # noqa: BLE001 - see module docstring
                if isinstance(exc, (KeyboardInterrupt, SystemExit, GreenletExit)):
                    raise
                log_event("plugin_error", level="error", plugin=plugin, phase=phase,
                          error=type(exc).__name__)

        return wrapper

    return decorate


SNAPSHOT_KEY = "bedrock_request"
"""The kong.ctx.shared table kong.yaml's post-function fills with the request's id, path, body and consumer."""
REQUEST_ID_KEY = "bedrock_request_id"
"""The same post-function's copy of the id alone, for the log phase (the table above holds the body)."""


def request_context(kong: Any, contexts: ContextStore = store, *, first: bool = False) -> RequestContext:
    """This request's shared context, loading consumer and body on first use.

    `first`: the caller runs before our other plugins (ecommerce-guardrails, by
    priority), so it takes id, path, body and consumer from the post-function's
    table in one round trip (3 fewer than get_var, get_consumer, get_raw_body and
    get_path). Without that table, or for the others: get_var, and whoever finds
    no context loads it.
    """
    snapshot = kong.ctx.shared.get(SNAPSHOT_KEY) if first else None
    request_id = snapshot.get("id") if isinstance(snapshot, dict) else None
    if not (isinstance(request_id, str) and request_id):
        snapshot = None
        request_id = kong.nginx.get_var("kong_request_id") or ""
    ctx = contexts.get(request_id) if request_id else None
    if ctx is None:
        # kong.yaml's post-function snapshot carries the consumer (false for none): one round trip fewer
        entity = snapshot["consumer"] if snapshot and "consumer" in snapshot else kong.client.get_consumer()
        consumer = Consumer.from_pdk(entity)
        body = snapshot.get("body") if snapshot else kong.request.get_raw_body()
        ctx = contexts.create(request_id, consumer=consumer, body=_as_bytes(body))
        if snapshot and "service_tier" in snapshot:   # the header, or false (a Lua table keeps no nil)
            tier, metadata = snapshot["service_tier"], snapshot.get("request_metadata")
            ctx.tier_header, ctx.headers_loaded = tier if isinstance(tier, str) else None, True
            ctx.metadata_header = metadata if isinstance(metadata, str) else None
            ctx.client_session = client_id(snapshot.get("client_session"))
            ctx.client_agent = client_id(snapshot.get("client_agent"))
        path = snapshot.get("path") if snapshot else None
        if isinstance(path, str) and path:
            _set_path(ctx, path)
    return ctx


_CLIENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def client_id(value: Any) -> str | None:
    """A client's session or agent id as it may be logged: a UUID or a similar token. Anything else (too long,
    other characters, a header sent twice) is dropped, never logged: a header is the client's to fill."""
    return value if isinstance(value, str) and _CLIENT_ID.fullmatch(value) else None


def _as_bytes(body: Any) -> bytes | None:
    """A Lua string as the bytes it holds (msgpack str arrives decoded with surrogateescape), without a UTF-8 byte
    order mark: JSON readers may ignore one (RFC 8259), Bedrock does not, and a Bedrock-native body goes on as is."""
    raw = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else body
    return raw[len(codecs.BOM_UTF8):] if raw and raw.startswith(codecs.BOM_UTF8) else raw


def bedrock_headers(kong: Any, ctx: RequestContext) -> None:
    """A native call's Bedrock headers (service tier, request metadata) on the context: kong.yaml's post-function
    passes them in its table; without it, two PDK calls, once per request, by whichever plugin asks first."""
    if not ctx.headers_loaded:
        ctx.tier_header, ctx.headers_loaded = kong.request.get_header(TIER_HEADER), True
        ctx.metadata_header = kong.request.get_header(METADATA_HEADER)


def request_path(kong: Any, ctx: RequestContext) -> str:
    """The request path (one PDK call the first time), and its API format."""
    if ctx.path is None:
        _set_path(ctx, kong.request.get_path() or "/")
    return ctx.path


def _set_path(ctx: RequestContext, path: str) -> None:
    ctx.path, ctx.api = path, api_for_path(path)
    if ctx.body and path.rstrip("/") in FORM_PATHS:   # a form, read once into the JSON every plugin reads
        ctx.body = multipart_form.as_json(ctx.body) or ctx.body


_JSON = {"Content-Type": "application/json; charset=utf-8"}


def respond(kong: Any, reply: Reply, ctx: RequestContext) -> None:
    """End the request with `reply` (an error or a direct answer). Must be the handler's last PDK call.

    The body goes as JSON text: given a table, Kong's cjson writes an empty list as `{}` (Lua has one
    table type), which breaks OpenAI objects (`"tools": []`, a model list with no `data`).

    The context stays in the store for token-meter's log phase, which then knows
    the status without asking Kong; the prompt is dropped now, since nothing will
    send it anywhere.
    """
    ctx.answered_status, ctx.body, ctx.armed = reply.status, None, False
    headers = {**_JSON, **dict(request_id_headers(ctx.api, ctx.request_id)), **reply.headers}
    kong.response.exit(reply.status, wire_json.dumps(reply.body).decode(), headers)
    raise GreenletExit   # see the module docstring: the handler ends here, whichever server runs it
