"""Reserve, then settle: token windows and monthly dollars that hold under concurrency.

In access, token-meter reserves the call's worst case atomically: it fits in
every window (tokens this minute, tokens today, dollars this calendar month, all
UTC) or nothing is reserved and the client gets a 429. In log, the reservation
is adjusted to what Bedrock reported. So concurrent requests can never spend
more than the limits plus the difference between one request's estimate and its
actual use.
"""

from __future__ import annotations

import calendar
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from kong_plugins.metering.limits import Limits

EXCEEDED = ("tokens_per_minute", "tokens_per_day", "monthly_budget")


@dataclass(frozen=True)
class Windows:
    minute: str
    day: str
    month: str
    seconds_to_minute: int
    seconds_to_day: int
    seconds_to_month: int

    @classmethod
    def at(cls, now: datetime | None = None) -> Windows:
        now = now or datetime.now(timezone.utc)
        days_in_month = calendar.monthrange(now.year, now.month)[1]
        into_day = now.hour * 3600 + now.minute * 60 + now.second
        return cls(minute=now.strftime("%Y%m%d%H%M"), day=now.strftime("%Y%m%d"), month=now.strftime("%Y%m"),
                   seconds_to_minute=60 - now.second, seconds_to_day=86400 - into_day,
                   seconds_to_month=(days_in_month - now.day) * 86400 + 86400 - into_day)

    def retry_after(self, exceeded: str) -> int:
        return {"tokens_per_minute": self.seconds_to_minute, "tokens_per_day": self.seconds_to_day,
                "monthly_budget": self.seconds_to_month}[exceeded]


@dataclass(frozen=True)
class Charge:
    tokens: int
    micro_usd: int

    def minus(self, other: Charge) -> Charge:
        return Charge(self.tokens - other.tokens, self.micro_usd - other.micro_usd)


@dataclass(frozen=True)
class Totals:
    """What the subject has used in each window (after the reservation, when it was granted)."""

    minute_tokens: int
    day_tokens: int
    month_micro_usd: int

    def plus(self, charge: Charge) -> Totals:
        """The windows with `charge` (a reservation, or a settle's difference) added to each."""
        return Totals(self.minute_tokens + charge.tokens, self.day_tokens + charge.tokens,
                      self.month_micro_usd + charge.micro_usd)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    exceeded: str | None
    totals: Totals


@dataclass(frozen=True)
class Reservation:
    subject: str
    windows: Windows
    charge: Charge
    role: str = ""   # role and limits: for the gauges at settle
    limits: Limits | None = None
    token: str | None = None   # names it in the store (Redis: a marker a timed-out reservation is cancelled by)


class BudgetStoreError(RuntimeError):
    """The store could not be reached or answered garbage (e.g. Redis down). `maybe_applied`: the command went
    out and no answer came back in time, so the store may have carried it out (a timeout): not to be repeated."""

    def __init__(self, message: str, maybe_applied: bool = False) -> None:
        super().__init__(message)
        self.maybe_applied = maybe_applied


class BudgetStore(Protocol):
    def reserve(self, subject: str, charge: Charge, limits: Limits, windows: Windows,
                token: str | None = None) -> Verdict: ...

    def adjust(self, subject: str, windows: Windows, delta: Charge, token: str | None = None) -> Totals:
        """Add a settle's difference; the windows after it (every call's reservation and settle so far). A counter
        never goes below nothing: a store restarted empty has lost the reservation the difference takes back.
        With the reservation's token, Redis adds it once: a settle that timed out can be sent again."""
        ...

    def cancel(self, subject: str, windows: Windows, charge: Charge, token: str) -> None:
        """Take back reservation `token`, whose answer never came (a timeout), if the store made it; once called
        off, that reservation adds nothing should it arrive later. Repeating it changes nothing."""
        ...

    def totals(self, subject: str, windows: Windows) -> Totals:
        """What the subject has used in each window, reservations in flight included (read only)."""
        ...


class Unsettled:
    """Settlements the store refused (Redis down, or marked down for a moment after a timeout), replayed once a
    settle goes through again: without them, a call that ended during a short outage stayed charged at its
    worst case (prompt and max_tokens) for the day and the month.

    Each replay is a difference added to the windows the call was reserved in, so it lands in those windows
    (a window's counter outlives it, redis_budget._ttls; a past minute's is read by nobody) as long as the
    reservation's marker lives (redis_budget.MARKER_TTL, a day): a replay after an outage longer than that, or
    after Redis evicted the marker, adds nothing, and the call stays charged its reservation.
    Bounded: past `limit` waiting, the oldest are dropped, as a restart of the plugin server would drop them all.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._waiting: deque[tuple[str, Windows, Charge, str | None, bool]] = deque(maxlen=limit)

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, subject: str, windows: Windows, delta: Charge, token: str | None = None) -> None:
        self._waiting.append((subject, windows, delta, token, False))

    def cancel(self, subject: str, windows: Windows, charge: Charge, token: str) -> None:
        """A reservation that timed out, to take back (store.cancel) once the store answers again: Redis carries
        out a command that reached it while it was stalled, and that reservation used to stay charged."""
        self._waiting.append((subject, windows, charge, token, True))

    def replay(self, store: BudgetStore) -> int:
        """Settle what waits, oldest first, until the store refuses one; how many went through. Each is taken
        before the store is asked (another greenlet replays the next) and put back if it is refused."""
        done = 0
        while self._waiting:
            item = self._waiting.popleft()
            subject, windows, charge, token, cancel = item
            try:
                if cancel and token:
                    store.cancel(subject, windows, charge, token)
                else:
                    store.adjust(subject, windows, charge, token)
            except BudgetStoreError as refused:
                if token or not refused.maybe_applied:   # by its token, the store applies it once
                    self._waiting.appendleft(item)
                break
            done += 1
        return done


def first_exceeded(totals: Totals, charge: Charge, limits: Limits) -> str | None:
    """Which limit the charge would break; of several, the one that reopens last (the month, then the day), since
    the client's retry when an earlier one reopens would be refused again: the SDKs honour Retry-After, so a
    per-minute answer to a call the day also refused made them wait a minute for nothing."""
    if limits.monthly_budget_micro_usd is not None and \
            totals.month_micro_usd + charge.micro_usd > limits.monthly_budget_micro_usd:
        return "monthly_budget"
    if limits.tokens_per_day is not None and totals.day_tokens + charge.tokens > limits.tokens_per_day:
        return "tokens_per_day"
    if limits.tokens_per_minute is not None and totals.minute_tokens + charge.tokens > limits.tokens_per_minute:
        return "tokens_per_minute"
    return None


class MemoryBudgetStore:
    """One Kong node: counters in this process (the plugin server runs on one gevent thread,
    so a reserve is atomic with respect to every other request)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._pruned_in: str | None = None   # the minute window of the last prune

    def reserve(self, subject: str, charge: Charge, limits: Limits, windows: Windows,
                token: str | None = None) -> Verdict:
        keys = _keys(subject, windows)
        totals = self.totals(subject, windows)
        exceeded = first_exceeded(totals, charge, limits)
        if exceeded:
            return Verdict(False, exceeded, totals)
        self._prune(windows)
        self._add(keys, charge)
        return Verdict(True, None, totals.plus(charge))

    def adjust(self, subject: str, windows: Windows, delta: Charge, token: str | None = None) -> Totals:
        keys = _keys(subject, windows)
        self._add(keys, delta)
        return self.totals(subject, windows)

    def cancel(self, subject: str, windows: Windows, charge: Charge, token: str) -> None:
        """Never needed: a reservation in this process cannot time out."""

    def totals(self, subject: str, windows: Windows) -> Totals:
        return Totals(*(self._counts.get(k, 0) for k in _keys(subject, windows)))

    def _add(self, keys: tuple[str, str, str], charge: Charge) -> None:
        for key, amount in zip(keys, (charge.tokens, charge.tokens, charge.micro_usd)):
            self._counts[key] = max(0, self._counts.get(key, 0) + amount)

    def _prune(self, windows: Windows) -> None:
        """Drop counters of past windows (bounded memory), at most once a minute: with 10,000 counters of live
        windows (some 3,300 consumers active this month) every reservation used to scan them all."""
        if len(self._counts) < 10_000 or self._pruned_in == windows.minute:
            return
        self._pruned_in = windows.minute
        current = (f":m:{windows.minute}", f":d:{windows.day}", f":u:{windows.month}")
        self._counts = {k: v for k, v in self._counts.items() if k.endswith(current)}


def _keys(subject: str, windows: Windows) -> tuple[str, str, str]:
    return (f"kbg:{subject}:m:{windows.minute}", f"kbg:{subject}:d:{windows.day}", f"kbg:{subject}:u:{windows.month}")
