"""`service_tier` on OpenAI streams, as the OpenAI SDK reads it: every Chat chunk names the tier, as OpenAI's do
(the SDK's stream accumulator keeps the first chunk's), and so does the Response in each Responses lifecycle event.

ConverseStream says which tier served the call only in its last event (metadata). Until then the chunks say the
tier the call asked Bedrock for (the client's, else its role's default), which is the one that serves it unless
Bedrock serves it on another (a reservation overflows, here the emulator's `served_tier`): then the chunks from
the finish on, and the Response that completes the stream, say the one Bedrock reports and bills."""

import openai
import pytest

from tests.e2e.clients import request_line

pytestmark = pytest.mark.timeout(60)

ASK = [{"role": "user", "content": "Where is order 42?"}]


@pytest.fixture(scope="module")
def developer(stack):
    return openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-developer-key", max_retries=0)


@pytest.fixture(scope="module")
def ops(stack):
    """A role that may ask for the priority tier."""
    return openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-ops-key", max_retries=0)


@pytest.fixture()
def served_on_standard(stack):
    """Bedrock serves every call on Standard, whatever it asked for (as a reservation overflows)."""
    assert stack.emulator_control("PUT", "/_emulator/settings", json={"served_tier": "default"}).status_code == 200
    yield
    stack.emulator_control("PUT", "/_emulator/settings", json={"served_tier": None})


def _chat_stream(client, **ask):
    """The chunks of a Chat stream and the SDK accumulator's completion."""
    with client.chat.completions.stream(**ask, stream_options={"include_usage": True}) as stream:
        chunks = [event.chunk for event in stream if event.type == "chunk"]
        return chunks, stream.current_completion_snapshot


def _responses_stream(client, **ask):
    """The Responses of a stream's lifecycle events, by event type, and the SDK's final Response."""
    with client.responses.stream(**ask) as stream:
        lifecycle = {event.type: event.response for event in stream if hasattr(event, "response")}
        return lifecycle, stream.get_final_response()


def test_every_chat_chunk_names_the_tier_and_the_accumulator_ends_with_the_unstreamed_one(developer):
    ask = dict(model="haiku", max_tokens=20, messages=ASK, service_tier="flex")
    whole = developer.chat.completions.create(**ask)
    chunks, snapshot = _chat_stream(developer, **ask)
    assert whole.service_tier == "flex" and snapshot.service_tier == whole.service_tier
    assert {chunk.service_tier for chunk in chunks} == {"flex"} and not chunks[-1].choices   # the usage chunk too


def test_each_response_of_a_responses_stream_names_the_tier_as_the_unstreamed_one_does(developer):
    ask = dict(model="haiku", max_output_tokens=20, input="Where is order 42?", service_tier="flex")
    whole = developer.responses.create(**ask)
    lifecycle, final = _responses_stream(developer, **ask)
    assert set(lifecycle) == {"response.created", "response.in_progress", "response.completed"}
    assert {response.service_tier for response in lifecycle.values()} == {"flex"}
    assert final.service_tier == whole.service_tier == "flex"


def test_a_role_default_tier_is_named_though_the_client_asked_for_none(developer):
    chunks, snapshot = _chat_stream(developer, model="haiku", max_tokens=20, messages=ASK)
    assert snapshot.service_tier == "default" and {chunk.service_tier for chunk in chunks} == {"default"}


def test_a_chat_stream_bedrock_serves_on_another_tier_says_so_from_its_finish_on(ops, served_on_standard):
    ask = dict(model="haiku", max_tokens=20, messages=ASK, service_tier="priority")
    assert ops.chat.completions.create(**ask).service_tier == "default"
    chunks, snapshot = _chat_stream(ops, **ask)
    finish = next(i for i, chunk in enumerate(chunks) if chunk.choices and chunk.choices[0].finish_reason)
    assert [chunk.service_tier for chunk in chunks] == ["priority"] * finish + ["default"] * (len(chunks) - finish)
    assert finish > 0 and snapshot.service_tier == "priority"   # the SDK keeps the first chunk's: the tier asked


def test_a_responses_stream_bedrock_serves_on_another_tier_completes_naming_it(ops, served_on_standard):
    ask = dict(model="haiku", max_output_tokens=20, input="Where is order 42?", service_tier="priority")
    assert ops.responses.create(**ask).service_tier == "default"
    lifecycle, final = _responses_stream(ops, **ask)
    assert lifecycle["response.created"].service_tier == lifecycle["response.in_progress"].service_tier == "priority"
    assert lifecycle["response.completed"].service_tier == final.service_tier == "default"


def test_streamed_choices_name_and_are_billed_the_tier_bedrock_served_them_on(stack, ops, served_on_standard):
    with ops.chat.completions.with_streaming_response.create(
            model="haiku", max_tokens=20, messages=ASK, service_tier="priority", n=2, stream=True,
            stream_options={"include_usage": True}) as response:
        chunks = list(response.parse())
        request_id = response.headers["x-kong-request-id"]
    assert not chunks[-1].choices and chunks[-1].service_tier == "default"
    assert request_line(stack, request_id)["service_tier"] == "default"
