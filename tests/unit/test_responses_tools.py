"""Responses API tools Bedrock has no match for: `namespace` groups (flattened and given back) and OpenAI's
hosted tools (left out, or refused). Codex 0.169 sends both with every turn."""

import json

import pytest

from kong_plugins import bedrock_proxy
from kong_plugins.context import Usage
from kong_plugins.formats import responses_render
from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.chat_request import parse_chat
from tests.stream_events import tool_call_stream
from tests.unit.test_bedrock_proxy_decide import CONFIG, PLUGIN, ctx_for

OBJECT = {"type": "object", "properties": {"target": {"type": "string"}}}
AGENTS = {"type": "namespace", "name": "multi_agent_v1", "description": "Tools for spawning and managing sub-agents.",
          "tools": [{"type": "function", "name": "close_agent", "description": "Close an agent.",
                     "parameters": OBJECT, "strict": False},
                    {"type": "custom", "name": "spawn_note", "description": "Free text."}]}
EXEC = {"type": "function", "name": "exec_command", "parameters": OBJECT}


def parse(omit_hosted=True, **fields):
    body = json.dumps({"model": "sonnet", "input": "hi", **fields}).encode()
    return parse_chat(ApiFormat.OPENAI, body, 1024, responses_api=True, omit_hosted_tools=omit_hosted)


def test_a_namespace_becomes_bedrock_tools_named_after_it_with_its_description():
    chat = parse(tools=[EXEC, AGENTS, {"type": "web_search", "external_web_access": False}])
    tools = chat.internal["tools"]
    assert [t["name"] for t in tools] == ["exec_command", "multi_agent_v1__close_agent", "multi_agent_v1__spawn_note"]
    assert tools[1]["description"] == "multi_agent_v1: Tools for spawning and managing sub-agents.\n\nClose an agent."
    assert tools[1]["input_schema"] == OBJECT
    assert chat.omitted_tools == ("web_search",)


def test_calls_to_namespaced_tools_go_back_with_name_and_namespace_apart():
    chat = parse(tools=[EXEC, AGENTS])
    message = {"content": [{"type": "tool_use", "id": "t1", "name": "multi_agent_v1__close_agent",
                            "input": {"target": "a1"}},
                           {"type": "tool_use", "id": "t2", "name": "multi_agent_v1__spawn_note",
                            "input": {"input": "note"}},
                           {"type": "tool_use", "id": "t3", "name": "exec_command", "input": {}}],
               "stop_reason": "tool_use"}
    output = responses_render.response_from_message(message, Usage(), model="m", response_id="r",
                                                    tools=chat.tools)["output"]
    assert [(o["type"], o["name"], o.get("namespace")) for o in output] == [
        ("function_call", "close_agent", "multi_agent_v1"), ("custom_tool_call", "spawn_note", "multi_agent_v1"),
        ("function_call", "exec_command", None)]
    assert output[1]["input"] == "note"


def test_a_streamed_namespaced_call_is_announced_with_its_namespace():
    chat = parse(tools=[AGENTS])
    renderer = responses_render.EventRenderer(model="m", response_id="r", tools=chat.tools)
    events = tool_call_stream("multi_agent_v1__close_agent", ["{\"target\": \"a1\"}"], call_id="t1")
    parsed = [json.loads(f.split(b"\n")[1][6:]) for e in events for f in renderer.render(e, Usage(input=1, output=1))]
    added = next(p for p in parsed if p["type"] == "response.output_item.added")["item"]
    assert (added["name"], added["namespace"]) == ("close_agent", "multi_agent_v1")
    assert parsed[-1]["response"]["output"][0]["namespace"] == "multi_agent_v1"


def test_history_and_tool_choice_name_namespaced_tools_as_the_client_does():
    chat = parse(tools=[EXEC, AGENTS], tool_choice={"type": "function", "name": "close_agent"},
                 input=[{"role": "user", "content": "close it"},
                        {"type": "function_call", "call_id": "c1", "name": "close_agent", "namespace": "multi_agent_v1",
                         "arguments": "{\"target\": \"a1\"}"},
                        {"type": "function_call_output", "call_id": "c1", "output": "closed"},
                        {"type": "custom_tool_call", "call_id": "c2", "name": "spawn_note",
                         "namespace": "multi_agent_v1", "input": "n"},
                        {"type": "custom_tool_call_output", "call_id": "c2", "output": "ok"}])
    calls = [b for m in chat.internal["messages"] for b in m["content"] if b.get("type") == "tool_use"]
    assert [c["name"] for c in calls] == ["multi_agent_v1__close_agent", "multi_agent_v1__spawn_note"]
    assert chat.internal["tool_choice"] == {"type": "tool", "name": "multi_agent_v1__close_agent"}
    explicit = parse(tools=[AGENTS], tool_choice={"type": "function", "name": "close_agent",
                                                  "namespace": "multi_agent_v1"})
    assert explicit.internal["tool_choice"]["name"] == "multi_agent_v1__close_agent"


def test_names_bedrock_would_refuse_or_that_collide_get_a_short_hashed_form_that_still_maps_back():
    long = {"type": "namespace", "name": "mcp.crm-server", "description": "CRM",
            "tools": [{"type": "function", "name": "x" * 60}, {"type": "function", "name": "orders"}]}
    taken = {"type": "function", "name": "mcp_crm__orders"}
    clash = {"type": "namespace", "name": "mcp_crm", "description": "", "tools": [{"type": "function",
                                                                                 "name": "orders"}]}
    chat = parse(tools=[long, taken, clash])
    names = [t["name"] for t in chat.internal["tools"]]
    assert len(set(names)) == 4 and names[2] == "mcp_crm__orders"
    assert all(len(n) <= 64 and n.replace("_", "").replace("-", "").isalnum() for n in names)
    assert chat.tools.client_name(names[0]) == ("mcp.crm-server", "x" * 60)
    assert chat.tools.client_name(names[3]) == ("mcp_crm", "orders")
    assert chat.tools.client_name("mcp_crm__orders") == (None, "mcp_crm__orders")   # the client's own tool


@pytest.mark.parametrize("hosted", ["web_search", "web_search_preview", "web_search_preview_2025_03_11",
                                    "file_search", "code_interpreter", "image_generation", "mcp"])
def test_hosted_tools_are_left_out_and_named_or_refused_when_configured(hosted):
    chat = parse(tools=[EXEC, {"type": hosted}, {"type": hosted}])
    assert [t["name"] for t in chat.internal["tools"]] == ["exec_command"] and chat.omitted_tools == (hosted,)
    with pytest.raises(RequestError) as refused:
        parse(omit_hosted=False, tools=[EXEC, {"type": hosted}])
    assert refused.value.param == "tools.1.type" and "hosted" in str(refused.value)


@pytest.mark.parametrize("built_in", ["local_shell", "shell", "apply_patch", "computer_use_preview",
                                      "web_search\r\nX-Injected: 1"])
def test_built_in_tools_the_client_runs_are_refused_even_when_hosted_ones_are_omitted(built_in):
    with pytest.raises(RequestError) as refused:
        parse(tools=[{"type": built_in}])
    assert refused.value.param == "tools.0.type"


def test_bedrock_proxy_omits_hosted_tools_by_default_and_refuses_them_when_configured():
    body = {"model": "sonnet", "input": "hi", "tools": [EXEC, {"type": "web_search"}]}
    ctx = ctx_for("developer", body)
    assert PLUGIN.decide(ctx, "/v1/responses") is None and ctx.omitted_tools == ("web_search",)
    strict = bedrock_proxy.Plugin({**CONFIG, "openai_hosted_tools": "reject"})
    reply = strict.decide(ctx_for("developer", body), "/v1/responses")
    assert reply.status == 400 and reply.body["error"]["param"] == "tools.1.type"
