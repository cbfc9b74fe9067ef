"""file-log (kong/plugins/file-log/handler.lua, PRIORITY 9).

Why: appends ``cjson.encode(kong.log.serialize())`` lines to ``config.path``,
which tests read back. Like Kong, the file is opened once per worker and the fd
kept (``file_descriptors``), unless ``reopen`` is set.  ``custom_fields_by_lua`` (sandboxed Lua) is not emulated.
"""
from __future__ import annotations

import os
import threading

from .. import cjson
from ..pdk_log import build_serialize
from ..request_ctx import RequestContext

PRIORITY = 9
PHASES = {"log"}
_LOCK = threading.Lock()


def log(rq: RequestContext, conf: dict) -> None:
    if conf.get("custom_fields_by_lua"):
        rq.runtime.log_for(rq, "warn", "custom_fields_by_lua is not emulated by the harness", plugin="file-log")
    message = cjson.encode(build_serialize(rq)) + "\n"     # cjson drops nil (None) values itself
    fds = rq.worker.file_log_fds    # the handler's module-level `file_descriptors`, one per worker
    with _LOCK:
        fd = fds.get(conf["path"])
        if fd is not None and conf.get("reopen"):
            os.close(fd)            # closed here so a cached fd goes too when the config changes
            del fds[conf["path"]]
            fd = None
        if fd is None:
            try:
                fd = os.open(conf["path"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            except OSError as e:
                rq.runtime.log_for(rq, "error", "failed to open the file: %s" % e.strerror, plugin="file-log")
                return
            fds[conf["path"]] = fd
        os.write(fd, message.encode("utf-8", "surrogateescape"))
