"""Budgets in Redis, shared by every Kong pod: one atomic Lua script per phase.

A reserve is one EVALSHA (check all windows, then increment all, or nothing);
a settle is one EVALSHA adding the (possibly negative) difference. Counters
expire after their window, so Redis holds only live windows, and a plugin-server
restart loses nothing.

On a Redis Cluster every key of one script must hash to one slot, so there the subject (a consumer id, a UUID,
or `anonymous`) is a hash tag (`kbg:{<subject>}:m:<minute>`); on one server the keys keep the names they always
had (`kbg:<subject>:m:...`), so an upgrade leaves the budgets of the current windows where they are.
"""

from __future__ import annotations

from typing import Any

import redis

from kong_plugins import redis_client
from kong_plugins.metering.budget import (Charge, Limits, Totals, Verdict, Windows, BudgetStoreError, _keys,
                                          first_exceeded)

_RESERVE = """
if KEYS[4] and redis.call('EXISTS', KEYS[4]) == 1 then return {0, 0, 0, 0, 0} end
local used = {}
for i = 1, 3 do used[i] = tonumber(redis.call('GET', KEYS[i]) or '0') end
local tokens, micro = tonumber(ARGV[1]), tonumber(ARGV[2])
local adds = {tokens, tokens, micro}
for i = 1, 3 do
  local limit = tonumber(ARGV[2 + i])
  if limit >= 0 and used[i] + adds[i] > limit then return {0, i, used[1], used[2], used[3]} end
end
for i = 1, 3 do
  redis.call('INCRBY', KEYS[i], adds[i])
  redis.call('EXPIRE', KEYS[i], ARGV[5 + i])
end
if KEYS[4] then redis.call('SET', KEYS[4], '1', 'EX', ARGV[9]) end
return {1, 0, used[1] + tokens, used[2] + tokens, used[3] + micro}
"""
"""Check every window and add to all, or nothing. KEYS[4], when given, marks the reservation as made (for
_CANCEL); a marker already there is _CANCEL's: this reservation was called off before it arrived."""

_ADJUST = """
local adds = {tonumber(ARGV[1]), tonumber(ARGV[1]), tonumber(ARGV[2])}
local settled = KEYS[4] and redis.call('GET', KEYS[4]) ~= '1'
local totals = {}
for i = 1, 3 do
  if adds[i] ~= 0 and not settled then
    totals[i] = redis.call('INCRBY', KEYS[i], adds[i])
    if totals[i] < 0 then
      totals[i] = 0
      redis.call('SET', KEYS[i], 0)
    end
    redis.call('EXPIRE', KEYS[i], ARGV[2 + i])
  else
    totals[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  end
end
if KEYS[4] then redis.call('DEL', KEYS[4]) end
return totals
"""
"""Add a settle's difference, never below 0 (Redis restarted empty: the reservation it takes back is gone);
the counters after it. With a marker (KEYS[4]), only once: the marker goes, and a settle repeated after a
timeout (the first may have been carried out) reads the counters without adding."""

_CANCEL = """
local made = redis.call('GET', KEYS[4])
redis.call('SET', KEYS[4], 'x', 'EX', ARGV[3])
if made ~= '1' then return 0 end
local takes = {tonumber(ARGV[1]), tonumber(ARGV[1]), tonumber(ARGV[2])}
for i = 1, 3 do
  if redis.call('DECRBY', KEYS[i], takes[i]) < 0 then redis.call('SET', KEYS[i], 0) end
  redis.call('EXPIRE', KEYS[i], ARGV[3 + i])
end
return 1
"""
"""Take back a reservation whose answer never came (a timeout): only if Redis made it (its marker says so); the
marker then says it was called off, so a reservation still on its way to Redis adds nothing."""
MARKER_TTL = 86400
"""How long a reservation's marker lives unless settled: longer than any call, and than an outage whose settles
and cancels wait to be replayed (a settle that finds no marker adds nothing: it already went through)."""


class RedisBudgetStore:
    def __init__(self, client: redis_client.Client) -> None:
        self._client = client
        self._tagged = redis_client.is_cluster(client)
        self._reserve = client.register_script(_RESERVE)
        self._adjust = client.register_script(_ADJUST)
        self._cancel = client.register_script(_CANCEL)

    @classmethod
    def connect(cls, config: dict[str, Any]) -> RedisBudgetStore:
        return cls(redis_client.from_record(config))

    def reserve(self, subject: str, charge: Charge, limits: Limits, windows: Windows,
                token: str | None = None) -> Verdict:
        caps = [limits.tokens_per_minute, limits.tokens_per_day, limits.monthly_budget_micro_usd]
        args = [charge.tokens, charge.micro_usd, *(-1 if c is None else c for c in caps), *_ttls(windows), MARKER_TTL]
        try:
            ok, which, minute, day, month = self._reserve(keys=self._keys(subject, windows, token), args=args)
        except redis_client.ERRORS as exc:   # a timeout: Redis may yet make it (cancel(), by its token)
            raise BudgetStoreError(type(exc).__name__, maybe_applied=isinstance(exc, redis.TimeoutError)) from None
        except ValueError as exc:
            raise BudgetStoreError(type(exc).__name__) from None
        totals = Totals(int(minute), int(day), int(month))
        if ok:
            return Verdict(True, None, totals)
        return Verdict(False, first_exceeded(totals, charge, limits) or ("tokens_per_minute", "tokens_per_day",
                                                                       "monthly_budget")[int(which) - 1], totals)

    def adjust(self, subject: str, windows: Windows, delta: Charge, token: str | None = None) -> Totals:
        try:
            minute, day, month = self._adjust(keys=self._keys(subject, windows, token),
                                              args=[delta.tokens, delta.micro_usd, *_ttls(windows)])
            return Totals(int(minute), int(day), int(month))
        except redis_client.ERRORS as exc:
            raise BudgetStoreError(type(exc).__name__, maybe_applied=isinstance(exc, redis.TimeoutError)) from None
        except (TypeError, ValueError) as exc:   # an answer of another shape: the script ran, say so
            raise BudgetStoreError(type(exc).__name__, maybe_applied=True) from None

    def cancel(self, subject: str, windows: Windows, charge: Charge, token: str) -> None:
        """Take back the reservation `token` if Redis made it, and void it if it has yet to arrive."""
        try:
            self._cancel(keys=self._keys(subject, windows, token),
                         args=[charge.tokens, charge.micro_usd, MARKER_TTL, *_ttls(windows)])
        except redis_client.ERRORS as exc:
            raise BudgetStoreError(type(exc).__name__, maybe_applied=isinstance(exc, redis.TimeoutError)) from None

    def totals(self, subject: str, windows: Windows) -> Totals:
        """One MGET: a read needs no script, and a counter not yet written reads as nothing used."""
        try:
            values = self._client.mget(self._keys(subject, windows, None))
            return Totals(*(int(value or 0) for value in values))
        except (*redis_client.ERRORS, ValueError) as exc:
            raise BudgetStoreError(type(exc).__name__) from None

    def _keys(self, subject: str, windows: Windows, token: str | None) -> list[str]:
        """The window counters, and the reservation's marker when it has a token; on a cluster, all in the
        subject's hash slot."""
        return _with_marker(redis_client.slot_part(subject, self._tagged), windows, token)


def _with_marker(subject: str, windows: Windows, token: str | None) -> list[str]:
    keys = list(_keys(subject, windows))
    return keys + [f"kbg:{subject}:r:{token}"] if token else keys


def _ttls(windows: Windows) -> list[int]:
    """Keep each counter a little past its window (late settles still land)."""
    return [windows.seconds_to_minute + 600, windows.seconds_to_day + 3600, windows.seconds_to_month + 86400]
