"""Last line of defence for the relay: no traceback, no bare 500, ever.

gevent.pywsgi prints a traceback and answers 500 when an application raises,
including while a streamed body is being iterated. This wrapper turns any
escaped exception into a metadata-only log line and a 502 (before the
response started) or a closed stream (after).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Iterator

from kong_plugins.eventlog import log_event
from kong_plugins.relay.stream_errors import StreamCut

_BODY = json.dumps({"message": "The gateway relay failed to handle this request."}).encode()


def never_raise(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    def guarded_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            body = app(environ, start_response)
        except Exception as exc:  # noqa: BLE001
            log_event("relay_error", level="error", error=type(exc).__name__)
            start_response("502 Bad Gateway", [("Content-Type", "application/json"),
                                               ("Content-Length", str(len(_BODY)))])
            return [_BODY]
        return _safe_iter(body)

    return guarded_app


def _safe_iter(body: Iterable[bytes]) -> Iterator[bytes]:
    try:
        yield from body
    except StreamCut:
        raise   # the client's stream must be cut as Bedrock's was (relay.wsgi closes it without a last chunk)
    except Exception as exc:  # noqa: BLE001
        log_event("relay_error", level="error", error=type(exc).__name__, during="stream")
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
