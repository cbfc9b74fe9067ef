"""Format-neutral view of a request (Anthropic body, Converse body or Titan body all map here).

Token counting, prompt caching and reply generation work on this one shape, so the same
conversation gets the same counts and reply whichever API carried it.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import validation

MEDIA_TOKENS = 1000  # fixed cost of one image / binary document
BYTES_PER_TOKEN = 4  # the estimate: one token per 4 bytes of UTF-8 text


@dataclass
class Segment:
    """One countable unit in cache order (tool definition, system block, message block)."""

    kind: str
    text: str = ""
    media: int = 0
    breakpoint: bool = False  # cache_control / cachePoint ends a cacheable prefix here
    ident: str = ""  # hash material that is not counted (e.g. a digest of image bytes)
    ttl: str = "5m"  # how long a breakpoint's entry lives: its write is billed by it

    def key(self) -> bytes:
        return f"{self.kind}\x00{self.media}\x00{self.ident}\x00{self.text}".encode("utf-8")

    def text_bytes(self) -> int:
        return len(self.text.encode("utf-8"))


@dataclass
class ToolSpec:
    name: str
    input_schema: dict[str, Any] = field(default_factory=dict)
    strict: bool = False   # strict tool use: the call's input is held to the schema (structured outputs)


@dataclass
class LastUserTurn:
    """What the reply echoes: text, image count and tool results of the final user message."""

    text: str = ""
    images: int = 0
    documents: int = 0
    tool_results: list[str] = field(default_factory=list)


@dataclass
class Prompt:
    segments: list[Segment]
    last_user: LastUserTurn
    max_tokens: int
    tools: list[ToolSpec] = field(default_factory=list)
    tool_choice: str = "auto"  # auto | any | tool | none
    tool_choice_name: str | None = None
    parallel_tools: bool = True   # Claude may call several tools in one turn unless told not to
    stop_sequences: list[str] = field(default_factory=list)
    thinking: bool = False
    output_schema: dict[str, Any] | None = None   # structured outputs: the reply text follows it

    @property
    def strict_tools(self) -> bool:
        return any(tool.strict for tool in self.tools)

    def fingerprint(self) -> bytes:
        """Stable hash of everything the model would see; seeds the deterministic reply."""
        digest = hashlib.sha256()
        for segment in self.segments:
            digest.update(segment.key())
            digest.update(b"\x01")
        return digest.digest()


def estimate_tokens(text_bytes: int, media: int) -> int:
    """ceil(utf-8 bytes / BYTES_PER_TOKEN) plus a fixed cost per image/document."""
    return math.ceil(text_bytes / BYTES_PER_TOKEN) + media * MEDIA_TOKENS


def total_input_tokens(segments: list[Segment]) -> int:
    text_bytes = sum(s.text_bytes() for s in segments)
    media = sum(s.media for s in segments)
    return max(1, estimate_tokens(text_bytes, media))


def prefix_tokens(segments: list[Segment]) -> list[int]:
    """Token count of segments[0..i] for every i (cumulative, for cache prefixes)."""
    out: list[int] = []
    text_bytes = media = 0
    for segment in segments:
        text_bytes += segment.text_bytes()
        media += segment.media
        out.append(estimate_tokens(text_bytes, media))
    return out


def media_ident(value: object) -> str:
    """Short digest of binary content (images/documents) so different media hash differently."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]


def first_words(text: str, limit: int = 6) -> list[str]:
    return text.split()[:limit]


class SegmentList:
    """Collects segments; Converse's ``cachePoint`` marks the segment before it."""

    def __init__(self) -> None:
        self.items: list[Segment] = []

    def add(self, kind: str, text: str = "", media: int = 0, breakpoint: bool = False,
            ident: str = "") -> None:
        self.items.append(Segment(kind, text, media, breakpoint, ident))

    def mark_breakpoint(self, point: Any = None) -> None:
        """`point`: the cache_control or cachePoint, whose `ttl` is 5m (the default) or 1h.

        Like Anthropic, an hour's entry may not follow a five minutes' one (a 400).
        """
        if point is not None and not isinstance(point, dict):
            raise validation("a cache breakpoint (cache_control, cachePoint) must be an object")
        ttl = point.get("ttl", "5m") if isinstance(point, dict) else "5m"
        if ttl not in CACHE_TTLS:
            raise validation(f"cache ttl must be one of {', '.join(CACHE_TTLS)}, not {ttl!r}")
        if ttl == "1h" and any(s.breakpoint and s.ttl == "5m" for s in self.items[:-1]):
            raise validation("a cache breakpoint with ttl 1h must not come after one with ttl 5m")
        if self.items:
            self.items[-1].breakpoint = True
            self.items[-1].ttl = ttl


CACHE_TTLS = ("5m", "1h")
