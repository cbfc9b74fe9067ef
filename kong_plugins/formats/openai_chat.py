"""OpenAI Chat Completions ⇄ Anthropic Messages (the gateway's internal model).

Requests are converted to the Anthropic shape, which then goes to Bedrock as
it is (Claude via InvokeModel) or through `converse` (other models); responses
and stream events come back in the Anthropic shape and are rendered here as
OpenAI objects. Mapping tables: shared/reference/client-apis.md §3.
"""

from __future__ import annotations

import json
import time
from typing import Any

from kong_plugins.context import Usage
from kong_plugins.formats import custom_tools, documents, openai_settings, reasoning, response_format, tool_history
from kong_plugins.formats import wire_json
from kong_plugins.formats.body import RequestError, load_json_object, require_messages, required_string, whole_number
from kong_plugins.formats.tool_kinds import FUNCTIONS_ONLY, ToolKind, ToolKinds

_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
           "refusal": "content_filter", "model_context_window_exceeded": "length", "pause_turn": "length"}


def parse_request(body: bytes | None, *, model_in_path: bool = False) -> dict[str, Any]:
    """Decode and shape-check an OpenAI Chat Completions request body.

    On routes whose path names the model (`/v1/chat/sonnet`), a body `model` is ignored.
    """
    data = load_json_object(body)
    if model_in_path:
        data.pop("model", None)
    require_messages(data)
    _no_legacy_functions(data)
    choices(data)
    return data


LEGACY_FUNCTIONS = ("functions", "function_call")
"""OpenAI's function calling before `tools` (deprecated since 2023). Ignored, they would let a model answer in
prose to a client waiting for a call: each is a 400 that names its successor."""


def _no_legacy_functions(request: dict[str, Any]) -> None:
    for name in LEGACY_FUNCTIONS:
        if request.get(name) is not None:     # a message's own `function_call: null` (an SDK's dump) is none
            raise RequestError(f"{name}: the deprecated function-calling fields (functions, function_call, the "
                               "function role) are not supported; send tools and tool_choice.", name)


MAX_CHOICES = 8
"""OpenAI's `n` allows 128; each choice is a Bedrock call of its own, billed in full, so the gateway stops at 8."""


def choices(request: dict[str, Any]) -> int:
    """OpenAI's `n`: how many choices to answer with (each its own Bedrock call, sent at once; streamed, their
    chunks interleave, each under its choice's index)."""
    if request.get("n") is None:
        return 1
    return whole_number(request["n"], "n", high=MAX_CHOICES,
                        message=f"n: the gateway answers 1 to {MAX_CHOICES} choices per request.")


def to_anthropic(request: dict[str, Any], default_max_tokens: int) -> dict[str, Any]:
    """The Anthropic Messages request equivalent to an OpenAI chat request."""
    openai_settings.check(request)
    system: list[str] = []
    messages: list[dict[str, Any]] = []
    for i, message in enumerate(request["messages"]):
        if not isinstance(message, dict):
            raise RequestError(f"messages.{i}: must be an object.", f"messages.{i}")
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(_text_only(message.get("content"), f"messages.{i}.content"))
        elif role == "user":
            _append(messages, "user", _user_blocks(message.get("content"), f"messages.{i}.content"))
        elif role == "assistant":
            if message.get("function_call") is not None:
                raise RequestError(f"messages.{i}.function_call: the deprecated function call is not supported; "
                                   "send tool_calls.", f"messages.{i}.function_call")
            _append(messages, "assistant", _assistant_blocks(message, f"messages.{i}"))
        elif role == "function":
            raise RequestError(f"messages.{i}.role: the deprecated function role is not supported; send a tool "
                               "message with the tool_call_id of the call it answers.", f"messages.{i}.role")
        elif role == "tool":
            call_id = required_string(message, "tool_call_id", f"messages.{i}")
            _append(messages, "user", [{"type": "tool_result", "tool_use_id": call_id,
                                        "content": _tool_output(message.get("content"), f"messages.{i}.content")}])
        else:
            raise RequestError(f"messages.{i}.role: unknown role.", f"messages.{i}.role")
    if not messages:
        raise RequestError("messages: at least one user message is required.", "messages")
    out: dict[str, Any] = {"messages": _user_first(messages), "max_tokens": _max_tokens(request, default_max_tokens)}
    if system:
        out["system"] = "\n\n".join(system)
    if request.get("temperature") is not None:   # OpenAI's 0 to 2 (openai_settings), Claude's 0 to 1
        out["temperature"] = min(float(request["temperature"]), 1.0)
    if request.get("top_p") is not None:
        out["top_p"] = float(request["top_p"])
    stop = request.get("stop")
    if stop:
        if not isinstance(stop, str) and not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
            raise RequestError("stop: must be a string or a list of strings.", "stop")
        out["stop_sequences"] = [stop] if isinstance(stop, str) else stop
    if request.get("tools") is not None and not isinstance(request["tools"], list):
        raise RequestError("tools: must be a list.", "tools")
    if request.get("tools"):
        out["tools"] = [_tool(t, i) for i, t in enumerate(request["tools"])]
    choice = _tool_choice(request.get("tool_choice"), request.get("parallel_tool_calls"), out.get("tools") or [])
    if choice and out.get("tools"):   # without tools, nothing to choose from: auto, none and required mean nothing
        out["tool_choice"] = choice
    response_format.apply(request, out)
    if not out.get("tools"):   # OpenAI allows tool calls in a call offering no tools; Bedrock does not
        out["messages"] = tool_history.as_text(out["messages"])
    reasoning.apply_effort(request, out)
    if request.get("stream") is True:
        out["stream"] = True
    return out


OPENING_TURN = "Hello."
"""The user turn put before a conversation that starts with the assistant's (a chatbot's greeting, or a
Conversation whose first user item was deleted): OpenAI takes such a conversation, Bedrock refuses it ("A
conversation must start with a user message"). Short and neutral, as LiteLLM's modify_params does."""


def _user_first(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`messages`, starting with a user turn as Bedrock requires."""
    if messages[0]["role"] == "user":
        return messages
    return [{"role": "user", "content": [{"type": "text", "text": OPENING_TURN}]}, *messages]


def _append(messages: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    """Merge consecutive same-role turns: Claude requires strict alternation."""
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        messages.append({"role": role, "content": blocks})


def _text_only(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_part_text(p, f"{where}.{j}") for j, p in enumerate(content)
                       if isinstance(p, dict) and p.get("type") == "text")
    if content is None:
        return ""
    raise RequestError(f"{where}: must be a string or a list of text parts.", where)


def _tool_output(content: Any, where: str) -> str | list[dict[str, Any]]:
    """A tool message's content as the tool_result's: its parts stay apart (joined, "sunny" and "25C" read
    "sunny25C"), and an image or file a Responses function_call_output returns reaches the model."""
    if content is None:
        return ""
    if isinstance(content, list) and content:
        blocks = _user_blocks(content, where)
        return blocks[0]["text"] if len(blocks) == 1 and blocks[0]["type"] == "text" else blocks
    return _text_only(content, where)


def _user_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise RequestError(f"{where}: must be a string or a list of parts.", where)
    blocks = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            blocks.append({"type": "text", "text": _part_text(part, f"{where}.{j}")})
        elif kind == "image_url":
            blocks.append(_image(_object(part, "image_url", f"{where}.{j}").get("url"), f"{where}.{j}"))
        elif kind == "file":
            blocks.append(documents.from_openai_file(part.get("file"), f"{where}.{j}"))
        else:
            raise RequestError(f"{where}.{j}.type: only text, image_url and file parts are supported.",
                               f"{where}.{j}")
    return blocks


def _part_text(part: dict[str, Any], where: str) -> str:
    """A text part's text: a number or an object is refused, not made text (str() would send what the client
    never wrote, and the guardrails read strings only)."""
    text = part.get("text")
    if not isinstance(text, str):
        raise RequestError(f"{where}.text: must be a string.", f"{where}.text")
    return text


def _image(url: Any, where: str) -> dict[str, Any]:
    parts = documents.split_data_url(url)
    if parts is None:
        raise RequestError(f"{where}.image_url.url: must be a base64 data URL (data:image/png;base64,...).", where)
    return {"type": "image", "source": {"type": "base64", "media_type": parts[0], "data": parts[1]}}


def _assistant_blocks(message: dict[str, Any], where: str) -> list[dict[str, Any]]:
    blocks = reasoning.thinking_blocks(message.get("thinking_blocks"), where)   # first, as Claude wants them
    text = _text_only(message.get("content"), f"{where}.content")
    if text:
        blocks.append({"type": "text", "text": text})
    calls = message.get("tool_calls")
    if calls is not None and not isinstance(calls, list):
        raise RequestError(f"{where}.tool_calls: must be a list.", f"{where}.tool_calls")
    for k, call in enumerate(calls or []):
        blocks.append(_tool_use(call, f"{where}.tool_calls.{k}"))
    return blocks or [{"type": "text", "text": ""}]


def _tool_use(call: Any, where: str) -> dict[str, Any]:
    """An assistant turn's function or custom tool call as the internal model's tool_use block; a call without
    its id or name is refused (Bedrock pairs a result with its call by the id)."""
    if not isinstance(call, dict):
        raise RequestError(f"{where}: must be an object.", where)
    call_id = required_string(call, "id", where)
    if call.get("type") == "custom":
        custom = _object(call, "custom", where)
        return {"type": "tool_use", "id": call_id, "name": required_string(custom, "name", f"{where}.custom"),
                "input": custom_tools.tool_input(custom.get("input"), f"{where}.custom.input")}
    function = _object(call, "function", where)
    name = required_string(function, "name", f"{where}.function")
    return {"type": "tool_use", "id": call_id, "name": name,
            "input": _arguments(function.get("arguments"), f"{where}.function.arguments")}


def _arguments(arguments: Any, where: str) -> dict[str, Any]:
    """A function call's `arguments` (JSON in a string, none meaning {}) as the tool_use input."""
    if arguments is not None and not isinstance(arguments, str):
        raise RequestError(f"{where}: must be a JSON string.", where)
    try:
        value = wire_json.loads_text(arguments or "{}")
    except wire_json.LoneSurrogate:
        raise RequestError(f"{where}: holds invalid Unicode (a lone surrogate).", where) from None
    except (ValueError, RecursionError):
        raise RequestError(f"{where}: must be a JSON string.", where) from None
    return value if isinstance(value, dict) else {}


def _object(obj: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """A nested object the request must have."""
    value = obj.get(key)
    if not isinstance(value, dict):
        raise RequestError(f"{where}.{key}: must be an object.", f"{where}.{key}")
    return value


def _member(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """A nested object of the request, or {} when it is missing or not an object."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _tool(tool: Any, index: int) -> dict[str, Any]:
    if isinstance(tool, dict) and tool.get("type") == "custom":
        return custom_tools.tool_spec(tool, f"tools.{index}")
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise RequestError(f"tools.{index}.function.name: required.", f"tools.{index}")
    out = {"name": function["name"], "input_schema": function.get("parameters") or {"type": "object"}}
    if function.get("description"):
        out["description"] = function["description"]
    strict = function.get("strict")
    if strict not in (None, True, False):
        raise RequestError(f"tools.{index}.function.strict: must be a boolean.", f"tools.{index}")
    if strict:
        out["strict"] = True   # Bedrock's strict tool use: the call's input is held to the schema
    return out


def _tool_choice(choice: Any, parallel: Any, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The internal tool_choice; one naming a tool the request does not offer is refused, as OpenAI refuses it,
    not dropped."""
    if choice in (None, "auto"):
        out: dict[str, Any] | None = {"type": "auto"} if parallel is False else None
    elif choice == "required":
        if not tools:   # the model cannot call a tool it is not offered; answering text would break the contract
            raise RequestError("tool_choice: required needs tools to call; send tools, or leave tool_choice out.",
                               "tool_choice")
        out = {"type": "any"}
    elif choice == "none":
        out = {"type": "none"}
    elif isinstance(choice, dict) and choice.get("type") in ("function", "custom") \
            and isinstance(_member(choice, choice["type"]).get("name"), str):
        out = {"type": "tool", "name": choice[choice["type"]]["name"]}
        if out["name"] not in {tool["name"] for tool in tools}:
            raise RequestError(f"tool_choice.{choice['type']}.name: names no tool in tools.", "tool_choice")
    else:
        raise RequestError("tool_choice: must be none, auto, required, a function or a custom tool.", "tool_choice")
    if out is not None and parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


def _max_tokens(request: dict[str, Any], default: int) -> int:
    value = request.get("max_completion_tokens", request.get("max_tokens"))
    return default if value is None else whole_number(value, "max_completion_tokens")


def openai_usage(usage: Usage) -> dict[str, Any]:
    """OpenAI semantics: prompt_tokens INCLUDES cached tokens (Bedrock's input does not)."""
    return {"prompt_tokens": usage.prompt, "completion_tokens": usage.output, "total_tokens": usage.total,
            "prompt_tokens_details": {"cached_tokens": usage.cache_read, "cache_write_tokens": usage.cache_write}}


def with_choices(completions: list[dict[str, Any]], usage: Usage) -> dict[str, Any]:
    """One completion holding each completion's choice in turn (OpenAI's `n`), with the usage of them all: every
    choice was a Bedrock call that read the prompt, so the prompt is counted once per choice, as it was billed."""
    answered = [{**completion["choices"][0], "index": index} for index, completion in enumerate(completions)]
    return {**completions[0], "choices": answered, "usage": openai_usage(usage)}


def completion_from_message(message: dict[str, Any], usage: Usage, *, model: str, completion_id: str,
                            created: int | None = None, tools: ToolKinds = FUNCTIONS_ONLY) -> dict[str, Any]:
    """`tools`: which tool calls are JSON mode's answer (the message text) or custom tools' (free-form input)."""
    text, calls, thoughts = [], [], []
    content = message.get("content") or []
    for block in content:
        kind = tools.of(block)
        if block.get("type") == "text":
            text.append(block.get("text", ""))
        elif block.get("type") == "thinking":
            thoughts.append(block.get("thinking", ""))
        elif kind is ToolKind.ANSWER:
            text.append(json.dumps(block.get("input") or {}, ensure_ascii=False))
        elif kind is ToolKind.CUSTOM:
            calls.append({"id": block.get("id"), "type": "custom", "custom": {
                "name": block.get("name"), "input": custom_tools.call_input(block.get("input"))}})
        elif kind is ToolKind.FUNCTION:
            calls.append({"id": block.get("id"), "type": "function", "function": {
                "name": block.get("name"), "arguments": json.dumps(block.get("input") or {})}})
    reply: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text or not calls else None,
                             "refusal": None}
    if calls:
        reply["tool_calls"] = calls
    if thoughts:
        reply["reasoning_content"] = "".join(thoughts)   # the field DeepSeek, vLLM and LiteLLM use
    returned = reasoning.returned_blocks(content)
    if returned:
        reply["thinking_blocks"] = returned   # to send back in a tool loop
    return {"id": completion_id, "object": "chat.completion", "created": created or int(time.time()),
            "model": model, "choices": [{"index": 0, "message": reply, "logprobs": None,
                                         "finish_reason": finish_reason(message.get("stop_reason"), bool(calls))}],
            "usage": openai_usage(usage), "system_fingerprint": None}


def finish_reason(stop_reason: Any, tool_calls: bool) -> str:
    """OpenAI's finish_reason for Anthropic's stop_reason. A turn that ended on JSON mode's answer tool (and no
    other call) simply stopped."""
    if stop_reason == "tool_use" and not tool_calls:
        return "stop"
    return _FINISH.get(stop_reason, "stop")
