"""A background Response names its service tier from the first answer on, as every other Response does: the
in_progress one the client gets at once (and polls) names the tier asked of Bedrock, the finished one the tier
that served it. The pending one had no service_tier, so the OpenAI SDK read None until the call ended."""

import time

import pytest

from tests.e2e.clients import oa


def _finished(stack, response_id: str):
    deadline = time.monotonic() + 15
    while (response := oa(stack).responses.retrieve(response_id)).status in ("queued", "in_progress") \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    return response


@pytest.mark.timeout(60)
@pytest.mark.parametrize("asked, named", [(None, "default"), ("flex", "flex")])
def test_a_background_response_names_its_tier_while_running_and_when_done(stack, asked, named):
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "slow", "delay_s": 1.0, "model": "haiku"})
    tier = {"service_tier": asked} if asked else {}
    started = oa(stack).responses.create(model="haiku", input="Where is order 42?", background=True, **tier)
    assert started.status in ("queued", "in_progress") and started.service_tier == named
    polled = oa(stack).responses.retrieve(started.id)
    assert polled.status in ("queued", "in_progress") and polled.service_tier == named
    done = _finished(stack, started.id)
    assert done.status == "completed" and done.service_tier == named
