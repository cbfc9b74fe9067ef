"""post-function (kong/plugins/post-function/handler.lua, PRIORITY -1000).

Why: Kong 3.6.1's post-function is pre-function's code at another priority
(`return require("kong.plugins.pre-function._handler")(-1000)`, schema
`require("kong.plugins.pre-function._schema")("post-function")`), so it runs
after key-auth: a snippet there can read the authenticated consumer. This
gateway's kong.yaml uses it to hand its Python plugins, which run after it,
the request's id, path, body and consumer in one table. Emulated as
pre-function is (the access, header_filter and body_filter phases, Lua in
LuaJIT through lupa). Its header_filter/body_filter there turn Kong's own
refusals into the caller's error format.
"""
from __future__ import annotations

from typing import Any

from . import pre_function

NAME = "post-function"
PRIORITY = -1000
PHASES = pre_function.PHASES
SCHEMA = pre_function.schema(NAME, PRIORITY)


def validate(conf: dict) -> None:
    pre_function.validate(conf, NAME)


def access(rq: Any, conf: dict) -> None:
    pre_function.access(rq, conf, NAME)


def header_filter(rq: Any, conf: dict) -> None:
    pre_function.header_filter(rq, conf, NAME)


def body_filter(rq: Any, conf: dict) -> None:
    pre_function.body_filter(rq, conf, NAME)
