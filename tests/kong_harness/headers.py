"""Ordered, multi-valued HTTP header lists with nginx/OpenResty semantics.

Why: ``ngx.req.get_headers()`` lower-cases names and returns a string for a
single value and a table for repeated ones; ``ngx.req.set_header`` replaces
all values in place and ``clear_header`` removes them; ``$http_x_foo`` joins
repeated values with ", ".  Plugin changes must be visible to later PDK calls,
to the upstream request and to the log snapshot, so all of them read this one
structure.
"""
from __future__ import annotations

import threading
from typing import Iterable, Iterator


def norm(name: str) -> str:
    """Case-insensitive key; ``_`` and ``-`` are distinct for nginx (underscores_in_headers on)."""
    return name.lower()


class HeaderList:
    """``[(name, value), ...]`` keeping the order and spelling of names.

    Each entry also keeps its lower-cased name, computed once: the harness looks
    headers up several times per request and per PDK call.
    """

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str, str]] = [(norm(n), n, v) for n, v in items]
        self._lock = threading.RLock()

    def __iter__(self) -> Iterator[tuple[str, str]]:
        with self._lock:
            return iter([(n, v) for _, n, v in self._items])

    def __len__(self) -> int:
        return len(self._items)

    def copy(self) -> "HeaderList":
        with self._lock:
            twin = HeaderList()
            twin._items = list(self._items)
            return twin

    def get_all(self, name: str) -> list[str]:
        key = norm(name)
        with self._lock:
            return [v for k, _, v in self._items if k == key]

    def get_first(self, name: str) -> str | None:
        vals = self.get_all(name)
        return vals[0] if vals else None

    def has(self, name: str) -> bool:
        return bool(self.get_all(name))

    def set(self, name: str, value: str | list[str]) -> None:
        """``ngx.req.set_header`` / ``ngx.header[name] = v``: replace in place."""
        values = value if isinstance(value, list) else [value]
        key = norm(name)
        with self._lock:
            kept: list[tuple[str, str, str]] = []
            at = None
            for item in self._items:
                if item[0] != key:
                    kept.append(item)
                elif at is None:
                    at = len(kept)          # where the first old value was
            new = [(key, name, v) for v in values]
            if at is None:
                kept.extend(new)
            else:
                kept[at:at] = new
            self._items = kept

    def add(self, name: str, value: str) -> None:
        with self._lock:
            self._items.append((norm(name), name, value))

    def clear(self, name: str) -> None:
        key = norm(name)
        with self._lock:
            self._items = [item for item in self._items if item[0] != key]

    def var(self, name: str) -> str | None:
        """``$http_<name>`` (nginx >= 1.23 joins repeated headers with ", ")."""
        key = norm(name.replace("_", "-"))
        with self._lock:
            vals = [v for k, _, v in self._items if k == key or ("_" in k and k.replace("_", "-") == key)]
        if not vals:
            return None
        sep = "; " if key == "cookie" else ", "
        return sep.join(vals)

    def to_lua(self, max_headers: int = 100) -> dict:
        """``ngx.req.get_headers(max)`` / ``ngx.resp.get_headers(max)`` (lower-cased keys)."""
        out: dict = {}
        with self._lock:
            items = self._items[:max_headers]
        for k, _, v in items:
            if k in out:
                cur = out[k]
                out[k] = (cur if isinstance(cur, list) else [cur]) + [v]
            else:
                out[k] = v
        return out

    def lowered(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        with self._lock:
            items = list(self._items)
        for k, _, v in items:
            out.setdefault(k, []).append(v)
        return out

    def items(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(n, v) for _, n, v in self._items]
