"""relay.background's pure parts: the running and failed Responses, cancelling, and a lost call."""

import uuid

from kong_plugins.formats.errors import ErrorKind
from kong_plugins.relay import background, item_store
from kong_plugins.relay.item_store import MemoryItemStore


def _kept(status="in_progress", **extra):
    store, owner = MemoryItemStore(1 << 20, 600), f"c-{uuid.uuid4()}"
    response = {**background.running(f"resp_{uuid.uuid4().hex}", "haiku", {"background": True, "store": True},
                                     "default"), **extra}
    if status != "in_progress":
        response["status"] = status
    item_store.keep(store, owner, None, response)
    return store, owner, response


def test_a_running_response_has_no_output_or_usage_yet_and_a_failed_one_says_why():
    running = background.running("resp_1", "haiku", {"background": True}, "flex")
    assert (running["status"], running["output"], running["usage"], running["background"]) == \
        ("in_progress", [], None, True)
    assert running["service_tier"] == "flex"   # the tier asked of Bedrock, from the first answer on
    failed = background.failed(running, ErrorKind.RATE_LIMITED, "Bedrock is throttling.")
    assert failed["status"] == "failed" and failed["error"] == {"code": "rate_limit_exceeded",
                                                               "message": "Bedrock is throttling."}
    assert failed["service_tier"] == "flex"


def test_cancel_marks_a_running_response_once_and_refuses_the_rest():
    store, owner, response = _kept()
    assert background.cancel(store, owner, response["id"])["status"] == "cancelled"
    assert item_store.retrieve(store, owner, response["id"])["status"] == "cancelled"
    assert background.cancel(store, owner, response["id"])["status"] == "cancelled"        # idempotent
    assert background.cancel(store, "someone-else", response["id"]) is None                # another key's: 404
    done_store, done_owner, done = _kept("completed")
    assert "already ended (completed)" in background.cancel(done_store, done_owner, done["id"])
    plain_store, plain_owner, plain = _kept(background=False)
    assert "background: true" in background.cancel(plain_store, plain_owner, plain["id"])


def test_the_finished_response_is_kept_with_its_first_created_at_only_while_it_runs():
    store, owner, response = _kept()
    finished = background.Keeping(store, owner).while_running(None, 111)
    assert finished({**response, "status": "completed", "created_at": 999}) is True
    kept = item_store.retrieve(store, owner, response["id"])
    assert (kept["status"], kept["created_at"]) == ("completed", 111)
    assert "already ended (completed)" in background.cancel(store, owner, response["id"])   # too late to cancel
    assert item_store.retrieve(store, owner, response["id"])["status"] == "completed"

    store, owner, response = _kept()
    assert background.cancel(store, owner, response["id"])["status"] == "cancelled"
    finished = background.Keeping(store, owner).while_running(None, 111)
    assert finished({**response, "status": "completed"}) is False                # cancelled first: dropped
    assert item_store.retrieve(store, owner, response["id"])["status"] == "cancelled"


def test_a_conditional_save_checks_the_kept_status_first():
    store, owner, response = _kept()
    running = frozenset({"in_progress"})
    done = {**response, "status": "completed"}
    assert item_store.keep(store, owner, None, done, while_status=running) is True
    assert item_store.keep(store, owner, None, {**response, "status": "failed"}, while_status=running) is False
    assert item_store.retrieve(store, owner, response["id"])["status"] == "completed"
    assert item_store.keep(store, owner, None, {**done, "id": "resp_never_kept"}, while_status=running) is False
    assert item_store.retrieve(store, owner, "resp_never_kept") is None
    assert item_store.keep(store, owner, None, {**response, "status": "failed"}) is True    # no condition: kept


def test_a_response_still_running_long_after_any_call_would_end_was_lost():
    response = background.running("resp_2", "haiku", {"background": True}, "default")
    created = response["created_at"]
    assert background.as_seen(response, created + 60) is response
    lost = background.as_seen(response, created + background.LOST_AFTER_SECONDS + 1)
    assert lost["status"] == "failed" and "restarted" in lost["error"]["message"]
    finished = {**response, "status": "completed"}
    assert background.as_seen(finished, created + 10 * background.LOST_AFTER_SECONDS) is finished
