"""A conversation's item deleted (or its metadata changed) on one pod while another pod adds the turn a
response just finished, on a shared Redis: the added items are never lost (relay.conversation_store reads and
rewrites the items in one WATCHed transaction)."""

import threading
import uuid

import redis

from kong_plugins.relay import conversation_store
from kong_plugins.relay.redis_item_store import RedisItemStore

ROUNDS = 40


def _message(text: str) -> dict:
    return {"id": f"msg_{uuid.uuid4().hex}", "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": text}]}


def test_items_added_while_another_pod_deletes_one_or_renames_the_conversation_are_all_kept(redis_server):
    port, _ = redis_server
    pod_a, pod_b = (RedisItemStore(redis.Redis(port=port), 600) for _ in range(2))
    owner = f"c-{uuid.uuid4()}"
    doomed = [_message(f"old {n}") for n in range(ROUNDS)]
    conversation = conversation_store.create(pod_a, owner, {"topic": "orders"}, doomed)
    added: list[dict] = []
    start = threading.Barrier(2)

    def turns_finishing() -> None:
        start.wait()
        for n in range(ROUNDS):
            turn = [_message(f"question {n}"), _message(f"answer {n}")]
            assert conversation_store.append(pod_a, owner, conversation["id"], turn)
            added.extend(turn)

    def deleting_and_renaming() -> None:
        start.wait()
        for n, item in enumerate(doomed):
            assert conversation_store.remove_item(pod_b, owner, conversation["id"], item["id"])[1] is True
            conversation_store.update(pod_b, owner, conversation["id"], {"topic": f"orders {n}"})

    threads = [threading.Thread(target=turns_finishing), threading.Thread(target=deleting_and_renaming)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    kept = conversation_store.items(pod_a, owner, conversation["id"])
    assert [item["id"] for item in kept] == [item["id"] for item in added]     # every turn, in order; no old one
    assert conversation_store.get(pod_b, owner, conversation["id"])["metadata"] == {"topic": f"orders {ROUNDS - 1}"}
