"""Plugin events on bare greenlets: the replies Kong sees, in the order kong-pdk gives them.

Driven the way kong_plugins.rpc_listener drives the server: HandleEvent and
Step calls from connection greenlets, Kong's answers as Step data.
"""

from __future__ import annotations

import types

import gevent
import greenlet
import pytest
from kong_pdk.exception import PluginServerException
from kong_pdk.module import Module

from kong_plugins.pdk_events import GreenletPluginServer, phase_handlers

ran: list[str] = []
stubborn: list = []


class Plugin:
    def __init__(self, config: dict) -> None:
        self.config = config

    def access(self, kong) -> None:
        ran.append("access:" + str(kong.request.get_header("x-a")))
        ran.append("access:" + str(kong.request.get_path()))

    def log(self, kong) -> None:
        gevent.sleep(0.05)   # gevent I/O before the first PDK call (a Redis call, say)
        ran.append("log:" + str(kong.nginx.get_var("request_id")))

    def header_filter(self, kong) -> None:
        kong.response.exit(403, b"no")
        ran.append("after exit")     # Kong never answers exit: this must not run

    def body_filter(self, kong) -> None:
        raise RuntimeError("handler bug")

    def rewrite(self, kong) -> None:
        """A plugin that swallows the end of its handler after exit and calls Kong again."""
        stubborn.append(greenlet.getcurrent())
        try:
            kong.response.exit(403, b"no")
        except BaseException:
            ran.append("late:" + str(kong.request.get_header("x-late")))


@pytest.fixture
def server():
    ran.clear()
    ps = GreenletPluginServer(use_gevent=True, lua_style=False)
    ps.plugins["p"] = Module("p", module=types.SimpleNamespace(Plugin=Plugin, Schema=(), version="1", priority=1))
    ps.iid = ps.start_instance({"Name": "p", "Config": b"{}"})["Id"]
    yield ps
    assert phase_handlers.running == 0 and ps.events == {}


def test_each_pdk_call_is_the_reply_to_kongs_last_rpc_and_ret_ends_the_event(server):
    first = server.handle_event({"InstanceId": server.iid, "EventName": "access"})
    assert first["Data"] == {"Method": "kong.request.get_header", "Args": ("x-a",)}
    second = server.step({"EventId": first["EventId"], "Data": "one"})
    assert second == {"Data": {"Method": "kong.request.get_path", "Args": ()}, "EventId": first["EventId"]}
    assert phase_handlers.running == 1 and list(server.events) == [first["EventId"]]
    last = server.step({"EventId": first["EventId"], "Data": "/v1/messages"})
    assert last["Data"] == "ret"
    assert ran == ["access:one", "access:/v1/messages"]


def test_steps_may_arrive_on_other_connections_and_events_interleave(server):
    """Kong takes any pooled connection per call; a handler waiting on I/O holds up no other event."""
    replies: dict[str, list] = {"log": [], "access": []}

    def kong_side(phase: str, answers: list) -> None:
        reply = server.handle_event({"InstanceId": server.iid, "EventName": phase})
        replies[phase].append(reply["Data"])
        for answer in answers:   # each Step from a fresh greenlet: another connection
            reply = gevent.spawn(server.step, {"EventId": reply["EventId"], "Data": answer}).get()
            replies[phase].append(reply["Data"])

    slow = gevent.spawn(kong_side, "log", ["req-1"])
    fast = gevent.spawn(kong_side, "access", ["h", "/p"])
    fast.join(1)
    assert fast.dead and not slow.dead   # access finished while log still waits on its I/O
    slow.join(1)
    assert replies["log"] == [{"Method": "kong.nginx.get_var", "Args": ("request_id",)}, "ret"]
    assert replies["access"][-1] == "ret"
    assert ran == ["access:h", "access:/p", "log:req-1"]


def test_exit_ends_the_event_and_its_handler(server):
    reply = server.handle_event({"InstanceId": server.iid, "EventName": "header_filter"})
    assert reply["Data"] == {"Method": "kong.response.exit", "Args": (403, b"no")}
    assert ran == []   # fixture: no pending event, no handler left


def test_a_handler_exception_is_an_rpc_error_not_a_hang(server):
    with pytest.raises(RuntimeError, match="handler bug"):
        server.handle_event({"InstanceId": server.iid, "EventName": "body_filter"})


def test_unknown_instances_and_events_get_kongs_expected_errors(server):
    with pytest.raises(PluginServerException, match="^no plugin instance #999"):
        server.handle_event({"InstanceId": 999, "EventName": "access"})
    with pytest.raises(PluginServerException, match="event id 12345 not found"):
        server.step({"EventId": 12345, "Data": None})


def test_handler_greenlets_are_reused_across_ends_by_ret_exit_and_exception(server):
    """Each way an event ends leaves the next one working, and handlers do not pile up."""
    import gc

    def one_round() -> None:
        first = server.handle_event({"InstanceId": server.iid, "EventName": "access"})
        server.step({"EventId": first["EventId"], "Data": "a"})
        assert server.step({"EventId": first["EventId"], "Data": "/p"})["Data"] == "ret"
        assert server.handle_event({"InstanceId": server.iid, "EventName": "header_filter"})["Data"]["Method"] \
            == "kong.response.exit"
        with pytest.raises(RuntimeError, match="handler bug"):
            server.handle_event({"InstanceId": server.iid, "EventName": "body_filter"})

    def live_handlers() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is greenlet.greenlet and not o.dead)

    one_round()
    before = live_handlers()
    for _ in range(50):
        one_round()
    assert live_handlers() == before
    assert ran.count("access:a") == 51 and "after exit" not in ran


def test_a_handler_that_goes_on_after_exit_never_serves_another_event(server):
    """Reusing it would hand the next event's job to its pending PDK call as Kong's answer."""
    from gevent import GreenletExit

    stubborn.clear()
    assert server.handle_event({"InstanceId": server.iid, "EventName": "rewrite"})["Data"]["Method"] \
        == "kong.response.exit"
    first = server.handle_event({"InstanceId": server.iid, "EventName": "access"})
    assert first["Data"] == {"Method": "kong.request.get_header", "Args": ("x-a",)}
    server.step({"EventId": first["EventId"], "Data": "b"})
    assert server.step({"EventId": first["EventId"], "Data": "/q"})["Data"] == "ret"
    assert ran == ["access:b", "access:/q"]
    (handler,) = stubborn   # still waiting on the call Kong will never answer: end it for the fixture
    handler.parent = greenlet.getcurrent()
    handler.throw(GreenletExit)
    assert ran == ["access:b", "access:/q"]


class _Answer:
    """Stands for a large PDK answer (the post-function's snapshot, with the request body)."""


def test_kongs_last_answer_is_freed_when_the_event_ends_not_when_the_garbage_collector_runs(server):
    """kong-pdk's Kong object is a reference cycle: the channel inside it kept the event's last answer until the
    collector ran, and a burst of 9 MB prompts held hundreds of MiB (bench.memory's large-prompt burst)."""
    import gc
    import weakref
    answer = _Answer()
    kept = weakref.ref(answer)
    gc.disable()
    try:
        first = server.handle_event({"InstanceId": server.iid, "EventName": "access"})
        server.step({"EventId": first["EventId"], "Data": "one"})
        assert server.step({"EventId": first["EventId"], "Data": answer})["Data"] == "ret"
        del answer
        assert kept() is None
    finally:
        gc.enable()
