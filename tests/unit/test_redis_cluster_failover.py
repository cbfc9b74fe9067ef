"""token-meter's budgets and bedrock-proxy's Responses items on a real Redis Cluster with a replica per master
(three masters, three replicas, redis-server on loopback), through what ElastiCache does in a maintenance window
or when a node dies: a manual failover, a master that hangs or dies and is taken over by its replica (by hand, or
by Redis itself after `cluster-node-timeout`), and a master lost with its replica (CLUSTERDOWN). While it is under
way a call fails at once with the store's error (the plugins' fallback: on_store_error, a 503), never hangs and
never raises anything else; once it is over the consumers whose slots moved are served again, budgets kept and
enforced, items read and written, without a plugin restart."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

import pytest

from kong_plugins import redis_client
from kong_plugins.metering.budget import BudgetStoreError, Charge, Totals, Windows
from kong_plugins.metering.limits import Limits
from kong_plugins.metering.redis_budget import RedisBudgetStore
from kong_plugins.relay.item_store import RESPONSE, ItemStoreError
from kong_plugins.relay.redis_item_store import RedisItemStore
from tests.redis_cluster import LocalCluster

WINDOWS = Windows.at(datetime(2026, 11, 24, 12, 0, 5, tzinfo=timezone.utc))
PER_MINUTE = Limits(tokens_per_minute=1000)
NODE_TIMEOUT_MS = 1000
"""Short, so that Redis's own failover (a replica takes over once the others agree its master failed) and a
cluster's CLUSTERDOWN come within a few seconds; never reached by a healthy node on loopback."""
STORE_ERRORS = (BudgetStoreError, ItemStoreError)
ANY = frozenset({None, "in_progress", "completed"})
"""A conditional save (relay.background's WATCH/MULTI) that goes through whatever the response's status."""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    running = LocalCluster(tmp_path_factory.mktemp("cluster"), replicas=1, node_timeout_ms=NODE_TIMEOUT_MS)
    try:
        yield running.launch().join()
    finally:
        running.stop()


@pytest.fixture()
def clock():
    """The breakers' clock, moved by hand: how long a failed node is left alone is not timed."""
    return [100.0]


@pytest.fixture()
def stores(cluster, clock):
    """Each test's budget and item stores, as two plugins' clients (each learns the cluster, and keeps its own
    breakers); the nodes a test stopped are started again after it."""
    cluster.settle()
    cluster.flush()
    clients = [redis_client.from_record(cluster.record(), clock=lambda: clock[0]) for _ in range(2)]
    try:
        yield RedisBudgetStore(clients[0]), RedisItemStore(clients[1], 600)
    finally:
        cluster.recover()


def _subject_on(cluster: LocalCluster, master: int) -> str:
    """A consumer id whose hash slot `master` serves."""
    while True:
        subject = str(uuid.uuid4())
        if cluster.port_of("{" + subject + "}") == master:
            return subject


def _message(n: int) -> dict:
    return {"id": f"msg_{n}", "type": "message", "role": "assistant", "content": [{"type": "output_text",
                                                                                   "text": f"answer {n}"}]}


def _outcome(call: Callable[[], Any]) -> Any:
    """What the plugin sees: the answer, or the store's error, which it turns into its fallback. Anything else
    would raise out of the plugin (a 500), so it raises out of the test."""
    try:
        return call()
    except STORE_ERRORS as exc:
        return exc


def _served(call: Callable[[], Any], clock: list[float], tries: int = 2) -> Any:
    """`call`'s answer within `tries` calls, the breakers' `down_ms` over after each failure (a consumer's next
    request): by default one failure at most."""
    failures = []
    for _ in range(tries):
        outcome = _outcome(call)
        if not isinstance(outcome, STORE_ERRORS):
            return outcome
        failures.append(outcome)
        clock[0] += redis_client.DOWN_SECONDS + 0.1
    raise AssertionError(f"not served in {tries} calls: {failures!r}")


def _reserve(budgets: RedisBudgetStore, subject: str, tokens: int, token: str) -> Callable[[], Any]:
    return lambda: budgets.reserve(subject, Charge(tokens, 1), PER_MINUTE, WINDOWS, token=token)


def _save(items: RedisItemStore, owner: str, n: int) -> Callable[[], Any]:
    """A background response's save: a WATCH/MULTI on the owner's slot."""
    return lambda: items.save(owner, f"resp_{n}", [_message(n)], while_status=ANY)


def test_a_manual_failover_moves_no_budget_and_no_item_and_fails_no_call(cluster, stores):
    """ElastiCache's maintenance: the replica takes over in step with its master (CLUSTER FAILOVER), which then
    answers MOVED. The promoted replica never ran the budget scripts (Redis replicates their effects only)."""
    budgets, items = stores
    master = cluster.masters()[0]
    replica, subject = cluster.replica_of(master), _subject_on(cluster, master)
    assert budgets.reserve(subject, Charge(600, 6), PER_MINUTE, WINDOWS, token="a").allowed
    assert items.save(subject, "resp_1", [_message(1)], while_status=ANY)
    cluster.sync()
    scripts = [script.sha for script in (budgets._reserve, budgets._adjust, budgets._cancel)]
    assert cluster.admin(replica).script_exists(*scripts) == [False, False, False]
    cluster.failover(replica)

    assert budgets.reserve(subject, Charge(300, 3), PER_MINUTE, WINDOWS, token="b").totals == Totals(900, 900, 9)
    refused = budgets.reserve(subject, Charge(200, 2), PER_MINUTE, WINDOWS, token="c")
    assert not refused.allowed and refused.exceeded == "tokens_per_minute" and refused.totals.minute_tokens == 900
    assert budgets.adjust(subject, WINDOWS, Charge(-100, 0), token="b") == Totals(800, 800, 9)
    assert items.save(subject, "resp_2", [_message(2)], while_status=ANY)
    assert items.load(subject, ["msg_1", "msg_2"]) == {"msg_1": _message(1), "msg_2": _message(2)}
    assert f"kbg:{{{subject}}}:d:20261124" in cluster.keys_on(replica)      # the counters on the new master


def test_a_hung_master_taken_over_costs_its_consumers_a_timeout_then_they_are_served(cluster, stores, clock):
    """A master that stops answering (SIGSTOP: a paused VM, a partition) and its replica made master with
    CLUSTER FAILOVER TAKEOVER while it still hangs. Its consumers' calls fail at once after one timeout, the other
    consumers' go through; once the replica serves the slots, the consumers are served again after at most one
    more timeout (the breaker's `down_ms` is over, the old master is tried, and the layout read again): also the
    item store's transactions, whose failures redis-py does not read the layout again after."""
    budgets, items = stores
    master = cluster.masters()[1]
    replica, subject = cluster.replica_of(master), _subject_on(cluster, master)
    other = _subject_on(cluster, next(port for port in cluster.masters() if port != master))
    for consumer in (subject, other):
        assert budgets.reserve(consumer, Charge(300, 3), PER_MINUTE, WINDOWS, token="before").allowed
    assert items.save(subject, "resp_1", [_message(1)], while_status=ANY)
    cluster.sync()
    cluster.pause(master)

    timed_out = _outcome(_reserve(budgets, subject, 100, "stalled"))
    assert isinstance(timed_out, BudgetStoreError) and timed_out.maybe_applied    # called off by the meter
    for n in range(10):
        refused = _outcome(_reserve(budgets, subject, 100, f"r{n}"))
        assert isinstance(refused, BudgetStoreError) and str(refused) == "NodeDown" and not refused.maybe_applied
        assert budgets.reserve(other, Charge(10, 0), PER_MINUTE, WINDOWS, token=f"o{n}").allowed
    assert isinstance(_outcome(_save(items, subject, 2)), ItemStoreError)
    assert isinstance(_outcome(lambda: items.load(subject, ["msg_1"])), ItemStoreError)

    cluster.failover(replica, "TAKEOVER")
    clock[0] += redis_client.DOWN_SECONDS + 0.1
    assert _served(_save(items, subject, 3), clock)     # the transaction first: redis-py reads no layout after it
    assert items.load(subject, ["msg_1", "msg_3"]) == {"msg_1": _message(1), "msg_3": _message(3)}
    assert _served(_reserve(budgets, subject, 200, "after"), clock).totals.minute_tokens == 500
    budgets.cancel(subject, WINDOWS, Charge(100, 1), token="stalled")          # the meter's replay
    assert not budgets.reserve(subject, Charge(600, 1), PER_MINUTE, WINDOWS, token="over").allowed
    assert budgets.totals(other, WINDOWS).minute_tokens == 400

    cluster.recover()                   # the old master comes back, runs what it was sent, and is made a replica
    assert budgets.totals(subject, WINDOWS) == Totals(500, 500, 4)
    assert items.load(subject, ["msg_2"]) == {}


def test_a_dead_master_taken_over_costs_its_consumers_no_timeout(cluster, stores, clock):
    """A master killed (its host died: connections refused) and its replica made master by an election
    (CLUSTER FAILOVER FORCE). A refused call never ran, so the meter has nothing to call off; once the replica
    serves the slots, a budget call is served at once (the refusal reads the layout, and the call is retried)."""
    budgets, items = stores
    master = cluster.masters()[2]
    replica, subject = cluster.replica_of(master), _subject_on(cluster, master)
    assert budgets.reserve(subject, Charge(300, 3), PER_MINUTE, WINDOWS, token="before").allowed
    assert items.save(subject, "resp_1", [_message(1)], while_status=ANY)
    cluster.sync()
    cluster.kill(master)

    for n in range(5):
        refused = _outcome(_reserve(budgets, subject, 100, f"r{n}"))
        assert isinstance(refused, BudgetStoreError) and not refused.maybe_applied
        assert isinstance(_outcome(_save(items, subject, 2)), ItemStoreError)
    cluster.failover(replica, "FORCE")
    clock[0] += redis_client.DOWN_SECONDS + 0.1
    assert budgets.reserve(subject, Charge(200, 2), PER_MINUTE, WINDOWS, token="after").totals == Totals(500, 500, 5)
    assert _served(_save(items, subject, 3), clock)
    assert items.load(subject, ["msg_1", "msg_3"]) == {"msg_1": _message(1), "msg_3": _message(3)}

    cluster.recover()                   # it comes back empty, as its replica's replica
    assert budgets.totals(subject, WINDOWS) == Totals(500, 500, 5)


def test_redis_own_failover_of_a_hung_master_fails_calls_at_once_until_the_consumers_are_served(cluster, stores,
                                                                                                clock):
    """No operator: the other masters mark the hung one failed after cluster-node-timeout, and its replica wins an
    election (meanwhile the cluster may answer CLUSTERDOWN to every key). With the breakers' clock standing still
    every call under way is answered, each client paying one timeout at most; afterwards everyone is served."""
    budgets, items = stores
    by_master = {master: _subject_on(cluster, master) for master in cluster.masters()}
    hung = cluster.masters()[0]
    replica = cluster.replica_of(hung)
    for subject in by_master.values():
        assert budgets.reserve(subject, Charge(100, 1), PER_MINUTE, WINDOWS, token="before").allowed
        assert items.save(subject, "resp_1", [_message(1)], while_status=ANY)
    cluster.sync()
    cluster.pause(hung)

    outcomes, deadline = [], time.monotonic() + 30
    while not cluster.serves(replica):
        assert time.monotonic() < deadline, f"no failover: {cluster.describe()}"
        for subject in by_master.values():
            outcomes.append(_outcome(_reserve(budgets, subject, 1, f"during{len(outcomes)}")))
            outcomes.append(_outcome(lambda: items.load(subject, ["msg_1"])))
        time.sleep(0.05)
    errors = [outcome for outcome in outcomes if isinstance(outcome, STORE_ERRORS)]
    assert errors and sum(isinstance(error, BudgetStoreError) and error.maybe_applied for error in errors) <= 1

    cluster.wait_state("ok")
    clock[0] += redis_client.DOWN_SECONDS + 0.1
    for subject in by_master.values():
        before = _served(lambda: budgets.totals(subject, WINDOWS), clock).minute_tokens
        assert before >= 100                                     # the failover lost no reservation made before it
        assert _served(_reserve(budgets, subject, 50, "after"), clock).totals.minute_tokens == before + 50
        assert _served(lambda: items.load(subject, ["msg_1"]), clock) == {"msg_1": _message(1)}
        assert _served(_save(items, subject, 2), clock)


def test_a_master_lost_with_its_replica_is_clusterdown_fast_and_served_when_it_is_back(cluster, stores, clock):
    """A shard lost whole (its replica first, then its master), with cluster-require-full-coverage yes (Redis's
    default): once the others mark it failed, every node answers CLUSTERDOWN. Each call fails without a timeout,
    then each node's breaker refuses without reaching it or reading the layout; once the shard is back (empty:
    nothing was persisted) and `down_ms` over, everyone is served, the other shards' budgets intact."""
    budgets, items = stores
    by_master = {master: _subject_on(cluster, master) for master in cluster.masters()}
    lost = cluster.masters()[1]
    for subject in by_master.values():
        assert budgets.reserve(subject, Charge(100, 1), PER_MINUTE, WINDOWS, token="before").allowed
        assert items.save(subject, "resp_1", [_message(1)], while_status=ANY)
    cluster.kill(cluster.replica_of(lost))
    cluster.kill(lost)
    cluster.wait_state("fail")

    for subject in by_master.values():
        failed = _outcome(_reserve(budgets, subject, 1, "down"))
        assert isinstance(failed, BudgetStoreError) and not failed.maybe_applied
        assert isinstance(_outcome(lambda: items.load(subject, ["msg_1"])), ItemStoreError)
    up = [port for port in cluster.ports if port not in cluster.stopped]
    connections = [cluster.connections_received(port) for port in up]
    for n in range(10):
        for subject in by_master.values():
            refused = _outcome(_reserve(budgets, subject, 1, f"r{n}"))
            assert isinstance(refused, BudgetStoreError) and str(refused) == "NodeDown"
            assert isinstance(_outcome(_save(items, subject, 2)), ItemStoreError)
    assert [cluster.connections_received(port) for port in up] == connections

    cluster.recover()
    clock[0] += redis_client.DOWN_SECONDS + 0.1
    for master, subject in by_master.items():
        kept = 0 if master == lost else 100
        assert _served(_reserve(budgets, subject, 50, "after"), clock).totals == Totals(kept + 50, kept + 50,
                                                                                      kept // 100 + 1)
        assert _served(_save(items, subject, 3), clock)
        assert items.load(subject, ["msg_1", "msg_3"]) == {**({} if master == lost else {"msg_1": _message(1)}),
                                                             "msg_3": _message(3)}
    assert items.load(by_master[lost], ["resp_3"], RESPONSE)
