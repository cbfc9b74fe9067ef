"""Which bundled plugins the harness runs, with their PRIORITY and phases.

Why: the plugins iterator needs every loaded plugin's handler (priority,
phases).  Bundled plugins not listed here are accepted (config validated when
schema data exists) but do nothing; startup logs that they are not emulated.
"""
from __future__ import annotations

from types import ModuleType

from . import (acl, correlation_id, file_log, key_auth, post_function, pre_function, prometheus, rate_limiting,
               request_size_limiting)

EMULATED: dict[str, ModuleType] = {
    "key-auth": key_auth,
    "acl": acl,
    "rate-limiting": rate_limiting,
    "request-size-limiting": request_size_limiting,
    "correlation-id": correlation_id,
    "file-log": file_log,
    "prometheus": prometheus,
    "pre-function": pre_function,
    "post-function": post_function,
}

SCHEMAS: dict[str, dict] = {"pre-function": pre_function.SCHEMA, "post-function": post_function.SCHEMA}
"""Schemas of emulated plugins missing from schemas-3.6.1.json (transcribed from Kong's source)."""


def runner(module: ModuleType):
    """Adapter: ``handler[phase](handler, conf)`` for a Python module."""

    def run(handler, phase: str, rq, cfg: dict) -> None:
        fn = getattr(module, phase, None)
        if fn is not None:
            fn(rq, cfg)

    return run
