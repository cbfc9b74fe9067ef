"""file-log (kong/plugins/file-log/handler.lua, PRIORITY 9).

Why: appends ``cjson.encode(kong.log.serialize())`` lines to ``config.path``,
which tests read back. Like Kong, the file is opened once per worker and the fd
kept (``file_descriptors``), unless ``reopen`` is set. ``custom_fields_by_lua``
runs as in Kong 3.6.1's handler: each expression is a sandboxed chunk (env
``{kong = kong, ngx = ngx}``, kong/tools/sandbox.lua) called in the log phase,
and ``kong.log.set_serialize_value(key, <what it returns>)`` before the
serialize: ``return nil`` removes a field (mode "set"); a second value returned
is passed as ``options``, as Kong passes every value on. The sandbox is
pre-function's (``ngx`` is ``ngx.var`` reads and ``ngx.null``).
"""
from __future__ import annotations

import os
import threading

from .. import cjson
from ..pdk_log import build_serialize, set_serialize_value
from ..request_ctx import RequestContext
from .pre_function import LuaSnippets, compiled_once

PRIORITY = 9
PHASES = {"log"}
_LOCK = threading.Lock()


def validate(conf: dict) -> None:
    """typedefs.lua_code's custom_validator (sandbox.validate_safe: each expression compiles)."""
    _custom_fields(conf)


def _custom_fields(conf: dict) -> LuaSnippets | None:
    fields = conf.get("custom_fields_by_lua") or {}
    return compiled_once(conf, list(fields.values()), "file-log") if fields else None


def log(rq: RequestContext, conf: dict) -> None:
    custom = _custom_fields(conf)
    if custom is not None:
        for index, key in enumerate(conf["custom_fields_by_lua"]):
            set_serialize_value(rq, key, *custom.evaluate(rq, index)[:2])
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
