"""correlation-id (kong/plugins/correlation-id/handler.lua, PRIORITY 1).

Why: request correlation headers upstream and (echo_downstream) to clients.
"""
from __future__ import annotations

import os
import time
import uuid

from ..pdk_log import set_serialize_value
from ..pdk_request import get_header
from ..pdk_response import set_header as response_set_header
from ..pdk_service import set_header
from ..request_ctx import RequestContext

PRIORITY = 1
PHASES = {"access", "header_filter"}
_WORKER_STATE: dict[int, list] = {}


def _generate(rq: RequestContext, generator: str) -> str:
    if generator == "uuid":
        return str(uuid.uuid4())
    if generator == "uuid#counter":
        state = _WORKER_STATE.setdefault(rq.worker.id, [str(uuid.uuid4()), 0])  # init_worker
        state[1] += 1
        return "%s#%d" % (state[0], state[1])
    return "%s-%s-%d-%s-%s-%0.3f" % (rq.server_addr, rq.server_port, os.getpid(), rq.connection,
                                     rq.connection_requests, time.time())


def access(rq: RequestContext, conf: dict) -> None:
    correlation_id = get_header(rq, conf["header_name"])
    if not correlation_id:
        correlation_id = _generate(rq, conf["generator"])
        set_header(rq, conf["header_name"], correlation_id)
    set_serialize_value(rq, "correlation_id", correlation_id)
    if conf.get("echo_downstream"):
        rq.plugin_ctx.setdefault("correlation-id", {})["correlation_id"] = correlation_id


def header_filter(rq: RequestContext, conf: dict) -> None:
    if not conf.get("echo_downstream"):
        return
    correlation_id = rq.plugin_ctx.get("correlation-id", {}).get("correlation_id") or get_header(rq, conf["header_name"])
    if not correlation_id:
        correlation_id = _generate(rq, conf["generator"])
    response_set_header(rq, conf["header_name"], correlation_id)
