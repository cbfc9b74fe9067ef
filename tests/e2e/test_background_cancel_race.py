"""A background response's end and its cancellation, racing on a shared Redis store from two pods: either
may win, and the cancel's own answer and every later poll agree on which (relay.background: both write
only while the kept response is running, in one WATCHed transaction)."""

import collections
import threading
import uuid

import redis

from kong_plugins.relay import background, item_store
from kong_plugins.relay.redis_item_store import RedisItemStore

RACES = 200


def _race(pod_a: RedisItemStore, pod_b: RedisItemStore) -> tuple[object, object, str]:
    owner = f"c-{uuid.uuid4()}"
    response = background.running(f"resp_{uuid.uuid4().hex}", "haiku", {"background": True, "store": True}, "default")
    item_store.keep(pod_a, owner, None, response, strict=True)
    finished = background.Keeping(pod_a, owner).while_running(None, response["created_at"])
    start, results = threading.Barrier(2), {}

    def end_of_call() -> None:
        start.wait()
        results["kept"] = finished({**response, "status": "completed", "output": [
            {"id": f"msg_{uuid.uuid4().hex}", "type": "message", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "done", "annotations": []}]}]})

    def client_cancels() -> None:
        start.wait()
        results["cancel"] = background.cancel(pod_b, owner, response["id"])

    threads = [threading.Thread(target=end_of_call), threading.Thread(target=client_cancels)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results["kept"], results["cancel"], item_store.retrieve(pod_b, owner, response["id"])["status"]


def test_a_cancel_racing_the_end_of_the_call_and_every_poll_agree_on_who_won(redis_server):
    port, _ = redis_server
    pod_a, pod_b = (RedisItemStore(redis.Redis(port=port), 600) for _ in range(2))
    outcomes = collections.Counter()
    for _ in range(RACES):
        kept, cancel, polled = _race(pod_a, pod_b)
        if polled == "cancelled":
            assert kept is False and isinstance(cancel, dict) and cancel["status"] == "cancelled"
        else:
            assert polled == "completed" and kept is True
            assert isinstance(cancel, str) and "already ended (completed)" in cancel
        outcomes[polled] += 1
    print(f"\n{RACES} races: {dict(outcomes)}")
    assert sum(outcomes.values()) == RACES
