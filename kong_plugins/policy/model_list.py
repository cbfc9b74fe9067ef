"""`GET /v1/models` and `GET /v1/models/{id}`, answered from the catalogue in the caller's API format.

OpenAI SDKs get OpenAI's list object. Anthropic clients (they send
`anthropic-version`) get Anthropic's Models API: `type`, `display_name`,
`created_at`, cursor pagination. Its ids are Claude-style names because Claude
Code's gateway model discovery (`CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY`)
keeps only ids that start with `claude` or `anthropic`, and shows
`display_name` in its /model picker; the catalogue resolves them back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, unquote

from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats.body import query_limit
from kong_plugins.formats.errors import ErrorKind, Reply, render_error
from kong_plugins.policy.catalogue import CatalogueEntry

PATH = "/v1/models"
ANTHROPIC_DEFAULT_LIMIT, ANTHROPIC_MAX_LIMIT = 20, 1000   # Anthropic's documented `limit` default and maximum
MESSAGES_KINDS = frozenset({"claude", "mantle", "converse"})
"""Catalogue kinds Anthropic's Messages API reaches (embedding and OpenAI-compatible entries serve OpenAI clients)."""
_ANTHROPIC_PREFIXES = ("claude", "anthropic")   # Claude Code's discovery keeps ids starting with these
_RELEASE_STAMP = re.compile(r"-(20\d{2})(\d{2})(\d{2})(?:-|$)")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class ListedModel:
    """One catalogue entry as the models endpoints show it."""

    entry: CatalogueEntry

    @property
    def anthropic_id(self) -> str:
        """The entry's first name starting `claude` (`claude-sonnet-4-5`), else `anthropic` (a Bedrock id),
        else its catalogue name."""
        names = (self.entry.name, *self.entry.aliases)
        for prefix in _ANTHROPIC_PREFIXES:
            found = next((name for name in names if name.lower().startswith(prefix)), None)
            if found is not None:
                return found
        return self.entry.name

    @property
    def display_name(self) -> str:
        """The configured label, else one read off the Claude-style id: `Claude Sonnet 4.5`."""
        if self.entry.display_name:
            return self.entry.display_name
        if not self.anthropic_id.lower().startswith("claude-"):
            return self.entry.name
        words: list[str] = []
        for part in self.anthropic_id.split("-"):
            if part.isdigit() and len(part) == 8:
                break   # a date stamp: not part of a model's name
            if part.isdigit() and words and words[-1][-1:].isdigit():
                words[-1] += "." + part
            else:
                words.append(part if part.isdigit() else part.capitalize())
        return " ".join(words)

    @property
    def released(self) -> datetime:
        """The release date in the Bedrock id's stamp (`...-20250929-v1:0`); the epoch when it has none."""
        stamp = _RELEASE_STAMP.search(self.entry.bedrock_id)
        if stamp is None:
            return _EPOCH
        try:
            return datetime(*(int(group) for group in stamp.groups()), tzinfo=timezone.utc)
        except ValueError:
            return _EPOCH

    def render(self, api: ApiFormat) -> dict[str, Any]:
        if api is ApiFormat.ANTHROPIC:
            return {"type": "model", "id": self.anthropic_id, "display_name": self.display_name,
                    "created_at": self.released.isoformat().replace("+00:00", "Z")}
        return {"id": self.entry.name, "object": "model", "created": int(self.released.timestamp()),
                "owned_by": "amazon-bedrock"}


def model_path(path: str) -> str | None:
    """The model id a models route names ("" for the list), None for any other path.

    bedrock-proxy reads the caller's `anthropic-version` header for these routes only, and the query
    string for an Anthropic caller: one or two PDK round trips, on a call no prompt goes through."""
    if path == PATH:
        return ""
    return unquote(path[len(PATH) + 1:]) if path.startswith(PATH + "/") else None


def list_models(api: ApiFormat, entries: list[CatalogueEntry], query: str) -> Reply:
    """The models the caller's role may use, as its SDK lists them."""
    if api is not ApiFormat.ANTHROPIC:
        return Reply(200, {"object": "list", "data": [ListedModel(e).render(api) for e in entries]}, {})
    models = sorted((ListedModel(e) for e in entries if e.kind in MESSAGES_KINDS),
                    key=lambda m: (-m.released.timestamp(), m.anthropic_id))
    try:
        page = _anthropic_page(models, parse_qs(query or "", keep_blank_values=True))
    except ValueError as exc:
        return render_error(api, ErrorKind.INVALID_REQUEST, str(exc))
    data = [m.render(api) for m in page.models]
    return Reply(200, {"data": data, "has_more": page.has_more, "first_id": data[0]["id"] if data else None,
                       "last_id": data[-1]["id"] if data else None}, {})


def get_model(api: ApiFormat, entry: CatalogueEntry | None, allowed: bool) -> Reply:
    """One model, by any name the catalogue resolves; 404 for one the role may not use, as the list hides it."""
    if entry is None or not allowed or (api is ApiFormat.ANTHROPIC and entry.kind not in MESSAGES_KINDS):
        return render_error(api, ErrorKind.MODEL_NOT_FOUND, "This model is not available to your API key.")
    return Reply(200, ListedModel(entry).render(api), {})


@dataclass(frozen=True)
class _Page:
    models: list[ListedModel]
    has_more: bool


def _anthropic_page(models: list[ListedModel], args: dict[str, list[str]]) -> _Page:
    """Anthropic's cursor pagination: `limit` (1-1000, default 20), then `after_id` or `before_id`."""
    limit_arg = _single(args, "limit")
    limit = query_limit(limit_arg.strip() if limit_arg is not None else None, ANTHROPIC_DEFAULT_LIMIT,
                        ANTHROPIC_MAX_LIMIT)
    after, before = _single(args, "after_id"), _single(args, "before_id")
    if after is not None and before is not None:
        raise ValueError("Give after_id or before_id, not both.")
    ids = [m.anthropic_id for m in models]
    if after is not None or before is not None:
        cursor = after if after is not None else before
        if cursor not in ids:
            raise ValueError("after_id / before_id must be the id of a model in this list.")
        at = ids.index(cursor)
        if after is not None:
            rest = models[at + 1:]
            return _Page(rest[:limit], len(rest) > limit)
        start = max(0, at - limit)
        return _Page(models[start:at], start > 0)
    return _Page(models[:limit], len(models) > limit)


def _single(args: dict[str, list[str]], name: str) -> str | None:
    values = args.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise ValueError(f"{name}: give it once.")
    return values[0]
