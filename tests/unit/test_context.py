from kong_plugins.context import Consumer, ContextStore


def make_store(**kw):
    return ContextStore(**kw)


def test_consumer_role_comes_from_tag_prefix():
    c = Consumer.from_pdk({"id": "c1", "username": "u", "tags": ["team:x", "role:developer"]})
    assert c.role("role:") == "developer"
    assert Consumer.from_pdk({"id": "c2", "tags": None}).role("role:") is None
    assert Consumer.from_pdk(None) is None


def test_an_armed_context_is_claimed_once():
    store = make_store()
    ctx = store.create("rid-1", consumer=None, body=b"{}")
    assert store.claim("rid-1") is None        # not armed by bedrock-proxy
    store.arm(ctx)
    assert store.claim("rid-1") is ctx
    assert store.claim("rid-1") is None        # replay refused
    assert store.claim("guess") is None


def test_context_expires_and_store_is_bounded():
    store = make_store(max_entries=3, ttl_seconds=60)
    for i in range(5):
        store.create(f"r{i}", consumer=None, body=None)
    assert len(store) == 3 and store.get("r0") is None and store.get("r4") is not None
    expired = make_store(ttl_seconds=0)
    ctx = expired.create("old", consumer=None, body=None)
    ctx.created_at -= 1
    expired.arm(ctx)
    assert expired.claim("old") is None


def test_a_popped_context_cannot_be_claimed():
    store = make_store()
    ctx = store.create("r", consumer=None, body=None)
    store.arm(ctx)
    store.pop("r")
    assert store.claim("r") is None


def test_a_context_the_relay_still_serves_outlives_the_ttl_and_the_expired_ones_behind_it_go():
    """A 64k-token stream lasts over 15 minutes: its context must be there for token-meter's log phase."""
    store = make_store(ttl_seconds=900)
    streaming = store.create("long-stream", consumer=None, body=None)
    streaming.relay_active = True
    abandoned = store.create("never-logged", consumer=None, body=None)
    for ctx in (streaming, abandoned):
        ctx.created_at -= 960
    store.create("next-request", consumer=None, body=None)           # arrives 16 minutes later
    assert store.get("never-logged") is None and store.get("long-stream") is streaming
    streaming.relay_done()
    store.create("later", consumer=None, body=None)
    assert store.pop("long-stream") is None                           # done, and past its time: dropped


def test_the_size_bound_holds_for_contexts_the_relay_serves_too():
    store = make_store(max_entries=2)
    for i in range(3):
        store.create(f"s{i}", consumer=None, body=None).relay_active = True
    assert len(store) == 2 and store.get("s0") is None
