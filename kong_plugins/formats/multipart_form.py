"""`multipart/form-data` request bodies (OpenAI's image uploads), read into the JSON object the rest of the
gateway reads.

The OpenAI SDKs send `images.create_variation` and `images.edit` as forms: the pictures as file parts, the
settings as text parts. The request context turns such a body into one JSON object when it is created
(`as_json`), so the guardrails scan it and bedrock-proxy plans it like any other body: text parts become
strings, a file part `{"filename", "content_type", "data"}` with the bytes in base64. A form is recognised by
its first line, the `--boundary` every client writes first (the boundary is the Content-Type's, which the
plugins would spend a PDK round trip to read). Parsing is python-multipart's, the parser Starlette uses,
imported by the first form (under 1 MiB a plugin server serving no uploads does not need).
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from kong_plugins.formats import wire_json

logging.getLogger("python_multipart").propagate = False   # its parse warnings quote bytes of the body
logging.getLogger("python_multipart").addHandler(logging.NullHandler())

MAX_BOUNDARY = 70
"""RFC 2046's longest boundary."""
FILE_KEYS = ("filename", "content_type", "data")


class _Collector:
    """MultipartParser callbacks that gather each part's headers and bytes."""

    def __init__(self) -> None:
        self.parts: list[tuple[dict[bytes, bytes], bytearray]] = []
        self._field = self._value = b""

    def callbacks(self) -> dict[str, Any]:
        return {"on_part_begin": self._begin, "on_part_data": self._data, "on_header_field": self._header_field,
                "on_header_value": self._header_value, "on_header_end": self._header_end}

    def _begin(self) -> None:
        self.parts.append(({}, bytearray()))

    def _data(self, data: bytes, start: int, end: int) -> None:
        self.parts[-1][1].extend(data[start:end])

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self.parts[-1][0][self._field.strip().lower()] = self._value.strip()
        self._field = self._value = b""


def boundary_of(body: bytes) -> bytes | None:
    """The boundary a form body opens with (None: the body is not a form)."""
    if not body.startswith(b"--"):
        return None
    first = body[2:body.find(b"\r\n")] if b"\r\n" in body else b""
    return first if 0 < len(first) <= MAX_BOUNDARY and first.strip() == first else None


def as_json(body: bytes) -> bytes | None:
    """The form as one JSON object (None: not a form, or not one that parses; the caller keeps the body as it
    is and the route's own parsing says what is wrong). A name sent more than once (`image[]`) is a list."""
    boundary = boundary_of(body)
    if boundary is None:
        return None
    from python_multipart.multipart import MultipartParser, parse_options_header
    collector = _Collector()
    try:
        parser = MultipartParser(boundary, collector.callbacks())
        parser.write(body)
        parser.finalize()
    except Exception:   # noqa: BLE001 - python-multipart raises several error types; any is "not a form"
        return None
    fields: dict[str, Any] = {}
    for headers, data in collector.parts:
        kind, options = parse_options_header(headers.get(b"content-disposition", b""))
        name = options.get(b"name")
        if kind != b"form-data" or not name:
            continue
        key = name.decode("utf-8", "replace")
        if b"filename" in options:
            value: Any = {"filename": options[b"filename"].decode("utf-8", "replace"),
                          "content_type": headers.get(b"content-type", b"").decode("latin-1"),
                          "data": base64.b64encode(bytes(data)).decode("ascii")}
        else:
            value = bytes(data).decode("utf-8", "replace")
        if key in fields:
            fields[key] = [*(fields[key] if isinstance(fields[key], list) else [fields[key]]), value]
        else:
            fields[key] = value
    return wire_json.dumps(fields)


def uploaded(value: Any) -> bytes | None:
    """A file part's bytes, as `as_json` wrote them (None: not a file part)."""
    if not isinstance(value, dict) or not isinstance(value.get("data"), str):
        return None
    try:
        return base64.b64decode(value["data"], validate=True)
    except ValueError:
        return None
