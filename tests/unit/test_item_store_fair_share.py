"""The memory item store under pressure drops the oldest entry of the consumer that holds the most."""

from kong_plugins.relay.item_store import ENTRY_OVERHEAD, ITEM, MemoryItemStore


def put(store, owner, n, size=400):
    store.put(owner, ITEM, {"id": f"{owner}_{n}", "text": "x" * size})


def held(store, owner, count):
    return sorted(store.load(owner, [f"{owner}_{n}" for n in range(count)]))


def test_one_consumers_volume_pushes_out_its_own_oldest_not_everyone_elses():
    """Exploratory testing: 300 large responses from one key emptied everyone's stored responses."""
    store = MemoryItemStore(10 * (400 + ENTRY_OVERHEAD + 40), 600)
    put(store, "alice", 0)
    put(store, "carol", 0)
    for n in range(50):
        put(store, "bob", n)
    assert held(store, "alice", 1) == ["alice_0"] and held(store, "carol", 1) == ["carol_0"]
    kept = held(store, "bob", 50)
    assert "bob_49" in kept and "bob_0" not in kept and store.size <= store.max_bytes


def test_among_equals_the_heaviest_goes_first_and_the_size_is_accounted_exactly():
    store = MemoryItemStore(3000, 600)
    put(store, "bob", 0)                             # the oldest entry
    put(store, "alice", 0, size=1600)                # the heaviest holder
    put(store, "bob", 1)                             # 3,270 bytes in all: one entry must go
    assert held(store, "alice", 1) == [] and held(store, "bob", 2) == ["bob_0", "bob_1"]
    store.erase("bob", [(ITEM, "bob_0"), (ITEM, "bob_1")])
    assert store.size == 0
