"""HTTP/1.1 request handler: routing, auth, faults, timing and response writing.

Order per model request mirrors Bedrock: authenticate, validate, then (injected) service
faults and latency, then the answer. Only metadata is ever logged, never bodies or auth.
"""

from __future__ import annotations

import json
import re
import sys
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable

from . import apply_guardrail, mantle
from .control import PREFIX, handle_control
from .errors import BedrockError, unknown_operation
from .faults import HTTP_FAULTS, FaultRule
from .mantle_errors import from_fault as mantle_fault_error
from .mantle_errors import MantleError, internal_error
from .models import decode_model_segment
from .operations import execute, extra_latency_ms, prepare
from .responses import Clock, JsonResponse, OperationResult
from .settings import TimingValues
from .sigv4 import verify_request
from .state import EmulatorState
from .streaming import StreamWriter, hard_close

MODEL_PATH = re.compile(
    r"^/model/(?P<model>[^/]+)/(?P<op>invoke|invoke-with-response-stream|converse|converse-stream|count-tokens)$")
MAX_BODY_BYTES = 32 * 1024 * 1024


class RequestTooLarge(Exception):
    pass


class EmulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BedrockEmulator/1.0"
    timeout = 300  # idle keep-alive connections are closed after this many seconds
    _carried_model_request = False  # (one handler per connection) counted in state.connections once

    # -- plumbing -----------------------------------------------------------------------
    @property
    def state(self) -> EmulatorState:
        return self.server.state  # type: ignore[attr-defined]

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence http.server's default access log (it would print to stderr)."""

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                if len(data) + size > MAX_BODY_BYTES:
                    raise RequestTooLarge()
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise RequestTooLarge()
        return self.rfile.read(length) if length > 0 else b""

    def _mark_status(self, status: int | str) -> None:
        """Record the outcome before the client can see it, so log/stats never lag a response."""
        self._status = status
        hook, self._status_hook = self._status_hook, None
        if hook is not None:
            hook(status)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self._mark_status(status)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_error(self, error: BedrockError) -> None:
        body = json.dumps(error.body()).encode("utf-8")
        self._send(error.status, body, {"Content-Type": "application/json", "x-amzn-RequestId": self._request_id,
                                        **error.response_headers()})

    # -- ChunkSink for StreamWriter ------------------------------------------------------
    def start_stream(self, headers: dict[str, str]) -> None:
        self._mark_status(200)
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("x-amzn-RequestId", self._request_id)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def abort_connection(self) -> None:
        self.close_connection = True
        hard_close(self.connection)

    # -- dispatch -----------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _dispatch(self) -> None:
        started = time.monotonic()
        self._request_id = str(uuid.uuid4())
        self._status: int | str = 0
        self._status_hook: Callable[[int | str], None] | None = None
        path = self.path.partition("?")[0]
        try:
            try:
                body = self._read_body()
            except (RequestTooLarge, ValueError):
                self.close_connection = True
                message = "Request body is too large or malformed."
                self._send_error(MantleError(413, "request_too_large", message) if mantle.is_mantle_path(path)
                                 else BedrockError(413, "ValidationException", message))
                return
            if path.startswith(PREFIX):
                status, payload = handle_control(self.state, self.command, path, body)
                self._send(status, json.dumps(payload).encode("utf-8"),
                           {"Content-Type": "application/json", "x-amzn-RequestId": self._request_id})
            else:
                self._model_request(path, body)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        finally:
            if self.state.settings.log_requests:
                duration_ms = (time.monotonic() - started) * 1000
                print(f"{self.command} {self.path} {self._status} {duration_ms:.0f}ms", file=sys.stdout, flush=True)

    def _model_request(self, path: str, body: bytes) -> None:
        clock = Clock()
        is_mantle = mantle.is_mantle_path(path)
        if is_mantle:
            operation, model_id = mantle.route(path, body)
        else:
            match = MODEL_PATH.match(path)
            operation = match.group("op") if match else None
            model_id = decode_model_segment(match.group("model")) if match else None
            applied = apply_guardrail.route(path) if match is None else None
            if applied is not None:   # ApplyGuardrail: the guardrail stands where a model would
                operation, model_id = apply_guardrail.OPERATION, applied[0]
        entry = self.state.requests.record(operation, model_id, self.path, self.headers.items(), body)
        if not self._carried_model_request:
            self._carried_model_request = True
            self.state.connections.note()

        def on_status(status: int | str) -> None:
            entry["status"] = status
            self.state.stats.count(operation, status)

        self._status_hook = on_status
        try:
            if is_mantle:
                self._answer_mantle(operation, path, body, clock)
            else:
                self._answer(operation, model_id, body, clock)
        except BedrockError as error:
            self._send_error(error)
        except (ConnectionError, TimeoutError):
            raise
        except Exception:  # a bug in the emulator: answer like Bedrock's 500, keep the traceback
            traceback.print_exc(file=sys.stderr)
            if self._status_hook is None:  # a stream already started: the only honest move is to drop it
                self.abort_connection()
            elif is_mantle:
                self._send_error(internal_error())
            else:
                self._send_error(BedrockError(500, "InternalServerException", HTTP_FAULTS["internal"][2]))
        finally:
            if self._status_hook is not None:  # connection dropped before any status was sent
                self._mark_status(self._status or "aborted")

    def _answer(self, operation: str | None, model_id: str | None, body: bytes, clock: Clock) -> None:
        """bedrock-runtime: InvokeModel, Converse (and their streams), CountTokens, ApplyGuardrail."""
        state = self.state
        verify_request(state.settings, self.command, self.path, self.headers, body)
        if operation is None or model_id is None or self.command != "POST":
            raise unknown_operation()
        if operation == apply_guardrail.OPERATION:
            return self._apply_guardrail(body, clock)
        prepared = prepare(operation, model_id, body, self.headers)
        fault = state.faults.take(operation, model_id)
        self._deliver(fault, clock, lambda timing: execute(prepared, state, timing), FaultRule.http_error,
                      lambda timing: extra_latency_ms(prepared, timing))

    def _apply_guardrail(self, body: bytes, clock: Clock) -> None:
        """ApplyGuardrail (apply_guardrail.py): faults match its guardrail identifier as they match a model id."""
        found = apply_guardrail.route(self.path.partition("?")[0])
        assert found is not None
        request = apply_guardrail.prepare(*found, body)
        fault = self.state.faults.take(apply_guardrail.OPERATION, found[0])
        self._deliver(fault, clock, lambda timing: apply_guardrail.execute(request), FaultRule.http_error)

    def _answer_mantle(self, operation: str | None, path: str, body: bytes, clock: Clock) -> None:
        """Bedrock Mantle: the Anthropic Messages API under /anthropic/ (see mantle.py)."""
        state = self.state
        mantle.authenticate(state.settings, self.command, self.path, self.headers, body)
        request = mantle.prepare(operation, self.command, path, body, self.headers)
        fault = state.faults.take(request.operation, request.model, streaming=request.stream)
        self._deliver(fault, clock, lambda timing: mantle.execute(request, state, timing), mantle_fault_error)

    def _deliver(self, fault: FaultRule | None, clock: Clock, run: Callable[[TimingValues], OperationResult],
                 http_error: Callable[[FaultRule], BedrockError],
                 extra_latency: Callable[[TimingValues], float] | None = None) -> None:
        """Apply injected faults and latency (plus ``extra_latency``, e.g. Flex's), then answer."""
        settings, state = self.state.settings, self.state
        timing = state.timing.snapshot()
        if fault is not None and fault.type == "slow":
            time.sleep(fault.delay_s)
        latency_ms = timing.latency_ms + (extra_latency(timing) if extra_latency is not None else 0)
        if latency_ms > 0:
            time.sleep(latency_ms / 1000)
        if fault is not None and fault.type == "reset":
            self._mark_status("reset")
            self.abort_connection()
            return
        if fault is not None and fault.type in HTTP_FAULTS:
            raise http_error(fault)
        result = run(timing)
        if isinstance(result, JsonResponse):
            payload, headers = result.render(clock)
            self._send(200, payload, {"Content-Type": "application/json", "x-amzn-RequestId": self._request_id,
                                      **headers})
            return
        writer = StreamWriter(self, timing, state.hold, settings.hold_timeout_s, clock, fault)
        state.streams.add(1)
        try:
            writer.run(result)
        finally:
            state.streams.add(-1)
