"""Drive the plugin server's Unix socket directly, as Kong's mp_rpc.lua does, without HTTP.

Separates the plugin server's cost per request from the harness's: it replays
the RPC conversation the harness recorded for one real request (the
StartInstance configs and Kong's answers to each PDK call), with a fresh
`kong_request_id` each time, and times the whole chain: guardrails access,
bedrock-proxy access, token-meter access and log. Between access and log it
calls the relay as Kong's proxying would (the log phase then finds the status
the relay answered, as in a real request), outside the timed part: the time is
the Python chain's PDK work alone. `kong.response.exit` gets no reply,
exactly as in Kong (the Lua side ends the request). Encoding uses msgpack's C
packer; Kong's bytes differ only in encoding choices the plugin server ignores.
"""

from __future__ import annotations

import http.client
import socket
import time
import uuid
from typing import Any

import msgpack

from kong_plugins.relay.call import REQUEST_ID_HEADER

CHAIN = (("ecommerce-guardrails", "access"), ("bedrock-proxy", "access"), ("token-meter", "access"),
         ("token-meter", "log"))


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


Call = tuple[str, str]
"""A PDK call as the plugin server asks it: method and arguments (kong.ctx.shared.get has two keys)."""


def _call(data: dict) -> Call:
    return data["Method"], repr(data.get("Args"))


def conversation(capture: list[dict], request_id: str) -> tuple[dict[str, str], dict[Call, tuple[str, Any]]]:
    """(plugin name -> Config JSON, PDK call -> (step method, Kong's answer)) from a harness capture."""
    configs: dict[str, str] = {}
    for call in capture:
        if call["method"] == "plugin.StartInstance":
            params = _unpack(call["sent"])[3][0]
            configs.setdefault(params["Name"], params["Config"])
    answers: dict[Call, tuple[str, Any]] = {}
    pending = None
    for call in (c for c in capture if c["request_id"] == request_id):
        if pending is not None and call["method"].startswith("plugin.Step"):
            answers[pending] = (call["method"], _unpack(call["sent"])[3][0].get("Data"))
        reply = _unpack(call["received"])
        data = reply[3].get("Data") if isinstance(reply[3], dict) else None
        pending = _call(data) if isinstance(data, dict) and "Method" in data else None
    return configs, answers


def _with_id(data: Any, template_id: str, request_id: str) -> Any:
    """Kong's recorded answer with this request's id (kong_request_id, the snapshot table, the log)."""
    if isinstance(data, str):
        return data.replace(template_id, request_id) if template_id in data else data
    if isinstance(data, dict):
        return {k: _with_id(v, template_id, request_id) for k, v in data.items()}
    return data


class Driver:
    """One keep-alive connection to the plugin server, speaking Kong's side."""

    def __init__(self, socket_path: str, configs: dict[str, str], answers: dict[Call, tuple[str, Any]],
                 template_id: str, relay: tuple[str, int]) -> None:
        self.relay = http.client.HTTPConnection(*relay, timeout=30)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(socket_path)
        self.unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
        self.msg_id = 0
        self.round_trips = 0
        self.answers = answers
        self.template_id = template_id
        self.instances = {name: self.call("plugin.StartInstance", {"Name": name, "Config": config})["Id"]
                          for name, config in configs.items()}

    def call(self, method: str, params: Any) -> Any:
        self.msg_id += 1
        self.round_trips += 1
        self.sock.sendall(msgpack.packb([0, self.msg_id, method, [params]], use_bin_type=True))
        while True:
            for message in self.unpacker:
                if message[0] == 1 and message[1] == self.msg_id:
                    if message[2] is not None:
                        raise RuntimeError(f"{method}: {message[2]}")
                    return message[3]
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("plugin server closed the connection")
            self.unpacker.feed(chunk)

    def answer(self, call: Call, request_id: str) -> tuple[str, Any]:
        step, data = self.answers[call]
        return step, _with_id(data, self.template_id, request_id)

    def request(self) -> float:
        """The whole chain of one request, phase by phase, as Kong would run it: ms in the plugin phases."""
        request_id = uuid.uuid4().hex
        spent = 0.0
        for plugin, phase in CHAIN:
            if phase == "log":
                self.proxy(request_id)
            started = time.perf_counter()
            step_in = self.call("plugin.HandleEvent", {"InstanceId": self.instances[plugin], "EventName": phase})
            while step_in.get("Data") != "ret":
                call = _call(step_in["Data"])
                if call[0] == "kong.response.exit":
                    return spent + (time.perf_counter() - started) * 1000.0   # Kong ends the request: no reply
                step, data = self.answer(call, request_id)
                step_in = self.call(step, {"EventId": step_in["EventId"], "Data": data})
            spent += (time.perf_counter() - started) * 1000.0
        return spent

    def proxy(self, request_id: str) -> None:
        """What Kong's proxying does between access and log: the relay serves the planned call."""
        self.relay.request("POST", "/v1/chat/completions", body=b"{}", headers={REQUEST_ID_HEADER: request_id})
        response = self.relay.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"relay: HTTP {response.status}")

    def close(self) -> None:
        self.relay.close()
        self.sock.close()


def drive(socket_path: str, relay: tuple[str, int], capture: list[dict], request_id: str, n: int,
          warmup: int = 200) -> dict:
    """Per-request time and round trips of the Python chain alone, over n sequential requests."""
    configs, answers = conversation(capture, request_id)
    driver = Driver(socket_path, configs, answers, request_id, relay)
    for _ in range(warmup):
        driver.request()
    before = driver.round_trips
    samples = [driver.request() for _ in range(n)]
    driver.close()
    samples.sort()
    pick = lambda q: round(samples[min(n - 1, int(round(q * (n - 1))))], 3)  # noqa: E731
    return {"requests": n, "p50_ms": pick(0.5), "p95_ms": pick(0.95), "p99_ms": pick(0.99),
            "round_trips_per_request": (driver.round_trips - before) / n}

