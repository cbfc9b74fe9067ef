"""file-log (kong/plugins/file-log/handler.lua, PRIORITY 9).

Why: appends ``cjson.encode(kong.log.serialize())`` lines to ``config.path``,
which tests read back.  ``custom_fields_by_lua`` (sandboxed Lua) is not emulated.
"""
from __future__ import annotations

import os
import threading

from .. import cjson
from ..pdk_log import build_serialize, strip_none
from ..request_ctx import RequestContext

PRIORITY = 9
PHASES = {"log"}
_LOCK = threading.Lock()


def log(rq: RequestContext, conf: dict) -> None:
    if conf.get("custom_fields_by_lua"):
        rq.runtime.log_for(rq, "warn", "custom_fields_by_lua is not emulated by the harness", plugin="file-log")
    message = cjson.encode(strip_none(build_serialize(rq))) + "\n"
    with _LOCK:
        try:
            fd = os.open(conf["path"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as e:
            rq.runtime.log_for(rq, "error", "failed to open the file: %s" % e.strerror, plugin="file-log")
            return
        try:
            os.write(fd, message.encode("utf-8", "surrogateescape"))
        finally:
            os.close(fd)
