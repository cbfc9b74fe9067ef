"""OpenAI background responses (`background: true`): answered at once, run on, polled from the store.

A call made in the background is kept in the gateway's response store as `in_progress` before
its answer goes out; the relay then makes the Bedrock call in a greenlet of its own and keeps
the finished Response (or `failed`, with the error) under the same id, where `GET
/v1/responses/{id}` finds it from any pod sharing the store. token-meter's reservation stands
until the call is done, then is settled to what Bedrock reported, as for any call.

Bedrock cannot stop a call in flight, so `cancel` marks the kept response `cancelled`; the call
runs to its end, is charged what Bedrock reports, and its answer is dropped rather than kept
over the cancellation. Both ends write only while the kept response is still running, checked
and written at once (a WATCHed transaction on Redis), so when a cancel races the call's end,
whichever lands first is what every poll shows, and the cancel's answer says which. A pod that
restarts loses its calls in flight: a response still `in_progress` after LOST_AFTER_SECONDS is
shown as failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from kong_plugins.formats import responses_render
from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats.errors import ErrorKind, render_error
from kong_plugins.relay import item_store
from kong_plugins.relay.item_store import ItemStore

RUNNING = frozenset({"queued", "in_progress"})
LOST_AFTER_SECONDS = 3600
"""Longer than any call the relay makes (Kong's 600 s read timeout, retries and fallbacks included)."""
_LOST = {"code": "server_error", "message": "The gateway lost this background response before it finished (the pod "
                                            "running it restarted); send the request again."}


@dataclass(frozen=True)
class Keeping:
    """The caller's part of the response store, where its background responses are kept and polled."""

    store: ItemStore
    owner: str

    def pending(self, response: dict[str, Any]) -> None:
        """Keep the response as running: raises ItemStoreError, since a response no one can poll must not run."""
        item_store.keep(self.store, self.owner, None, response, strict=True)

    def while_running(self, keep: Callable[..., bool] | None, created: int) -> Callable[[dict], bool]:
        """`keep` for the finished response, with the created_at the client was first given, saved only if the
        kept response is still running, checked and written at once: a cancellation wins, even one that races
        the call's end (False: it did)."""
        def finished(response: dict[str, Any]) -> bool:
            return (keep or self._keep)({**response, "created_at": created}, while_status=RUNNING)
        return finished

    def _keep(self, response: dict[str, Any], while_status: frozenset[str]) -> bool:
        return item_store.keep(self.store, self.owner, None, response, while_status=while_status)


def running(response_id: str, model: str, echo: Any, tier: str) -> dict[str, Any]:
    """The Response the client gets at once, and what a poll finds until the call is done: `tier` is the one
    asked of Bedrock (relay.responses.tier_named_for_openai), as the finished Response names the one that served it."""
    return responses_render.response_object(response_id, model, int(time.time()), [], None, None, echo=echo,
                                            service_tier=tier)


def failed(running_response: dict[str, Any], kind: ErrorKind, message: str) -> dict[str, Any]:
    """The kept response of a call that failed: OpenAI's `failed` status, with the error's code and message."""
    error = render_error(ApiFormat.OPENAI, kind, message).body["error"]
    return {**running_response, "status": "failed", "error": {"code": error.get("code") or error["type"],
                                                               "message": message}}


def as_seen(response: dict[str, Any], now: float) -> dict[str, Any]:
    """A kept response as a poll shows it: one still running long after any call would have ended was lost."""
    if response.get("background") and response.get("status") in RUNNING and \
            now - float(response.get("created_at") or now) > LOST_AFTER_SECONDS:
        return {**response, "status": "failed", "error": dict(_LOST)}
    return response


def cancel(store: ItemStore | None, owner: str, response_id: str) -> dict[str, Any] | str | None:
    """`POST /v1/responses/{id}/cancel`: the response now cancelled (or already), None when the caller has no
    such response, or why it cannot be cancelled. Raises ItemStoreError."""
    response = item_store.retrieve(store, owner, response_id)
    if response is None or store is None:
        return None
    if not response.get("background"):
        return "Only a response created with background: true can be cancelled."
    if response.get("status") not in RUNNING | {"cancelled"}:
        return f"This background response has already ended ({response.get('status')}): it cannot be cancelled."
    if response["status"] != "cancelled":
        cancelled = {**response, "status": "cancelled"}
        if not item_store.keep(store, owner, None, cancelled, strict=True, while_status=RUNNING):
            return cancel(store, owner, response_id)   # it ended (or was cancelled) meanwhile: say which
        response = cancelled
    return response
