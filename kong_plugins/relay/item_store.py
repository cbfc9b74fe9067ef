"""Output items of Responses API calls, kept so a client can send them back as `item_reference`.

OpenAI keeps every response made with `store` (its default), and clients lean on it: the
Vercel AI SDK's OpenAI provider sends an earlier step's assistant message and reasoning back
as `{"type": "item_reference", "id": ...}` rather than in full, so a multi-step tool loop
breaks on a gateway that keeps nothing. The relay saves each finished response's output
items (the assistant's text, reasoning with its signed thinking, tool calls) before the
client sees the response end, so the client's next call can name them, on any pod when the
store is Redis. Items belong to the consumer that got them: another key cannot read them.

With `keep_inputs` on, each such response is also kept as a turn (the call's input items and its
output, and the ids of the turns before it), so a later call can continue it with
`previous_response_id`; the input is what the guardrails let through. Off by default: then only
model output is kept, never a prompt. Everything is kept for `ttl_seconds`. `memory` is per
plugin-server process (one Kong pod), bounded by `memory_mb`: past it, the oldest entry of the
consumer that holds the most goes first, so one key's volume cannot push out everyone else's; with
more than one pod, a client's next call may reach a pod that never saw the item, so use
`redis`. `off` keeps nothing (a reference is then a 400 that says how to send items whole).
The rest of each Response (status, model, usage, the settings it repeats) is kept beside its items' ids,
for `retrieve`; without `keep_inputs`, less its `instructions`, `metadata` and end-user ids.
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from typing import Any, Callable, Iterable, Mapping, Protocol

from kong_plugins import metrics
from kong_plugins.eventlog import log_event
from kong_plugins.formats import wire_json
from kong_plugins.formats.openai_responses import Conversation, Turn

ITEM, TURN, RESPONSE = "item", "turn", "response"
"""What a key holds: an output item (by its id), a response's turn (by the response id), or the ids of a
response's output items (by the response id), which `delete` erases with it."""
DEFAULT_TTL_SECONDS = 86_400
DEFAULT_MEMORY_MB = 32
ENTRY_OVERHEAD = 256
"""Bytes a memory entry costs beyond its JSON (key tuple, id strings, dict slot), counted against `memory_mb`."""


class ItemStoreError(Exception):
    """The store could not be reached (Redis down or slow)."""


class ItemStore(Protocol):
    ttl_seconds: int

    def save(self, owner: str, response_id: str, items: list[dict[str, Any]], turn: dict[str, Any] | None = None,
             earlier: Iterable[str] = (), envelope: dict[str, Any] | None = None,
             while_status: frozenset[str] | None = None) -> bool:
        """Keep a response's output `items` under their ids, their ids and its `envelope` (the Response without
        its output) under the response id, and its `turn` (keep_inputs) under the response id; the `earlier`
        turns it continues get a fresh TTL. One round trip on Redis.

        `while_status`: only if the response kept under that id now has one of these statuses, checked and
        written at once (a background response's end and its cancellation, which may race); False when not."""

    def load(self, owner: str, ids: list[str], kind: str = ITEM) -> dict[str, dict[str, Any]]: ...

    def delete(self, owner: str, response_id: str) -> bool:
        """Erase a response's output items and turn; False when none of it is kept (never, expired, deleted)."""

    def put(self, owner: str, kind: str, record: dict[str, Any]) -> None:
        """Keep `record` under its id, for `ttl_seconds` from now (relay.conversation_store)."""

    def extend(self, owner: str, kind: str, list_id: str, values: list[dict[str, Any]]) -> None:
        """Add `values` to the end of a list (made when missing), for `ttl_seconds` from now."""

    def entries(self, owner: str, kind: str, list_id: str) -> list[dict[str, Any]]:
        """A list's values, oldest first (none when missing)."""

    def remove(self, owner: str, kind: str, list_id: str, matches: Callable[[dict[str, Any]], bool]) -> bool:
        """Take the first value that `matches` out of a list, and start its TTL again; values another pod adds
        meanwhile stay (Redis: LREM of that one value). False: none matched."""

    def touch(self, owner: str, kind: str, list_id: str) -> None:
        """Start a list's TTL again."""

    def erase(self, owner: str, keys: list[tuple[str, str]]) -> bool:
        """Erase these (kind, id) keys; False when none of them was kept."""


class TooLarge(ItemStoreError):
    """A record larger than the whole memory store (memory_mb)."""


class MemoryItemStore:
    """A process's items, dropped past `ttl_seconds`, and past `max_bytes` (their JSON and ENTRY_OVERHEAD
    each) the oldest of the owner that holds the most bytes: one consumer storing 300 large responses used
    to push every other consumer's out, oldest first, long before their TTL.

    The plugin server is one gevent thread, so dict operations need no lock.
    """

    def __init__(self, max_bytes: int, ttl_seconds: int) -> None:
        self.max_bytes = max_bytes
        self.ttl_seconds = ttl_seconds
        self.size = 0
        self._items: OrderedDict[tuple[str, str, str], tuple[float, bytes]] = OrderedDict()
        self._by_owner: dict[str, OrderedDict[tuple[str, str, str], None]] = {}   # each owner's keys, oldest first
        self._owner_bytes: dict[str, int] = {}

    def save(self, owner: str, response_id: str, items: list[dict[str, Any]], turn: dict[str, Any] | None = None,
             earlier: Iterable[str] = (), envelope: dict[str, Any] | None = None,
             while_status: frozenset[str] | None = None) -> bool:
        if while_status is not None and status_in(self.load(owner, [response_id], RESPONSE).get(response_id)) \
                not in while_status:
            return False     # checked and written with no greenlet switch between: at once
        now = time.monotonic()
        for turn_id in earlier:      # newest again, so an earlier turn outlives the turns that need it
            kept = self._items.pop((owner, TURN, turn_id), None)
            if kept is not None:
                self._items[(owner, TURN, turn_id)] = (now + self.ttl_seconds, kept[1])
        for kind, item in [*((ITEM, item) for item in items), *([(TURN, turn)] if turn is not None else []),
                           (RESPONSE, response_index(response_id, items, envelope))]:
            try:
                self._keep((owner, kind, item["id"]), wire_json.dumps(item))
            except TooLarge:
                continue     # that one item is not kept; the rest are
        return True

    def load(self, owner: str, ids: list[str], kind: str = ITEM) -> dict[str, dict[str, Any]]:
        now = time.monotonic()
        found = {}
        for item_id in ids:
            kept = self._items.get((owner, kind, item_id))
            if kept is not None and kept[0] > now:
                found[item_id] = wire_json.loads(kept[1])
        return found

    def delete(self, owner: str, response_id: str) -> bool:
        kept = self._items.get((owner, RESPONSE, response_id))      # expired or not: its items go too
        index = wire_json.loads(kept[1]) if kept is not None else None
        return self.erase(owner, response_keys(response_id, index))

    def put(self, owner: str, kind: str, record: dict[str, Any]) -> None:
        self._keep((owner, kind, record["id"]), wire_json.dumps(record))

    def extend(self, owner: str, kind: str, list_id: str, values: list[dict[str, Any]]) -> None:
        self._keep((owner, kind, list_id), wire_json.dumps([*self.entries(owner, kind, list_id), *values]))

    def entries(self, owner: str, kind: str, list_id: str) -> list[dict[str, Any]]:
        kept = self._items.get((owner, kind, list_id))
        return wire_json.loads(kept[1]) if kept is not None and kept[0] > time.monotonic() else []

    def remove(self, owner: str, kind: str, list_id: str, matches: Callable[[dict[str, Any]], bool]) -> bool:
        values = self.entries(owner, kind, list_id)     # no greenlet switch before the write: at once
        index = next((i for i, value in enumerate(values) if matches(value)), None)
        if index is not None:
            self._keep((owner, kind, list_id), wire_json.dumps(values[:index] + values[index + 1:]))
        return index is not None

    def touch(self, owner: str, kind: str, list_id: str) -> None:
        kept = self._items.get((owner, kind, list_id))
        if kept is not None and kept[0] > time.monotonic():
            self._keep((owner, kind, list_id), kept[1])

    def erase(self, owner: str, keys: list[tuple[str, str]]) -> bool:
        now = time.monotonic()
        live = False     # an expired entry counts as gone
        for kind, key_id in keys:
            kept = self._items.get((owner, kind, key_id))
            live = live or (kept is not None and kept[0] > now)
            self._drop((owner, kind, key_id))
        return live

    def _keep(self, key: tuple[str, str, str], encoded_json: Any) -> None:
        """One entry, newest; TooLarge past the whole store, which would evict everything and keep nothing."""
        encoded = bytes(memoryview(encoded_json))   # orjson's bytes hold up to twice their length
        if len(encoded) + ENTRY_OVERHEAD > self.max_bytes:
            raise TooLarge("larger than memory_mb")
        now = time.monotonic()
        self._drop(key)
        self._items[key] = (now + self.ttl_seconds, encoded)
        self._by_owner.setdefault(key[0], OrderedDict())[key] = None
        self._account(key[0], len(encoded) + ENTRY_OVERHEAD)
        self._evict(now)

    def _drop(self, key: tuple[str, str, str]) -> None:
        kept = self._items.pop(key, None)
        if kept is not None:
            owned = self._by_owner[key[0]]
            del owned[key]
            if not owned:
                del self._by_owner[key[0]]
            self._account(key[0], -(len(kept[1]) + ENTRY_OVERHEAD))

    def _account(self, owner: str, change: int) -> None:
        self.size += change
        held = self._owner_bytes.get(owner, 0) + change
        if held:
            self._owner_bytes[owner] = held
        else:
            self._owner_bytes.pop(owner, None)

    def _evict(self, now: float) -> None:
        while self._items:                       # expired first: every entry lives ttl_seconds, oldest first
            key, (expires, _) = next(iter(self._items.items()))
            if expires > now:
                break
            self._drop(key)
        while self.size > self.max_bytes:        # then the largest holder's oldest
            heaviest = max(self._owner_bytes, key=self._owner_bytes.__getitem__)
            self._drop(next(iter(self._by_owner[heaviest])))


def keep(store: ItemStore, owner: str, turn: Turn | None, response: dict[str, Any], *, strict: bool = False,
         while_status: frozenset[str] | None = None) -> bool:
    """Save a finished Response: its output items, the rest of it beside their ids (what `retrieve` gives back)
    and, with `turn` (`keep_inputs`), the turn that lets a later call continue it. A store failure is counted
    and logged, the response still goes out (a later reference to it is then a 400 saying it is not kept);
    `strict`: then raised, for a background response, which is only ever read from the store.
    False only when `while_status` refused it (see ItemStore.save): the kept response had moved on."""
    response_id, output = response["id"], response["output"]
    record = {"id": response_id, "chain": list(turn.chain), "items": [*turn.input, *output]} if turn else None
    envelope = {key: value for key, value in response.items() if key != "output"}
    if turn is None:     # keep_inputs off: no prompt and no person is kept, though the Response repeats them
        envelope.update({key: blank for key, blank in WITHOUT_INPUTS.items() if key in envelope})
    try:
        return store.save(owner, response_id, output, record, turn.chain if turn else (), envelope, while_status)
    except ItemStoreError as exc:
        count_failure("save", exc)
        if strict:
            raise
        return True


WITHOUT_INPUTS = {"instructions": None, "metadata": {}, "user": None, "safety_identifier": None,
                  "prompt_cache_key": None}
"""What a kept Response holds in place of the request's settings that carry a prompt or name a person,
unless the gateway keeps inputs: a retrieved response then shows them blank."""


def counted(operation: str) -> Callable:
    """Count and log a store failure of `operation`, then raise it (the caller answers 503)."""
    def wrap(function: Callable) -> Callable:
        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except ItemStoreError as exc:
                count_failure(operation, exc)
                raise
        return call
    return wrap


@counted("load")
def retrieve(store: ItemStore | None, owner: str, response_id: str) -> dict[str, Any] | None:
    """`GET /v1/responses/{id}`: `owner`'s kept Response as it was answered (None: not kept, another key's,
    expired, or an item of it evicted). Two lookups. A store failure is counted and logged, then raised."""
    if store is None:
        return None
    index = store.load(owner, [response_id], RESPONSE).get(response_id)
    envelope = index.get("response") if index is not None else None
    ids = item_ids(index)
    items = store.load(owner, ids) if isinstance(envelope, dict) and ids else {}
    if not isinstance(envelope, dict) or len(items) != len(ids):
        return None
    return {**envelope, "output": [items[i] for i in ids]}


def status_in(index: dict[str, Any] | None) -> str | None:
    """The status of the Response a kept index holds (None: none kept)."""
    envelope = index.get("response") if index is not None else None
    return envelope.get("status") if isinstance(envelope, dict) else None


@counted("load")
def input_of(store: ItemStore | None, owner: str, response_id: str) -> list[dict[str, Any]] | None:
    """`GET /v1/responses/{id}/input_items`: the input items of `owner`'s kept turn, as the guardrails let them
    through (None: no turn is kept, as with keep_inputs off, store: false, another key's, expired or deleted).
    Two lookups: the turn, then its response's output ids, which end the turn's items. A store failure is
    counted and logged, then raised."""
    if store is None:
        return None
    turn = _turn(store.load(owner, [response_id], TURN).get(response_id))
    index = store.load(owner, [response_id], RESPONSE).get(response_id) if turn is not None else None
    if turn is None or index is None:
        return None
    inputs = len(turn["items"]) - len(item_ids(index))   # the turn's items end with its output's
    return turn["items"][:inputs] if inputs >= 0 else None


@counted("delete")
def delete(store: ItemStore | None, owner: str, response_id: str) -> bool:
    """`DELETE /v1/responses/{id}`: erase what is kept of `owner`'s response (False: nothing is). A store
    failure is counted and logged, then raised (the caller answers 503)."""
    if store is None:
        return False
    return store.delete(owner, response_id)


def response_index(response_id: str, items: list[dict[str, Any]],
                   envelope: dict[str, Any] | None = None) -> dict[str, Any]:
    """What is kept under a response's id: its output items' ids (for `delete` and `retrieve`) and the rest of
    the Response (`retrieve`)."""
    return {"id": response_id, "items": [item["id"] for item in items], "response": envelope}


def response_keys(response_id: str, index: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The (kind, id) keys a response is kept under: its output items (as its index names them), turn and index."""
    return [*((ITEM, i) for i in item_ids(index)), (TURN, response_id), (RESPONSE, response_id)]


def item_ids(index: dict[str, Any] | None) -> list[str]:
    """The output item ids a response index lists (none for a missing or malformed one)."""
    ids = index.get("items") if index is not None else None
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def lookup(store: ItemStore | None, owner: str) -> Callable[[list[str]], dict[str, dict[str, Any]]] | None:
    """`owner`'s items by id, for resolving a request's references (None when the store is off). A store
    failure is counted and logged, then raised (the caller answers 503)."""
    if store is None:
        return None

    @counted("load")
    def load(ids: list[str]) -> dict[str, dict[str, Any]]:
        return store.load(owner, ids)
    return load


def conversation(store: ItemStore | None, owner: str) -> Conversation | None:
    """`owner`'s kept turns, for a request's `previous_response_id` (None when turns are not kept): two lookups,
    the turn named, then every turn before it at once. A store failure is counted and logged, then raised."""
    if store is None:
        return None

    @counted("load")
    def load(response_id: str) -> tuple[tuple[str, ...], list[dict[str, Any]]] | None:
        last = _turn(store.load(owner, [response_id], TURN).get(response_id))
        chain = [i for i in last["chain"] if isinstance(i, str)] if last is not None else []
        earlier = store.load(owner, chain, TURN) if chain else {}
        turns = [_turn(earlier.get(i)) for i in chain]
        if last is None or len(chain) != len(last["chain"]) or any(t is None for t in turns):
            return None       # expired, evicted, another key's, or not a turn the gateway kept
        return (*chain, response_id), [item for t in (*turns, last) for item in t["items"]]
    return load


def _turn(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None or not isinstance(value.get("chain"), list) or not isinstance(value.get("items"), list):
        return None
    return value if all(isinstance(item, dict) for item in value["items"]) else None


def count_failure(operation: str, exc: ItemStoreError) -> None:
    metrics.response_store_errors_total.labels(operation=operation).inc()
    log_event("response_store_error", level="warning", operation=operation, error=str(exc))


_MEMORY_STORES: dict[tuple[int, int], MemoryItemStore] = {}


def from_config(config: Mapping[str, Any] | None) -> ItemStore | None:
    """bedrock-proxy's `openai_response_store`; None when `off`.

    Memory stores with the same settings are one store, so a config reload (deck sync makes new
    plugin instances) or a second route's bedrock-proxy does not lose or split the items.
    """
    config = config or {}
    storage = config.get("storage") or "memory"
    ttl = int(config.get("ttl_seconds") or DEFAULT_TTL_SECONDS)
    if storage == "off":
        return None
    if storage == "redis":   # imported only then: the redis package alone adds some 15 MiB to the process
        from kong_plugins.relay.redis_item_store import RedisItemStore
        return RedisItemStore.connect(config.get("redis") or {}, ttl)
    size = int(config.get("memory_mb") or DEFAULT_MEMORY_MB) * 1024 * 1024
    return _MEMORY_STORES.setdefault((size, ttl), MemoryItemStore(size, ttl))
