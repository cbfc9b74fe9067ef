"""token-meter's budgets and bedrock-proxy's Responses items on a real Redis Cluster (three redis-server masters on
loopback): every key one script, transaction or MGET touches shares a hash slot, subjects spread over the
masters, and a node that hangs costs its own subjects one timeout, not everyone's requests."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from datetime import datetime, timezone

import gevent
import pytest
import redis
from redis.cluster import key_slot

from kong_plugins import redis_client
from kong_plugins.metering.budget import BudgetStoreError, Charge, Totals, Windows
from kong_plugins.metering.limits import Limits
from kong_plugins.metering.redis_budget import RedisBudgetStore
from kong_plugins.relay.item_store import RESPONSE, TURN, ItemStoreError
from kong_plugins.relay.redis_item_store import RedisItemStore
from kong_plugins.schemas import _REDIS
from tests.e2e.test_background_cancel_race import _race
from tests.kong_harness.schema import normalize_field, validate_field
from tests.redis_cluster import LocalCluster, TlsClusterNode
from tests.stack import free_port

WINDOWS = Windows.at(datetime(2026, 11, 24, 12, 0, 5, tzinfo=timezone.utc))
"""Fixed windows: the keys are known, and no minute ends in the middle of a test."""
PER_MINUTE = Limits(tokens_per_minute=1000)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Three masters, and one node over TLS, started together: a new cluster serves only after some 2 s."""
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster"))
    tls = TlsClusterNode(tmp_path_factory.mktemp("tls"))
    try:
        yield cluster.launch(), tls.launch()
    finally:
        cluster.stop()
        tls.stop()


@pytest.fixture(scope="module")
def cluster(servers):
    return servers[0].join()


@pytest.fixture(scope="module")
def tls_node(servers):
    return servers[1].join()


@pytest.fixture()
def clock():
    """The breakers' clock, moved by hand: how long a failed node is left alone is not timed."""
    return [100.0]


@pytest.fixture()
def budgets(cluster, clock):
    cluster.flush()
    return RedisBudgetStore(redis_client.from_record(cluster.record(), clock=lambda: clock[0]))


def _subjects_by_node(cluster: LocalCluster) -> dict[int, str]:
    """One consumer id per master, as hash slots fall."""
    found: dict[int, str] = {}
    while len(found) < len(cluster.ports):
        subject = str(uuid.uuid4())
        found.setdefault(cluster.port_of("{" + subject + "}"), subject)
    return found


def test_each_subjects_counters_and_marker_sit_together_and_subjects_spread_over_the_masters(cluster, budgets):
    by_node = _subjects_by_node(cluster)
    for subject in by_node.values():
        assert budgets.reserve(subject, Charge(300, 20), PER_MINUTE, WINDOWS, token="t1").allowed
    for port, subject in by_node.items():
        assert cluster.keys_on(port) == [f"kbg:{{{subject}}}:d:20261124", f"kbg:{{{subject}}}:m:202611241200",
                                         f"kbg:{{{subject}}}:r:t1", f"kbg:{{{subject}}}:u:202611"]
        assert budgets.totals(subject, WINDOWS) == Totals(300, 300, 20)


def test_a_reservation_is_refused_past_the_limit_and_a_settle_counts_once(budgets):
    subject = str(uuid.uuid4())
    assert budgets.reserve(subject, Charge(600, 40), PER_MINUTE, WINDOWS, token="a").allowed
    refused = budgets.reserve(subject, Charge(600, 40), PER_MINUTE, WINDOWS, token="b")
    assert not refused.allowed and refused.exceeded == "tokens_per_minute" and refused.totals.minute_tokens == 600
    assert budgets.adjust(subject, WINDOWS, Charge(-450, -30), token="a") == Totals(150, 150, 10)
    assert budgets.adjust(subject, WINDOWS, Charge(-450, -30), token="a") == Totals(150, 150, 10)   # a replay
    assert budgets.reserve(subject, Charge(800, 5), PER_MINUTE, WINDOWS, token="c").allowed


def test_a_cancel_takes_a_reservation_back_and_voids_one_still_on_its_way(budgets):
    subject = str(uuid.uuid4())
    budgets.reserve(subject, Charge(200, 9), PER_MINUTE, WINDOWS, token="made")
    budgets.cancel(subject, WINDOWS, Charge(200, 9), token="made")
    budgets.cancel(subject, WINDOWS, Charge(300, 9), token="late")      # its reserve timed out, then arrives
    assert not budgets.reserve(subject, Charge(300, 9), PER_MINUTE, WINDOWS, token="late").allowed
    assert budgets.totals(subject, WINDOWS) == Totals(0, 0, 0)


def test_a_hung_node_costs_its_subjects_one_timeout_and_the_others_nothing(cluster, budgets, clock):
    by_node = _subjects_by_node(cluster)
    hung_port, other_port = cluster.ports[0], cluster.ports[1]
    hung, other = by_node[hung_port], by_node[other_port]
    for subject in (hung, other):
        budgets.reserve(subject, Charge(100, 1), PER_MINUTE, WINDOWS, token="before")
    before = cluster.connections_received(hung_port)
    cluster.pause(hung_port)
    try:
        with pytest.raises(BudgetStoreError) as timed_out:
            budgets.reserve(hung, Charge(100, 1), PER_MINUTE, WINDOWS, token="stalled")
        refused = []
        for n in range(20):
            with pytest.raises(BudgetStoreError) as down:
                budgets.reserve(hung, Charge(1, 1), PER_MINUTE, WINDOWS, token=f"r{n}")
            refused.append(down.value)
            assert budgets.reserve(other, Charge(1, 1), PER_MINUTE, WINDOWS, token=f"o{n}").allowed
    finally:
        cluster.resume(hung_port)
    assert timed_out.value.maybe_applied                       # Redis may run it yet: the meter calls it off
    assert all(str(e) == "NodeDown" and not e.maybe_applied for e in refused)
    assert cluster.connections_received(hung_port) - before <= 1   # the 20 others never reached the node
    assert budgets.totals(other, WINDOWS).minute_tokens == 120
    clock[0] += redis_client.DOWN_SECONDS + 0.1                  # the node is tried again
    budgets.cancel(hung, WINDOWS, Charge(100, 1), token="stalled")
    assert budgets.totals(hung, WINDOWS) == Totals(100, 100, 1)


def _layout_reads_and_connections(cluster: LocalCluster, ports: list[int]) -> tuple[int, int]:
    """CLUSTER SLOTS the nodes on `ports` answered, and connections they accepted, since they started."""
    reads = sum(int(cluster.admin(port).info("commandstats").get("cmdstat_cluster|slots", {}).get("calls", 0))
                for port in ports)
    return reads, sum(cluster.connections_received(port) for port in ports)


def test_calls_refused_by_a_nodes_breaker_cost_the_other_nodes_nothing(cluster, budgets):
    """A call the breaker refuses does not read the cluster's layout again: redis-py would, on every refusal,
    ask a healthy node for CLUSTER SLOTS and drop that node's pooled connections (new connections, on
    ElastiCache a TLS handshake and AUTH each, for the consumers whose keys the healthy nodes hold)."""
    by_node = _subjects_by_node(cluster)
    hung_port, healthy = cluster.ports[0], list(cluster.ports[1:])
    for subject in by_node.values():
        budgets.reserve(subject, Charge(1, 1), PER_MINUTE, WINDOWS, token="before")
    cluster.pause(hung_port)
    try:
        with pytest.raises(BudgetStoreError):
            budgets.reserve(by_node[hung_port], Charge(1, 1), PER_MINUTE, WINDOWS, token="stalled")
        for port in healthy:    # the layout read after the timeout left these nodes' pools to reconnect
            budgets.reserve(by_node[port], Charge(1, 1), PER_MINUTE, WINDOWS, token="after")
        reads, connections = _layout_reads_and_connections(cluster, healthy)
        for n in range(20):
            with pytest.raises(BudgetStoreError, match="NodeDown"):
                budgets.reserve(by_node[hung_port], Charge(1, 1), PER_MINUTE, WINDOWS, token=f"r{n}")
            for port in healthy:
                assert budgets.reserve(by_node[port], Charge(1, 1), PER_MINUTE, WINDOWS, token=f"o{n}").allowed
    finally:
        cluster.resume(hung_port)
    assert _layout_reads_and_connections(cluster, healthy) == (reads, connections)


def test_a_node_down_keeps_no_one_elses_budget_from_nodes_that_never_ran_the_scripts(cluster, budgets):
    """A node that lacks the budget scripts (new, restarted, a replica just promoted) gets them with the call:
    redis-py's own answer to NOSCRIPT loads them on every master, and one master down then failed the
    consumers of all the others for as long as it stayed down."""
    by_node = _subjects_by_node(cluster)
    hung_port = cluster.ports[0]
    assert budgets.totals(by_node[hung_port], WINDOWS) == Totals(0, 0, 0)   # the client knows the cluster
    for port in cluster.ports:
        cluster.admin(port).script_flush()
    cluster.pause(hung_port)
    try:
        with pytest.raises(BudgetStoreError):
            budgets.reserve(by_node[hung_port], Charge(1, 1), PER_MINUTE, WINDOWS, token="stalled")
        for port in cluster.ports[1:]:
            assert budgets.reserve(by_node[port], Charge(5, 1), PER_MINUTE, WINDOWS, token="t").allowed
            assert budgets.adjust(by_node[port], WINDOWS, Charge(-2, 0), token="t").minute_tokens == 3
    finally:
        cluster.resume(hung_port)


def test_a_cluster_down_when_the_plugin_starts_is_a_store_error_per_call_not_a_broken_plugin():
    nowhere = {"host": "127.0.0.1", "port": free_port(), "cluster": True}
    budgets = RedisBudgetStore.connect(nowhere)                 # made without reaching Redis
    items = RedisItemStore.connect(nowhere, 600)
    with pytest.raises(BudgetStoreError, match="ConnectionError"):
        budgets.reserve("s", Charge(1, 1), PER_MINUTE, WINDOWS, token="t")
    with pytest.raises(BudgetStoreError):
        budgets.totals("s", WINDOWS)
    with pytest.raises(ItemStoreError):
        items.load("owner", ["msg_1"])


def test_a_startup_node_that_is_down_is_passed_over_for_the_cluster_nodes_listed(cluster, budgets):
    """`host` names a node that is down as the plugin server starts: the cluster is learned from `cluster_nodes`
    (it was a store error on every call, whichever node held the keys, until that one node came back)."""
    down = {**cluster.record(), "port": free_port(), "cluster_nodes": [{"ip": "127.0.0.1", "port": cluster.ports[1]}]}
    started = RedisBudgetStore.connect(down)
    started.reserve("startup-subject", Charge(3, 0), PER_MINUTE, WINDOWS, token="t")
    assert budgets.totals("startup-subject", WINDOWS).minute_tokens == 3    # the same counters, seen by another
    alone = RedisBudgetStore.connect({**down, "cluster_nodes": []})
    with pytest.raises(BudgetStoreError, match="ConnectionError"):
        alone.totals("startup-subject", WINDOWS)


def test_calls_that_arrive_while_the_cluster_client_is_made_wait_for_it(monkeypatch):
    """The client is made at the first call, reading the cluster's layout (network I/O, where gevent runs other
    greenlets): the calls that arrive meanwhile share it, rather than each making a client of its own."""
    lazy = redis_client.from_record({"host": "127.0.0.1", "port": free_port(), "cluster": True})
    made: list[object] = []

    def make_slowly() -> object:
        gevent.sleep(0.05)          # as a layout read over the network yields
        made.append(object())
        return made[-1]

    monkeypatch.setattr(lazy, "_make", make_slowly)
    callers = [gevent.spawn(lazy.cluster) for _ in range(5)]
    gevent.joinall(callers, raise_error=True)
    assert len(made) == 1 and {caller.value for caller in callers} == {made[0]}


def test_a_cluster_over_tls_with_a_password_checks_the_nodes_certificate(tls_node, monkeypatch):
    """`ssl` and `password` on a cluster as on one server (ElastiCache's in-transit encryption and AUTH): a node
    whose certificate no trusted CA signed is refused; trusted (here through OpenSSL's SSL_CERT_FILE), budgets go
    through."""
    record = {"host": "127.0.0.1", "port": tls_node.port, "cluster": True, "ssl": True, "password": tls_node.password}
    with pytest.raises(BudgetStoreError, match="ConnectionError"):
        RedisBudgetStore.connect(record).reserve("s", Charge(1, 1), PER_MINUTE, WINDOWS, token="t")
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_node.ca))
    with pytest.raises(BudgetStoreError):
        RedisBudgetStore.connect({**record, "password": "wrong"}).reserve("s", Charge(1, 1), PER_MINUTE, WINDOWS)
    budgets = RedisBudgetStore.connect(record)
    assert budgets.reserve("s", Charge(7, 1), PER_MINUTE, WINDOWS, token="t").totals.minute_tokens == 7


def test_one_server_keeps_the_key_names_a_running_deployment_has(tmp_path):
    """An upgrade must not restart the current windows from zero: without `cluster`, the keys are today's."""
    port = free_port()
    server = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save",
                               "", "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        admin = redis.Redis(port=port)
        _ready(admin)
        admin.set("kbg:consumer-1:d:20261124", 700)              # written by the release before this one
        budgets = RedisBudgetStore.connect({"host": "127.0.0.1", "port": port})
        assert budgets.totals("consumer-1", WINDOWS).day_tokens == 700
        budgets.reserve("consumer-1", Charge(5, 1), Limits(tokens_per_day=1000), WINDOWS, token="t")
        assert sorted(admin.keys("*")) == [b"kbg:consumer-1:d:20261124", b"kbg:consumer-1:m:202611241200",
                                           b"kbg:consumer-1:r:t", b"kbg:consumer-1:u:202611"]
    finally:
        server.kill()
        server.wait()


def _ready(admin: redis.Redis) -> None:
    for _ in range(200):
        try:
            admin.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("redis-server did not start")


@pytest.fixture()
def items(cluster):
    cluster.flush()
    return RedisItemStore.connect(cluster.record(), 600)


def test_an_owners_response_index_items_and_turn_sit_together_and_load_in_one_call(cluster, items):
    message = {"id": "msg_1", "type": "message", "role": "assistant", "content": []}
    call = {"id": "fc_1", "type": "function_call", "name": "f", "arguments": "{}", "call_id": "c1"}
    for owner in ("", "consumer-a", "consumer-b"):              # "": a request with no consumer
        assert items.save(owner, "resp_1", [message, call], turn={"id": "resp_1", "input": []},
                          while_status=frozenset({None}))       # WATCH/MULTI over all of them
        assert items.load(owner, ["msg_1", "fc_1", "msg_9"]) == {"msg_1": message, "fc_1": call}
    owners = {"": "-", "consumer-a": "consumer-a", "consumer-b": "consumer-b"}
    for tag in owners.values():
        node = cluster.keys_on(cluster.port_of("{" + tag + "}"))
        assert {f"kbg:{kind}:{{{tag}}}:{key}" for kind, key in
                [("item", "msg_1"), ("item", "fc_1"), (TURN, "resp_1"), (RESPONSE, "resp_1")]} <= set(node)
    assert items.delete("consumer-a", "resp_1")
    assert items.load("consumer-a", ["msg_1", "fc_1"]) == {} and items.load("consumer-b", ["msg_1"])


def test_a_transaction_follows_a_slot_that_moved(items):
    """A reshard or a failover moves a slot: the client's layout names the old master until it answers MOVED.
    Plain commands and pipelines follow it; a WATCH/MULTI is retried once the layout is patched (it failed, and
    a background response finishing then was never kept)."""
    message = {"id": "msg_1", "type": "message", "role": "assistant", "content": []}
    assert items.load("consumer-a", ["msg_1"]) == {}                  # the client has read the layout
    layout = items._client.cluster().nodes_manager
    slot = key_slot(b"{consumer-a}")
    layout.slots_cache[slot] = [next(node for node in layout.nodes_cache.values()
                                     if node.name != layout.slots_cache[slot][0].name)]
    assert items.save("consumer-a", "resp_1", [message], while_status=frozenset({None}))
    assert items.load("consumer-a", ["msg_1"]) == {"msg_1": message}


def test_a_conversations_list_grows_and_shrinks_on_the_cluster(items):
    items.extend("consumer-a", "conversation_items", "conv_1", [{"id": "m1"}, {"id": "m2"}])
    assert items.remove("consumer-a", "conversation_items", "conv_1", lambda item: item["id"] == "m1")
    assert items.entries("consumer-a", "conversation_items", "conv_1") == [{"id": "m2"}]


def test_a_cancel_racing_the_end_of_a_background_call_has_one_winner_on_the_cluster(cluster, items):
    """relay.background's WATCHed transaction, from two pods' clients at once."""
    other_pod = RedisItemStore.connect(cluster.record(), 600)
    outcomes = [_race(items, other_pod) for _ in range(20)]
    for kept, cancel, polled in outcomes:
        assert (polled, kept) in {("cancelled", False), ("completed", True)}
        assert (isinstance(cancel, dict) and cancel["status"] == "cancelled") == (polled == "cancelled")


@pytest.mark.parametrize("record, refused", [
    ({"cluster": True, "cluster_nodes": [{"ip": "10.0.0.7", "port": 7000}, {"ip": "10.0.0.8"}]}, None),
    ({"cluster": False, "cluster_nodes": [{"ip": "10.0.0.7"}]}, "cluster_nodes"),   # would be ignored: refused
    ({"cluster": True, "cluster_nodes": [{"port": 7000}]}, "cluster_nodes"),
    ({"cluster": True, "database": 3}, "database"),
    ({"cluster": False, "database": 3}, None),
])
def test_kong_refuses_a_redis_record_whose_cluster_fields_would_be_ignored_or_wrong(record, refused):
    errors = validate_field(normalize_field("redis", _REDIS), record)
    assert (errors is None) if refused is None else (refused in errors)
