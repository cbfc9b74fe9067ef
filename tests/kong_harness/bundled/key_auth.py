"""key-auth (kong/plugins/key-auth/handler.lua, PRIORITY 1250).

Why: the product authenticates every client with key-auth; statuses, bodies,
``WWW-Authenticate`` and the upstream X-Consumer-* headers must be Kong's.
Note 3.6.1 answers an unknown key with 401 "Unauthorized" (ERR_INVALID_AUTH_CRED).
"""
from __future__ import annotations

from typing import Any

from .. import constants as C
from ..pdk_base import Ret, first
from ..pdk_client import authenticate, get_credential, load_consumer
from ..pdk_request import get_body, get_headers, get_method, get_query
from ..pdk_response import error as response_error
from ..pdk_response import set_header as response_set_header
from ..pdk_service import clear_header, set_body, set_header, set_query
from ..request_ctx import RequestContext

PRIORITY = 1250
PHASES = {"access"}

ERR_DUPLICATE_API_KEY = (401, "Duplicate API key found")
ERR_NO_API_KEY = (401, "No API key found in request")
ERR_INVALID_AUTH_CRED = (401, "Unauthorized")
ERR_INVALID_PLUGIN_CONF = (500, "Invalid plugin configuration")
ERR_UNEXPECTED = (500, "An unexpected error occurred")
_REALM = 'Key realm="kong"'
_EMPTY: dict = {}


def _header_lookup(headers: dict, name: str) -> Any:
    """ngx.req.get_headers() tables normalise lookups (lower-case, ``_`` -> ``-``)."""
    return headers.get(name.lower().replace("_", "-"), headers.get(name))


def _set_consumer(rq: RequestContext, consumer: dict | None, credential: dict | None) -> None:
    authenticate(rq, consumer, credential)
    for header, value in ((C.H_CONSUMER_ID, (consumer or {}).get("id")),
                          (C.H_CONSUMER_CUSTOM_ID, (consumer or {}).get("custom_id")),
                          (C.H_CONSUMER_USERNAME, (consumer or {}).get("username")),
                          (C.H_CREDENTIAL_IDENTIFIER, (credential or {}).get("id"))):
        if value:
            set_header(rq, header, value)
        else:
            clear_header(rq, header)
    if credential:
        clear_header(rq, C.H_ANONYMOUS)
    else:
        set_header(rq, C.H_ANONYMOUS, True)


def _get_body(rq: RequestContext) -> Any:
    res = get_body(rq)
    body, err = (res.first, res.err) if isinstance(res, Ret) else (res, None)
    if err:
        rq.runtime.log_for(rq, "info", "Cannot process request body: %s" % err, src="handler.lua:120",
                           plugin="key-auth")
        return _EMPTY
    return body


def _load_credential(rq: RequestContext, key: str) -> dict | None:
    """kong.db.keyauth_credentials:select_by_key(key) (row without ws_id)."""
    for cred in rq.runtime.dc.of("keyauth_credentials"):
        if cred.get("key") == key:
            if cred.get("ttl") == 0:
                return None
            return {k: v for k, v in cred.items() if k != "ws_id"}
    return None


def _do_authentication(rq: RequestContext, conf: dict) -> tuple[bool, tuple[int, str] | None]:
    key_names = conf.get("key_names")
    if not isinstance(key_names, list):
        rq.runtime.log_for(rq, "error", "no conf.key_names set, aborting plugin execution", plugin="key-auth")
        return False, ERR_INVALID_PLUGIN_CONF
    headers = get_headers(rq)
    query = get_query(rq)
    key = None
    body: Any = None
    for name in key_names:
        v = None
        if conf.get("key_in_header"):
            v = _header_lookup(headers, name)
        if v is None and conf.get("key_in_query"):
            v = query.get(name)
        if v is None and conf.get("key_in_body"):
            if body is None:
                body = _get_body(rq)
            v = body.get(name) if isinstance(body, dict) else None
        if isinstance(v, (str, bytes)):
            key = v
            if conf.get("hide_credentials"):
                query.pop(name, None)
                set_query(rq, query)
                clear_header(rq, name)
                if conf.get("key_in_body"):
                    if body is None:
                        body = _get_body(rq)
                    if body is not _EMPTY:
                        if isinstance(body, dict):
                            body.pop(name, None)
                        set_body(rq, body)
            break
        if isinstance(v, list):
            return False, ERR_DUPLICATE_API_KEY
    if not key:
        response_set_header(rq, "WWW-Authenticate", _REALM)
        return False, ERR_NO_API_KEY
    credential = _load_credential(rq, key if isinstance(key, str) else key.decode())
    if credential is None:
        return False, ERR_INVALID_AUTH_CRED
    consumer = first(load_consumer(rq, credential["consumer"]["id"]))
    _set_consumer(rq, consumer, credential)
    return True, None


def access(rq: RequestContext, conf: dict) -> None:
    if not conf.get("run_on_preflight") and get_method(rq) == "OPTIONS":
        return
    if conf.get("anonymous") and get_credential(rq):
        return
    ok, err = _do_authentication(rq, conf)
    if not ok:
        if conf.get("anonymous"):
            consumer = first(load_consumer(rq, conf["anonymous"], True))
            _set_consumer(rq, consumer, None)
        else:
            response_error(rq, err[0], err[1])
