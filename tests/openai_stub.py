"""A small OpenAI-compatible chat server for tests (an upstream that is not Bedrock).

    with OpenAIStub(api_key="sk-test", model="gpt-4o-mini") as stub:
        client = openai.OpenAI(base_url=stub.url + "/v1", api_key="sk-test")
        stub.requests   # [{"method", "path", "headers", "body"}, ...] as received

``stub.url`` has no ``/v1`` suffix. Routes (all need ``Authorization: Bearer <api_key>``, else
401 with OpenAI's error JSON):

- ``POST /v1/chat/completions``: deterministic ``chat.completion``. The reply is
  ``"Stub reply to: "`` + the first words of the last user message (at most
  ``max_completion_tokens`` / ``max_tokens`` words, then ``finish_reason: "length"``). Usage:
  ``prompt_tokens = ceil(characters of all message text / 4)`` (at least 1),
  ``completion_tokens`` = words in the reply. The request's ``model`` is echoed. With
  ``stream: true``: SSE ``data: {chat.completion.chunk}`` lines (role chunk, one chunk per word,
  finish chunk, a usage chunk with ``choices: []`` when ``stream_options.include_usage``),
  ending ``data: [DONE]``; one event per HTTP chunk.
- ``GET /v1/models``: the configured model.

Recorded headers are lower-cased; ``authorization`` is reduced to its scheme (e.g. ``Bearer``).
Stdlib only: ThreadingHTTPServer, HTTP/1.1 keep-alive, TCP_NODELAY, a daemon thread.
"""

from __future__ import annotations

import hmac
import json
import math
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPLY_PREFIX = ["Stub", "reply", "to:"]
ECHO_WORDS = 12
CREATED = 1_735_689_600  # fixed timestamp: responses are fully deterministic apart from ids


def _error(message: str, error_type: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def prompt_tokens(messages: list[Any]) -> int:
    chars = sum(len(_text_of(m.get("content"))) for m in messages if isinstance(m, dict))
    return max(1, math.ceil(chars / 4))


def reply_words(messages: list[Any], limit: int | None) -> tuple[list[str], str]:
    """Words of the deterministic reply and its finish_reason."""
    last_user = next((m for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"), {})
    words = REPLY_PREFIX + (_text_of(last_user.get("content")).split()[:ECHO_WORDS] or ["your", "message"])
    if limit is not None and len(words) > limit:
        return words[:limit], "length"
    return words, "stop"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], stub: "OpenAIStub") -> None:
        self.stub = stub
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up are normal here."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "OpenAIStub/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    @property
    def stub(self) -> "OpenAIStub":
        return self.server.stub  # type: ignore[attr-defined]

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = bytearray()
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return bytes(data)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex}")
        self.end_headers()
        self.wfile.write(body)

    def _record(self, raw: bytes) -> Any:
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = raw.decode("utf-8", "replace")
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            lname = name.lower()
            headers[lname] = value.strip().split(" ", 1)[0] if lname == "authorization" else value
        self.stub._record({"method": self.command, "path": self.path, "headers": headers, "body": body})
        return body

    def _authorized(self) -> bool:
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), self.stub.api_key):
            return True
        self._json(401, _error("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"))
        return False

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_GET

    def _dispatch(self) -> None:
        try:
            body = self._record(self._read_body())
            path = self.path.partition("?")[0].rstrip("/")
            if not self._authorized():
                return
            if (self.command, path) == ("GET", "/v1/models"):
                self._json(200, {"object": "list", "data": [
                    {"id": self.stub.model, "object": "model", "created": CREATED, "owned_by": "openai-stub"}]})
            elif (self.command, path) == ("POST", "/v1/chat/completions"):
                self._chat(body)
            else:
                self._json(404, _error(f"Invalid URL ({self.command} {path})", "invalid_request_error"))
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _chat(self, body: Any) -> None:
        if not isinstance(body, dict):
            self._json(400, _error("We could not parse the JSON body of your request.", "invalid_request_error"))
            return
        messages, model = body.get("messages"), body.get("model")
        if not isinstance(model, str) or not model:
            self._json(400, _error("you must provide a model parameter", "invalid_request_error", param="model"))
            return
        if not isinstance(messages, list) or not messages:
            self._json(400, _error("'messages' must be a non-empty array", "invalid_request_error",
                                   param="messages"))
            return
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        words, finish = reply_words(messages, limit if type(limit) is int and limit > 0 else None)
        prompt = prompt_tokens(messages)
        usage = {"prompt_tokens": prompt, "completion_tokens": len(words), "total_tokens": prompt + len(words)}
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if body.get("stream") is True:
            options = body.get("stream_options") or {}
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            self._stream(completion_id, model, words, finish, usage if include_usage else None)
            return
        self._json(200, {
            "id": completion_id, "object": "chat.completion", "created": CREATED, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": " ".join(words), "refusal": None},
                         "finish_reason": finish, "logprobs": None}],
            "usage": usage, "system_fingerprint": None,
        })

    def _stream(self, completion_id: str, model: str, words: list[str], finish: str,
                usage: dict[str, int] | None) -> None:
        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            out = {"id": completion_id, "object": "chat.completion.chunk", "created": CREATED, "model": model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}
            if usage is not None:
                out["usage"] = None
            return out

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": w if i == 0 else " " + w}) for i, w in enumerate(words)]
        events.append(chunk({}, finish))
        if usage is not None:
            events.append({"id": completion_id, "object": "chat.completion.chunk", "created": CREATED,
                           "model": model, "choices": [], "usage": usage})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        lines = [f"data: {json.dumps(e, separators=(',', ':'))}\n\n" for e in events] + ["data: [DONE]\n\n"]
        for line in lines:
            data = line.encode("utf-8")
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            if self.stub.chunk_delay_s:
                time.sleep(self.stub.chunk_delay_s)
        self.wfile.write(b"0\r\n\r\n")


class OpenAIStub:
    """Run with ``with OpenAIStub(...) as stub:`` or ``start()`` / ``stop()``."""

    def __init__(self, api_key: str = "sk-test", model: str = "gpt-4o-mini", host: str = "127.0.0.1",
                 port: int = 0, chunk_delay_s: float = 0.0) -> None:
        self.api_key = api_key
        self.model = model
        self.host = host
        self.chunk_delay_s = chunk_delay_s
        self._port = port
        self._requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Received requests, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def start(self) -> "OpenAIStub":
        if self._httpd is None:
            self._httpd = _Server((self.host, self._port), self)
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                            name="openai-stub", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)

    def __enter__(self) -> "OpenAIStub":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("OpenAI stub is not running")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL without ``/v1`` (clients add it: ``OpenAI(base_url=stub.url + "/v1")``)."""
        return f"http://{self.host}:{self.port}"
