"""request-size-limiting (kong/plugins/request-size-limiting/handler.lua, PRIORITY 951).

Why: oversized prompts must be refused with Kong's 413/417/411 bodies.
"""
from __future__ import annotations

from ..pdk_base import Ret
from ..pdk_request import get_headers, get_raw_body
from ..pdk_response import error as response_error
from ..request_ctx import RequestContext

PRIORITY = 951
PHASES = {"access"}
UNIT_FACTOR = {"bytes": 1, "kilobytes": 1024, "megabytes": 1048576}


def _check_size(rq: RequestContext, length: int, allowed: float, headers: dict, unit: str) -> None:
    if length > allowed * UNIT_FACTOR[unit]:
        expect = headers.get("expect")
        if isinstance(expect, str) and expect.lower().strip() == "100-continue":
            return response_error(rq, 417, "Request size limit exceeded")
        return response_error(rq, 413, "Request size limit exceeded")


def access(rq: RequestContext, conf: dict) -> None:
    headers = get_headers(rq)
    cl = headers.get("content-length")
    try:
        length = int(cl) if isinstance(cl, str) else None
    except ValueError:
        length = None
    if length is not None:
        return _check_size(rq, length, conf["allowed_payload_size"], headers, conf["size_unit"])
    if conf.get("require_content_length") and headers.get("transfer-encoding") != "chunked":
        return response_error(rq, 411, "A valid Content-Length header is required")
    data = get_raw_body(rq)
    if not isinstance(data, Ret) and data is not None:
        _check_size(rq, len(data), conf["allowed_payload_size"], headers, conf["size_unit"])
