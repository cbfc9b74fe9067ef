"""A Redis client from a plugin's `redis` record (schemas._REDIS), shared by token-meter's budgets and
bedrock-proxy's Responses item store, so both read the record the same way: one server, or with `cluster` a
Redis Cluster (ElastiCache with cluster mode on), both failing fast when Redis is down or hung."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar, Union

import redis
from gevent.lock import Semaphore
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster, TransactionStrategy
from redis.commands.core import Script
from redis.connection import Connection, SSLConnection
from redis.exceptions import ClusterDownError, NoScriptError, RedisClusterException
from redis.retry import Retry

T = TypeVar("T")
DOWN_SECONDS = 2.0
"""How long a failed Redis is left alone before the next call tries it again (the record's `down_ms`)."""


class FailFastRetry(Retry):
    """redis-py's Retry (one immediate retry, on a broken connection only) that, once a call has failed, fails
    every call at once for DOWN_SECONDS without touching the network.

    A hung Redis (a partition, a blocked server) would otherwise cost every request one `timeout_ms`, and every
    phase of it that reads or writes a budget or an item; now it costs one request one timeout, and the others
    go straight to their fallback (token-meter's on_store_error, the item store's 503). redis-py copies its
    Retry into every connection; this one is shared, so the whole client knows Redis is down.
    """

    def __init__(self, down_seconds: float = DOWN_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))
        self.down_seconds = down_seconds
        self._clock = clock
        self._down_until = 0.0

    def __deepcopy__(self, memo: dict) -> FailFastRetry:
        return self

    def call_with_retry(self, do: Callable[[], T], fail: Callable[..., Any], *args: Any, **kwargs: Any) -> T:
        if self._clock() < self._down_until:
            raise redis.ConnectionError("Redis failed moments ago; not tried again yet")
        try:
            return super().call_with_retry(do, fail, *args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError):
            self._down_until = self._clock() + self.down_seconds
            raise


ERRORS = (redis.RedisError, OSError, RedisClusterException)
"""Every way a call can fail to reach Redis: redis-py's cluster client also raises RedisClusterException (not a
RedisError) when no node of the cluster answers."""


def from_record(config: Mapping[str, Any], clock: Callable[[], float] = time.monotonic) -> Client:
    """Timeouts short by default (200 ms): a slow Redis must not hold a request for long.

    One immediate retry, on a broken connection only: a pooled connection Redis dropped (a restart) is
    replaced at once. redis-py's own default (three retries with exponential backoff from one second)
    held every request some 3.5 s while Redis was down, and a timeout is not retried, so a hung Redis
    costs one `timeout_ms`, and then nothing for `down_ms` (FailFastRetry; DOWN_SECONDS by default).

    With `cluster`, the same node by node (LazyCluster, NodeBreakers: `clock` is theirs, for tests to move).
    """
    timeout = (config.get("timeout_ms") or 200) / 1000.0
    down_ms = config.get("down_ms")
    down = DOWN_SECONDS if down_ms is None else int(down_ms) / 1000.0
    if config.get("cluster"):
        return LazyCluster(config, timeout, NodeBreakers(down, clock))
    return redis.Redis(host=config.get("host") or "127.0.0.1", port=int(config.get("port") or 6379),
                       username=config.get("username") or None, password=config.get("password") or None,
                       db=int(config.get("database") or 0), ssl=bool(config.get("ssl")),
                       socket_timeout=timeout, socket_connect_timeout=timeout, retry=FailFastRetry(down))


class NodeDown(redis.ConnectionError):
    """A cluster node that failed moments ago, refused without touching the network."""


class NodeBreakers:
    """FailFastRetry for a cluster, node by node: a node that failed (refused, timed out, or said CLUSTERDOWN) is
    left alone for `down_seconds`, while the subjects whose slots other nodes hold carry on."""

    def __init__(self, down_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.down_seconds = down_seconds
        self._clock = clock
        self._down_until: dict[str, float] = {}

    def check(self, node: str) -> None:
        if self._clock() < self._down_until.get(node, 0.0):
            raise NodeDown(f"Redis node {node} failed moments ago; not tried again yet")

    def trip(self, node: str) -> None:
        self._down_until[node] = self._clock() + self.down_seconds


def _fail_fast(base: type[Connection], breakers: NodeBreakers) -> type[Connection]:
    """`base` with this client's breakers: redis-py's cluster client gives each node its own Retry (none) and passes
    a node only the keyword arguments it knows, so the class itself carries them."""

    class FailFastConnection(base):  # type: ignore[valid-type,misc]
        def _node(self) -> str:
            return f"{self.host}:{self.port}"

        def connect_check_health(self, *args: Any, **kwargs: Any) -> None:
            """A refused connection trips its node at once: the retry after it would be refused too."""
            if self._sock:
                return
            breakers.check(self._node())
            try:
                super().connect_check_health(*args, **kwargs)
            except NodeDown:
                raise
            except (redis.ConnectionError, redis.TimeoutError):
                breakers.trip(self._node())
                raise

        def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            """A pooled connection to a node that is down is not written to either; a broken one is not a trip (a
            node restarted: the retry reconnects)."""
            breakers.check(self._node())
            try:
                super().send_packed_command(command, check_health)
            except redis.TimeoutError:
                breakers.trip(self._node())
                raise

        def read_response(self, *args: Any, **kwargs: Any) -> Any:
            """A timeout trips the node; so does CLUSTERDOWN, after which redis-py sleeps 250 ms a call."""
            try:
                return super().read_response(*args, **kwargs)
            except (redis.TimeoutError, ClusterDownError):
                breakers.trip(self._node())
                raise

    return FailFastConnection


class FailFastCluster(RedisCluster):
    """RedisCluster retrying as the one-server client does: once, at once, after a broken connection (a node
    restarted, or failed over: its slots are looked up again first), never after a timeout (Redis may have run
    the command: a budget reservation is then called off by its marker, which a retry's error would hide)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.nodes_manager.initialize = _unless_refused(self.nodes_manager.initialize)  # type: ignore[method-assign]

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._once(*args, **kwargs)
        except NodeDown:
            raise
        except redis.ConnectionError:
            return self._once(*args, **kwargs)

    def _once(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().execute_command(*args, **kwargs)
        except RedisClusterException as exc:
            raise reaching_error(exc) from None

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> Any:
        """redis-py's; a transaction (WATCH/MULTI) that could not reach its node (refused, timed out) reads the
        layout again, as a command does. redis-py's reads it only at the fifth failure of one pipeline, and never
        after a timeout: the item store's conditional saves (relay.background's) on a slot whose master had failed
        over kept going to the old master, and failed for as long as it stayed down or hung."""
        pipe = super().pipeline(transaction, shard_hint)
        strategy = pipe._execution_strategy
        if isinstance(strategy, TransactionStrategy):
            handle = strategy._reinitialize_on_error

            def reinitialize_on_error(error: Exception, failure_count: int) -> None:
                handle(error, failure_count)
                if isinstance(error, (redis.ConnectionError, redis.TimeoutError)):
                    self.nodes_manager.initialize()     # not after a NodeDown (_unless_refused)
            strategy._reinitialize_on_error = reinitialize_on_error
        return pipe


def _unless_refused(initialize: Callable[..., Any]) -> Callable[..., Any]:
    """redis-py reads the cluster's layout again (CLUSTER SLOTS from a healthy node, whose pooled connections it
    then drops) after every connection error, so also after each NodeDown: every call a breaker refused would
    cost the nodes that are up a new connection. The layout was read when the node failed; it is read again
    when the node is next tried (and fails, or answers MOVED)."""
    def initialize_unless_refused(*args: Any, **kwargs: Any) -> Any:
        if isinstance(sys.exc_info()[1], NodeDown):
            return None
        return initialize(*args, **kwargs)
    return initialize_unless_refused


class SlotScript(Script):
    """A Lua script on a cluster: EVALSHA on the node its keys' slot is on and, when that node lacks the script
    (new, restarted, a replica just promoted), EVAL there, which keeps it. redis-py's Script answers NOSCRIPT
    with SCRIPT LOAD on every master: one master down would fail the calls of every other that lacks it."""

    def __call__(self, keys: Sequence[Any] | None = None, args: Iterable[Any] | None = None,
                 client: Any = None) -> Any:
        client = self.registered_client if client is None else client
        keys, args = list(keys or []), list(args or [])
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return client.eval(self.script, len(keys), *keys, *args)


def reaching_error(exc: RedisClusterException) -> redis.RedisError:
    """A cluster client's failure to find a node that answers, as the one-server client reports it: a TimeoutError
    if the command timed out first (then no node told the layout again), since Redis may still run it."""
    seen: BaseException | None = exc.__context__
    while seen is not None:
        if isinstance(seen, redis.TimeoutError):
            return redis.TimeoutError(str(exc))
        seen = seen.__context__
    return redis.ConnectionError(str(exc))


class LazyCluster:
    """A FailFastCluster made at its first call: RedisCluster reads the cluster's layout as it is made, and a
    cluster down when the plugin server starts must cost requests their fallback (on_store_error, a 503), not
    the plugin its config. Everything else is the cluster client's."""

    def __init__(self, config: Mapping[str, Any], timeout: float, breakers: NodeBreakers) -> None:
        self.breakers = breakers
        self._config = config
        self._timeout = timeout
        self._made: FailFastCluster | None = None
        self._making = Semaphore()

    def register_script(self, script: str | bytes) -> Script:
        """Made without the cluster: the script's SHA needs only its bytes."""
        return SlotScript(self, script.encode() if isinstance(script, str) else script)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cluster(), name)

    def cluster(self) -> FailFastCluster:
        """Made once: the calls that arrive while it reads the layout wait for it rather than make their own
        (each a client, and a layout read, of its own)."""
        if self._made is None:
            with self._making:
                if self._made is None:
                    try:
                        self._made = self._make()
                    except RedisClusterException as exc:
                        raise reaching_error(exc) from None
        return self._made

    def _make(self) -> FailFastCluster:
        """Startup nodes: host/port (ElastiCache's configuration endpoint) and `cluster_nodes`, which redis-py
        tries in a shuffled order until one answers; no `database`: a cluster has one. Given as a redis:// URL since only then does redis-py build its
        nodes' pools with our connection class; TLS (certificate and host name checked, as on one server) is that
        class's, not the URL's scheme."""
        config = self._config
        base = SSLConnection if config.get("ssl") else Connection
        host = config.get("host") or "127.0.0.1"
        url = f"redis://{f'[{host}]' if ':' in host else host}:{int(config.get('port') or 6379)}"
        more = [ClusterNode(node["ip"], int(node.get("port") or 6379)) for node in config.get("cluster_nodes") or []]
        return FailFastCluster(url=url, startup_nodes=more, username=config.get("username") or None,
                               password=config.get("password") or None, socket_timeout=self._timeout,
                               socket_connect_timeout=self._timeout, connection_class=_fail_fast(base, self.breakers),
                               retry=Retry(NoBackoff(), 0))


Client = Union[redis.Redis, LazyCluster]


def is_cluster(client: Any) -> bool:
    """Whether keys must share a hash slot to meet in one script, transaction or MGET."""
    return isinstance(client, (LazyCluster, RedisCluster))


def slot_part(name: str, cluster: bool) -> str:
    """`name` (a consumer's id) as it goes into its keys: on a cluster a hash tag, `{name}`, so that all its keys
    share one slot (`{}` tags nothing: Redis would hash each whole key, so an empty name is `-`, which no
    consumer id, a UUID, is); on one server `name` itself, the key names a running deployment already has."""
    return "{" + (name or "-") + "}" if cluster else name
