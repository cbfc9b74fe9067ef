"""The same prompt streamed and not, read with the official SDKs' own stream accumulators (openai's
chat.completions.stream and responses.stream, anthropic's messages.stream): what the accumulator ends with equals
the unstreamed answer field by field, `service_tier` too, for every way an answer ends (text, max tokens, a stop
sequence, tool calls alone or after text, several at once, thinking, structured output) on Converse, InvokeModel
and Mantle models.

Left out of the comparison: ids and times; the split of the prompt between cache reads and writes (the emulator
caches: the second call reads what the first wrote), though the totals must agree; the whitespace inside a call's
arguments (compared as JSON). A tier Bedrock serves on other than the one asked for: test_stream_service_tier."""

import json
import os
import subprocess
from pathlib import Path

import anthropic
import openai
import pytest

pytestmark = pytest.mark.timeout(120)

KEY = "dev-admin-key"   # the role that may use every model
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
NO_ARGUMENTS = {"type": "object", "properties": {}}
FUNCTIONS = {"get_weather": WEATHER, "get_time": NO_ARGUMENTS}
CHAT_TOOLS = [{"type": "function", "function": {"name": n, "parameters": s}} for n, s in FUNCTIONS.items()]
RESPONSES_TOOLS = [{"type": "function", "name": n, "parameters": s} for n, s in FUNCTIONS.items()]
ANTHROPIC_TOOLS = [{"name": n, "input_schema": s} for n, s in FUNCTIONS.items()]
SCHEMA = {"type": "object", "properties": {"sku": {"type": "string"}, "count": {"type": "integer"}},
          "required": ["sku", "count"], "additionalProperties": False}
ASK = "Where is my parcel?"
BOTH = "call get_weather and call get_time"


def _user(text):
    return [{"role": "user", "content": text}]


CHAT = {
    "text": dict(model="sonnet", max_tokens=60, messages=_user(ASK)),
    "max tokens": dict(model="sonnet", max_tokens=4, messages=_user(ASK)),
    "stop sequence": dict(model="sonnet", max_tokens=60, stop=["parcel"], messages=_user(ASK)),
    "tool only": dict(model="sonnet", max_tokens=60, tools=CHAT_TOOLS, tool_choice="required",
                      messages=_user("call get_weather")),
    "text then calls": dict(model="sonnet", max_tokens=60, tools=CHAT_TOOLS, messages=_user(BOTH)),
    "reasoning": dict(model="sonnet", max_tokens=2000, reasoning_effort="low", messages=_user(ASK)),
    "reasoning then a call": dict(model="sonnet", max_tokens=2000, reasoning_effort="low", tools=CHAT_TOOLS,
                                  messages=_user("call get_time")),
    "json schema": dict(model="sonnet", max_tokens=200, messages=_user("Give me a stock line"), response_format={
        "type": "json_schema", "json_schema": {"name": "line", "strict": True, "schema": SCHEMA}}),
    "two choices": dict(model="haiku", max_tokens=20, n=2, messages=_user(ASK)),
    "titan": dict(model="titan", max_tokens=30, messages=_user(ASK)),
    "mantle text": dict(model="opus-4-7", max_tokens=30, messages=_user(ASK)),
    "mantle tool only": dict(model="opus-4-7", max_tokens=60, tools=CHAT_TOOLS, tool_choice="required",
                             messages=_user("call get_weather")),
    "mantle reasoning": dict(model="opus-4-7", max_tokens=2000, reasoning_effort="low", messages=_user(ASK)),
}


@pytest.fixture(scope="module")
def gpt(stack):
    return openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key=KEY, max_retries=0)


def _arguments_as_json(call, field="arguments"):
    call.pop("parsed_arguments", None)
    call[field] = json.loads(call[field])


def _chat_fields(completion):
    data = completion.model_dump(exclude={"id", "created"})
    usage = data["usage"]
    data["usage"] = {k: usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    for choice in data["choices"]:
        choice["message"].pop("parsed", None)
        for call in choice["message"].get("tool_calls") or []:
            call.pop("index", None)
            _arguments_as_json(call["function"])
    return data


@pytest.mark.parametrize("ask", CHAT.values(), ids=CHAT.keys())
def test_chat_stream_helper_ends_with_the_unstreamed_completion(gpt, ask):
    whole = gpt.chat.completions.create(**ask)
    with gpt.chat.completions.stream(**ask, stream_options={"include_usage": True}) as stream:
        streamed = stream.until_done().current_completion_snapshot   # get_final_completion refuses `length`
    assert _chat_fields(streamed) == _chat_fields(whole)


def test_chat_chunks_open_as_openai_opens_a_text_answer_and_a_tool_only_one(gpt):
    """The opening chunk (at Bedrock's messageStart: the 200 and keep-alives go with it) says the role alone; a
    tool-only answer's content stays null beside its call (the Vercel AI SDK made "" an empty text part of the
    step), a text answer's says content "" and text follows."""
    def opening(ask):
        chunks = list(gpt.chat.completions.create(**ask, stream=True))
        return [c.choices[0].delta.model_dump(exclude_unset=True) for c in chunks if c.choices][:3]

    role, call, _ = opening(CHAT["tool only"])
    assert role == {"role": "assistant"} and call == {"tool_calls": [
        {"index": 0, "id": call["tool_calls"][0]["id"], "type": "function",
         "function": {"name": "get_weather", "arguments": ""}}]}
    assert opening(CHAT["text"]) == [{"role": "assistant"}, {"content": ""}, {"content": "Emulated"}]


AI_SDK = Path(os.environ.get("AI_SDK_MODULES") or Path(__file__).resolve().parents[2] / ".dev/ai-sdk/node_modules")
STEP_CONTENT = """
const load = require("module").createRequire(require("path").join(process.argv[1], "package.json"));
const { streamText, generateText, tool } = load("ai");
const model = load("@ai-sdk/openai").createOpenAI({ baseURL: process.argv[2], apiKey: process.argv[3] }).chat("sonnet");
const request = { model, prompt: "call weather", toolChoice: "required", maxRetries: 0,
                  tools: { weather: tool({ inputSchema: load("zod").z.object({ city: load("zod").z.string() }) }) } };
const kinds = (step) => step.content.map((part) => part.type);
(async () => {
  const streamed = streamText(request);
  await streamed.consumeStream();
  const whole = await generateText(request);
  console.log(JSON.stringify({ streamed: kinds((await streamed.steps)[0]), whole: kinds(whole.steps[0]) }));
})();
"""


def test_the_ai_sdk_streams_a_tool_only_step_as_it_answers_it_whole(stack):
    """The Vercel AI SDK's OpenAI Chat provider made the first chunk's content "" a text part: a streamed tool-only
    step held an empty text before its call, the same step answered whole held the call alone."""
    assert (AI_SDK / "ai").is_dir(), f"the AI SDK is not installed at {AI_SDK}: run `make ai-sdk`"
    done = subprocess.run(["node", "-e", STEP_CONTENT, str(AI_SDK), stack.proxy_url + "/v1", KEY],
                          capture_output=True, text=True, timeout=60)
    assert json.loads(done.stdout) == {"streamed": ["tool-call"], "whole": ["tool-call"]}, done.stderr[-2000:]


RESPONSES = {
    "text": dict(model="sonnet", max_output_tokens=60, input=ASK),
    "max tokens": dict(model="sonnet", max_output_tokens=4, input=ASK),
    "tool only": dict(model="sonnet", max_output_tokens=60, tools=RESPONSES_TOOLS, tool_choice="required",
                      input="call get_weather"),
    "text then calls": dict(model="sonnet", max_output_tokens=60, tools=RESPONSES_TOOLS, input=BOTH),
    "reasoning then a call": dict(model="sonnet", max_output_tokens=2000, reasoning={"effort": "low"},
                                  tools=RESPONSES_TOOLS, input="call get_time"),
    "json schema": dict(model="sonnet", max_output_tokens=200, input="Give me a stock line", text={
        "format": {"type": "json_schema", "name": "line", "strict": True, "schema": SCHEMA}}),
    "mantle reasoning": dict(model="opus-4-7", max_output_tokens=2000, reasoning={"effort": "low"}, input=ASK),
}


def _response_fields(response):
    data = response.model_dump(exclude={"id", "created_at"}, exclude_none=True)
    data["usage"] = {k: data["usage"][k] for k in ("input_tokens", "output_tokens", "total_tokens")}
    for item in data["output"]:
        item.pop("id")
        for part in item.get("content") or []:
            part.pop("parsed", None)
        if item["type"] == "function_call":
            _arguments_as_json(item)
    return data


@pytest.mark.parametrize("ask", RESPONSES.values(), ids=RESPONSES.keys())
def test_responses_stream_ends_with_the_unstreamed_response(gpt, ask):
    whole = gpt.responses.create(**ask)
    with gpt.responses.stream(**ask) as stream:
        lifecycle = [event for event in stream if event.type in ("response.completed", "response.incomplete")]
    assert len(lifecycle) == 1 and lifecycle[0].type == f"response.{whole.status}"
    assert _response_fields(lifecycle[0].response) == _response_fields(whole)


ANTHROPIC = {
    "text": dict(model="sonnet", max_tokens=60, messages=_user(ASK)),
    "max tokens": dict(model="sonnet", max_tokens=4, messages=_user(ASK)),
    "stop sequence": dict(model="sonnet", max_tokens=60, stop_sequences=["parcel"], messages=_user(ASK)),
    "tool only": dict(model="sonnet", max_tokens=60, tools=ANTHROPIC_TOOLS, tool_choice={"type": "any"},
                      messages=_user("call get_weather")),
    "thinking then calls": dict(model="sonnet", max_tokens=2000, thinking={"type": "enabled", "budget_tokens": 1024},
                                tools=ANTHROPIC_TOOLS, messages=_user(BOTH)),
    "titan stop sequence": dict(model="titan", max_tokens=60, stop_sequences=["parcel"], messages=_user(ASK)),
    "mantle thinking": dict(model="opus-4-7", max_tokens=2000, thinking={"type": "adaptive"}, messages=_user(ASK)),
}


def _message_fields(message):
    data = message.model_dump(exclude={"id"})
    usage = data["usage"]
    data["usage"] = {"prompt": usage["input_tokens"] + (usage["cache_read_input_tokens"] or 0)
                     + (usage["cache_creation_input_tokens"] or 0), "output": usage["output_tokens"]}
    return data


@pytest.mark.parametrize("ask", ANTHROPIC.values(), ids=ANTHROPIC.keys())
def test_anthropic_stream_helper_ends_with_the_unstreamed_message(stack, ask):
    claude = anthropic.Anthropic(base_url=stack.proxy_url, api_key=KEY, max_retries=0)
    whole = claude.messages.create(**ask)
    with claude.messages.stream(**ask) as stream:
        streamed = stream.get_final_message()
    assert _message_fields(streamed) == _message_fields(whole)
