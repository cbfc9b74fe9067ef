"""Per-request state shared by the three plugins and the relay, in one process.

Kong runs each plugin phase as a separate RPC event, so the plugins cannot pass
Python objects to each other through Kong. They all live in the same plugin
server process though, so the first of them to see a request stores what it
fetched from Kong (consumer, body) here, keyed by Kong's `$kong_request_id`,
and the others reuse it without another PDK round trip. The relay finds the
same context by the `X-Kong-Request-Id` header Kong sets on the upstream
request (`headers_upstream`, overwriting any client value): 128 random bits the
client has not seen yet, claimed once.

The store is bounded and expires entries, so a request that Kong never logs
(client gone, plugin skipped) cannot leak memory.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from kong_plugins.bedrock import guardrail_usage
from kong_plugins.formats.api import ApiFormat


@dataclass(frozen=True)
class Consumer:
    """The authenticated Kong consumer, reduced to what the plugins use."""

    id: str
    username: str | None
    tags: tuple[str, ...]

    @classmethod
    def from_pdk(cls, entity: Any) -> Consumer | None:
        """Build from `kong.client.get_consumer()`; None when unauthenticated."""
        if not isinstance(entity, dict) or not entity.get("id"):
            return None
        tags = entity.get("tags") or ()
        return cls(
            id=str(entity["id"]),
            username=entity.get("username") or None,
            tags=tuple(t for t in tags if isinstance(t, str)),
        )

    @property
    def name(self) -> str:
        """How metrics and logs name the consumer: its username, else its id."""
        return self.username or self.id

    def role(self, tag_prefix: str) -> str | None:
        """The role named by the first `<prefix><role>` tag, if any."""
        for tag in self.tags:
            if tag.startswith(tag_prefix) and len(tag) > len(tag_prefix):
                return tag[len(tag_prefix):]
        return None


def token_count(value: Any) -> int:
    """A token count from a provider payload: non-negative int, anything else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@dataclass(frozen=True)
class ImageCount:
    """Images of one quality and size, which Bedrock bills apiece (formats.image_models)."""

    quality: str   # standard | premium
    width: int
    height: int
    count: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass
class Usage:
    """Token usage as Bedrock reports it: `input` excludes cache reads/writes."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0
    """Of `cache_write`, the tokens written for an hour (`ttl: "1h"`), billed at 2x input rather than 1.25x."""
    guardrail_units: dict[str, int] = field(default_factory=dict)
    """Text units a Bedrock guardrail processed, by policy (bedrock.guardrail_usage; traced calls only)."""
    images: tuple[ImageCount, ...] = ()
    """Images an image model generated (billed apiece, not in tokens)."""
    search_units: int = 0
    """A reranker's billing unit: one query over up to 100 documents (formats.rerank)."""
    calls: int = 1
    """Bedrock calls this usage adds up (OpenAI's `n`): long-context prices go by one call's prompt."""

    def plus(self, other: Usage) -> Usage:
        """Two calls' usage added up (OpenAI's `n`: one call per choice)."""
        units = guardrail_usage.added(dict(self.guardrail_units), other.guardrail_units)
        return Usage(input=self.input + other.input, output=self.output + other.output,
                     cache_read=self.cache_read + other.cache_read, cache_write=self.cache_write + other.cache_write,
                     cache_write_1h=self.cache_write_1h + other.cache_write_1h, guardrail_units=units,
                     images=self.images + other.images, search_units=self.search_units + other.search_units,
                     calls=self.calls + other.calls)

    @staticmethod
    def of_calls(usages: list[Usage | None]) -> Usage:
        """Several calls' usage added up (a call that reported none counts as a call of no tokens)."""
        first, *rest = [usage or Usage() for usage in usages] or [Usage()]
        for usage in rest:
            first = first.plus(usage)
        return first

    @property
    def cache_write_hour(self) -> int:
        """The 1-hour share of `cache_write`, never more than the writes (what pricing and metrics count)."""
        return min(self.cache_write_1h, self.cache_write)

    @property
    def cache_write_minutes(self) -> int:
        """The 5-minute share of `cache_write`: the rest."""
        return self.cache_write - self.cache_write_hour

    @property
    def prompt(self) -> int:
        """Input tokens as OpenAI counts them: cache reads and writes included."""
        return self.input + self.cache_read + self.cache_write

    @property
    def prompt_per_call(self) -> int:
        """One call's prompt (OpenAI's `n` sends the same prompt in every call)."""
        return self.prompt // max(self.calls, 1)

    @property
    def total(self) -> int:
        return self.prompt + self.output


@dataclass
class RequestContext:
    """Everything the gateway knows about one request, from access to log."""

    request_id: str
    consumer: Consumer | None
    body: bytes | None
    created_at: float = field(default_factory=time.monotonic)
    path: str | None = None
    query: str = ""               # the raw query string, read only where a route takes arguments (/v1/models)
    method: str = "POST"          # read only where a route takes more than POST (/v1/responses/{id})
    api: ApiFormat | None = None
    role: str | None = None
    signoffs: set[str] = field(default_factory=set)
    required_signoffs: frozenset[str] = frozenset()   # set by bedrock-proxy; checked by the relay
    upstream: Any = None          # set by bedrock-proxy: what the relay must call
    fallbacks: list = field(default_factory=list)   # further calls to try, in order
    armed: bool = False           # bedrock-proxy planned an upstream call the relay may serve once
    usage: Usage | None = None    # set by the relay
    model: str | None = None      # catalogue name that served the request
    substituted_from: str | None = None   # the model asked for, when the role's default was served instead
    omitted_tools: tuple[str, ...] = ()   # hosted OpenAI tool types the call goes on without
    planned_input: int = 0        # bedrock-proxy's estimate of the call's input tokens
    planned_output: int = 0       # the call's max output tokens
    planned_calls: int = 1        # how many such calls (OpenAI's `n`: one per choice)
    output_cap_field: str | None = None   # a native body's field capping the output (max_gen_len...), for advice
    prompt: Any = None            # the request as the model reads it (internal or native), for a cache forecast
    cache_forecast: Any = None    # metering.cache_forecast.Forecast the reservation counted on
    price_table: Any = None       # metering.pricing.PriceTable (token-meter): prices `model` on `service_tier`
    service_tier: str | None = "default"  # the tier planned, then the one Bedrock says served; None: untiered
    tier_header: str | None = None   # a Bedrock-native client's X-Amzn-Bedrock-Service-Tier
    metadata_header: str | None = None   # a Bedrock-native client's X-Amzn-Bedrock-Request-Metadata
    client_session: str | None = None    # Claude Code's X-Claude-Code-Session-Id (kong_request.client_id)
    client_agent: str | None = None      # Claude Code's X-Claude-Code-Agent-Id, on a subagent's calls
    headers_loaded: bool = False     # those two were read (from kong.yaml's post-function, else the PDK)
    reservation: Any = None       # metering.budget.Reservation held until the call is settled
    budget_headers: dict[str, str] = field(default_factory=dict)
    upstream_status: int | None = None
    bedrock_request_id: str | None = None   # x-amzn-RequestId of the Bedrock call that answered (or failed)
    answered_status: int | None = None      # what our side answered Kong with: the relay, or a plugin's exit
    error_type: str | None = None
    first_token_at: float | None = None
    relay_active: bool = False
    relay_clock: Any = None                 # relay.clock.RelayClock while the relay works on it
    relay_overhead_ms: float | None = None  # the relay's own time, without waiting on Bedrock or Kong
    stream_failure: Callable[[Any, str], bytes] | None = None   # the stream's own failure event (Responses API)
    stream_ping_seconds: float = 0.0   # bedrock-proxy's stream_ping_seconds: a silent stream's keep-alive (0: off)
    guardrail_intervened: bool = False      # the role's Bedrock guardrail blocked the call (input or output)
    keep_items: Callable[..., bool] | None = None   # a finished Response, kept (relay.item_store)
    background: Any = None        # relay.background.Keeping: a Responses call run in the background
    background_status: str | None = None   # how it ended, for its log line (the client's answer was a 200)
    stream_choice: tuple[int, int] | None = None   # (index, created): this stream is one choice of OpenAI's `n`
    usage_estimated: bool = False  # the stream ended before Bedrock reported usage (metering.estimate)
    relay_detached: bool = False  # the answer went out before the Bedrock call: the call ends the relay's work
    response_echo: Any = None     # the Responses request's settings its Response repeats (openai_responses.ECHOED)
    _after_relay: list[Callable[[], None]] = field(default_factory=list)

    @property
    def price(self) -> Any:
        """The price of the call as it stands: the model and tier planned, then those that served it
        (a fallback model, a tier Bedrock reports it used), so costs follow what Bedrock bills."""
        return None if self.price_table is None else self.price_table.for_model(self.model, self.service_tier)

    def after_relay(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the relay is done with this request (now, if it is).

        When a client hangs up mid-stream, Kong finishes the request and runs
        the log phase before the relay notices (on its next write); usage must
        be settled only once the relay has stopped reading from Bedrock.
        """
        if self.relay_active:
            self._after_relay.append(callback)
        else:
            callback()

    def when_relayed(self, callback: Callable[[], None]) -> None:
        """Run `callback` as soon as the relay is done with this request (registered before it starts).

        Kong's log phase runs in a timer after the client has its answer, often after the
        client's next request is in: what must not wait for it (a reservation) goes here.
        """
        self._after_relay.append(callback)

    def relay_done(self) -> None:
        self.relay_active = False
        callbacks, self._after_relay = self._after_relay, []
        for callback in callbacks:
            callback()


class ContextStore:
    """Bounded, expiring map of live request contexts.

    The TTL drops the contexts of requests Kong never finished (its log phase pops the rest); a context the
    relay is still serving never expires: a 64k-token stream at 50 tokens a second outlives 15 minutes, and
    its log line, metrics and cost used to be zeros when another request's arrival dropped it. The size bound
    holds for every context.

    The plugin server runs on gevent (one OS thread), so plain dict operations
    are atomic with respect to other greenlets; no lock is needed.
    """

    def __init__(self, max_entries: int = 10_000, ttl_seconds: float = 900.0) -> None:
        self._by_request: OrderedDict[str, RequestContext] = OrderedDict()
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds

    def __len__(self) -> int:
        return len(self._by_request)

    def get(self, request_id: str) -> RequestContext | None:
        ctx = self._by_request.get(request_id)
        if ctx is not None and self._expired(ctx, time.monotonic()):
            self.pop(request_id)
            return None
        return ctx

    def create(self, request_id: str, consumer: Consumer | None, body: bytes | None) -> RequestContext:
        self._evict(time.monotonic())
        ctx = RequestContext(request_id=request_id, consumer=consumer, body=body)
        self._by_request[request_id] = ctx
        return ctx

    def arm(self, ctx: RequestContext) -> None:
        """Let the relay serve this request, once."""
        ctx.armed = True

    def claim(self, request_id: str) -> RequestContext | None:
        """The armed context of `request_id`, once; unknown, expired or replayed ids give None."""
        ctx = self.get(request_id) if request_id else None
        if ctx is None or not ctx.armed:
            return None
        ctx.armed = False
        return ctx

    def pop(self, request_id: str) -> RequestContext | None:
        return self._by_request.pop(request_id, None)

    def _past_ttl(self, ctx: RequestContext, now: float) -> bool:
        return now - ctx.created_at > self.ttl_seconds

    def _expired(self, ctx: RequestContext, now: float) -> bool:
        return self._past_ttl(ctx, now) and not ctx.relay_active

    def _evict(self, now: float) -> None:
        for _ in range(len(self._by_request)):
            oldest_id, oldest = next(iter(self._by_request.items()))
            if len(self._by_request) >= self.max_entries or self._expired(oldest, now):
                self.pop(oldest_id)
            elif self._past_ttl(oldest, now):   # not expired, so the relay serves it: look past it, at what came after
                self._by_request.move_to_end(oldest_id)
            else:
                return


store = ContextStore()
"""The process-wide store shared by the plugin modules and the relay."""
