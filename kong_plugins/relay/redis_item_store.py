"""The item store on Redis, shared by every Kong pod (see relay.item_store; imported only when configured).

A save with `while_status` is a WATCH/MULTI over a response's index, items and turn, and a load one MGET: on a
Redis Cluster those keys must share a hash slot, so there the owner is a hash tag (`kbg:item:{<owner>}:<id>`);
on one server the keys keep the names they always had, so an upgrade loses no conversation."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Mapping

import redis
from redis.exceptions import AskError, MovedError

from kong_plugins import redis_client
from kong_plugins.formats import wire_json
from kong_plugins.relay.item_store import (ITEM, RESPONSE, TURN, ItemStoreError, response_index, response_keys,
                                           status_in)

KEY_PREFIX = "kbg:"
WATCH_TRIES = 8
"""A conditional save retried this often when another writer changed the response meanwhile (then an error)."""


class RedisItemStore:
    """Items shared by every Kong pod: one pipelined round trip to save a response's items (and turn), one MGET
    to load."""

    def __init__(self, client: redis_client.Client, ttl_seconds: int) -> None:
        self._client = client
        self.ttl_seconds = ttl_seconds
        self._tagged = redis_client.is_cluster(client)

    @classmethod
    def connect(cls, config: Mapping[str, Any], ttl_seconds: int) -> RedisItemStore:
        return cls(redis_client.from_record(config), ttl_seconds)

    def save(self, owner: str, response_id: str, items: list[dict[str, Any]], turn: dict[str, Any] | None = None,
             earlier: Iterable[str] = (), envelope: dict[str, Any] | None = None,
             while_status: frozenset[str] | None = None) -> bool:
        def commands(pipe: Any) -> None:
            for turn_id in earlier:
                pipe.expire(self._key(owner, TURN, turn_id), self.ttl_seconds)
            for item in items:
                pipe.set(self._key(owner, ITEM, item["id"]), wire_json.dumps(item), ex=self.ttl_seconds)
            if turn is not None:
                pipe.set(self._key(owner, TURN, turn["id"]), wire_json.dumps(turn), ex=self.ttl_seconds)
            pipe.set(self._key(owner, RESPONSE, response_id),
                     wire_json.dumps(response_index(response_id, items, envelope)), ex=self.ttl_seconds)
        if while_status is None:
            self._run(commands)
            return True
        return self._run_while(self._key(owner, RESPONSE, response_id), while_status, commands)

    def load(self, owner: str, ids: list[str], kind: str = ITEM) -> dict[str, dict[str, Any]]:
        with _reaching_redis():
            values = self._client.mget([self._key(owner, kind, item_id) for item_id in ids])
        found = {item_id: _decoded(value) for item_id, value in zip(ids, values) if value is not None}
        return {item_id: item for item_id, item in found.items() if item is not None}

    def delete(self, owner: str, response_id: str) -> bool:
        """Two round trips: the response's index, then one DEL of everything it names."""
        index = self.load(owner, [response_id], RESPONSE).get(response_id)
        return self.erase(owner, response_keys(response_id, index))

    def put(self, owner: str, kind: str, record: dict[str, Any]) -> None:
        self._run(lambda pipe: pipe.set(self._key(owner, kind, record["id"]), wire_json.dumps(record),
                                        ex=self.ttl_seconds))

    def extend(self, owner: str, kind: str, list_id: str, values: list[dict[str, Any]]) -> None:
        """RPUSH: two pods adding to one list at once both get their values in."""
        key = self._key(owner, kind, list_id)
        self._run(lambda pipe: pipe.rpush(key, *(wire_json.dumps(v) for v in values)).expire(key, self.ttl_seconds))

    def entries(self, owner: str, kind: str, list_id: str) -> list[dict[str, Any]]:
        with _reaching_redis():
            values = self._client.lrange(self._key(owner, kind, list_id), 0, -1)
        return [item for item in map(_decoded, values) if item is not None]

    def remove(self, owner: str, kind: str, list_id: str, matches: Callable[[dict[str, Any]], bool]) -> bool:
        """Two round trips: the list, then LREM of the matching value's exact bytes (and EXPIRE), which leaves
        whatever RPUSH added meanwhile."""
        key = self._key(owner, kind, list_id)
        with _reaching_redis():
            raw = next((value for value in self._client.lrange(key, 0, -1)
                        if (item := _decoded(value)) is not None and matches(item)), None)
            if raw is None:
                return False
            removed, _ = self._client.pipeline(transaction=True).lrem(key, 1, raw).expire(key, self.ttl_seconds) \
                .execute()
        return removed > 0

    def touch(self, owner: str, kind: str, list_id: str) -> None:
        key = self._key(owner, kind, list_id)
        self._run(lambda pipe: pipe.expire(key, self.ttl_seconds))

    def erase(self, owner: str, keys: list[tuple[str, str]]) -> bool:
        with _reaching_redis():
            return self._client.delete(*(self._key(owner, kind, key_id) for kind, key_id in keys)) > 0

    def _key(self, owner: str, kind: str, item_id: str) -> str:
        """On a cluster, an owner's keys in one hash slot (a request with no consumer has the owner "")."""
        return f"{KEY_PREFIX}{kind}:{redis_client.slot_part(owner, self._tagged)}:{item_id}"

    def _run_while(self, key: str, while_status: frozenset[str], commands: Any) -> bool:
        """`commands` in one MULTI/EXEC if the response under `key` has one of `while_status`: WATCH makes
        the EXEC fail if another pod (or greenlet) wrote the key after it was read, and the check starts over.
        On a cluster so does a slot that moved (MOVED, ASK: redis-py has patched its layout, and retries a
        transaction only as often as the client's Retry says, here never)."""
        with _reaching_redis(), self._client.pipeline(transaction=True) as pipe:
            for _ in range(WATCH_TRIES):
                try:
                    pipe.watch(key)
                    value = pipe.get(key)
                    if status_in(_decoded(value) if value is not None else None) not in while_status:
                        pipe.unwatch()
                        return False
                    pipe.multi()
                    commands(pipe)
                    pipe.execute()
                    return True
                except (redis.WatchError, MovedError, AskError):
                    pipe.reset()
                    continue
        raise ItemStoreError("WatchError")

    def _run(self, commands: Any) -> None:
        """One round trip of pipelined `commands`."""
        pipe = self._client.pipeline(transaction=False)
        commands(pipe)
        with _reaching_redis():
            pipe.execute()


@contextmanager
def _reaching_redis() -> Iterator[None]:
    """Redis's failures (down, slow, refusing) as the store's one error, named by their type only."""
    try:
        yield
    except redis_client.ERRORS as exc:
        raise ItemStoreError(type(exc).__name__) from None


def _decoded(value: bytes) -> dict[str, Any] | None:
    """A kept item; None for anything else under the key (not JSON, not an object), which counts as missing."""
    try:
        item = wire_json.loads(value)
    except (ValueError, RecursionError):
        return None
    return item if isinstance(item, dict) else None
