"""OpenAI Responses API (`POST /v1/responses`) requests, as the Chat Completions request they equal.

Input items become messages, `instructions` a system message, `text.format` the
response_format, `reasoning.effort` the reasoning_effort and flat function and custom tools
nested ones; `openai_chat.to_anthropic` then maps that onto the internal model, so one mapping
serves both OpenAI APIs. Replies are rendered by `responses_render`.

The gateway keeps no state, so `previous_response_id`, `conversation` and stored prompts
are refused (send the whole conversation in `input`), as are OpenAI's hosted tools (web and
file search, code interpreter...), which Bedrock does not run.
"""

from __future__ import annotations

from typing import Any

from kong_plugins.formats import documents, reasoning
from kong_plugins.formats.body import RequestError, load_json_object

_STATEFUL = ("previous_response_id", "conversation", "prompt")
_COPIED = ("model", "temperature", "top_p", "stream", "parallel_tool_calls", "service_tier", "safety_identifier",
           "user", "metadata")
_ROLES = ("user", "assistant", "system", "developer")


def chat_request(body: bytes | None) -> dict[str, Any]:
    """The Chat Completions request equivalent to a Responses request body."""
    data = load_json_object(body)
    for field in _STATEFUL:
        if data.get(field) is not None:
            raise RequestError(f"{field}: the gateway stores no responses or prompts; send the whole "
                               "conversation in input.", field)
    if data.get("background"):
        raise RequestError("background: background responses are not supported by the gateway.", "background")
    messages: list[dict[str, Any]] = []
    instructions = data.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise RequestError("instructions: must be a string.", "instructions")
        messages.append({"role": "system", "content": instructions})
    messages.extend(_messages(data.get("input")))
    chat: dict[str, Any] = {k: data[k] for k in _COPIED if k in data}
    chat["messages"] = messages
    if data.get("max_output_tokens") is not None:
        chat["max_completion_tokens"] = data["max_output_tokens"]
    if data.get("tools"):
        if not isinstance(data["tools"], list):
            raise RequestError("tools: must be a list.", "tools")
        chat["tools"] = [_tool(tool, i) for i, tool in enumerate(data["tools"])]
    if data.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(data["tool_choice"])
    text_format = _member(data, "text", "format")
    if text_format is not None:
        chat["response_format"] = _response_format(text_format)
    effort = _member(data, "reasoning", "effort")
    if effort is not None:
        chat["reasoning_effort"] = effort
    return chat


def _member(data: dict[str, Any], field: str, key: str) -> Any:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RequestError(f"{field}: must be an object.", field)
    return value.get(key)


def _messages(items: Any) -> list[dict[str, Any]]:
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise RequestError("input: must be a string or a non-empty list of items.", "input")
    out: list[dict[str, Any]] = []
    thinking: list[dict[str, Any]] = []      # reasoning items' blocks, for the assistant turn they precede
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("type") == "reasoning":
            if item.get("encrypted_content") is not None:
                thinking += reasoning.decode_blocks(item["encrypted_content"])
            continue   # without it, Claude's thinking cannot be rebuilt from a summary: the turn goes on without
        message = _item(item, f"input.{i}")
        if thinking and message["role"] == "assistant":
            message["thinking_blocks"], thinking = thinking, []
        out.append(message)
    return out


def _item(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise RequestError(f"{where}: must be an object.", where)
    kind = item.get("type", "message")
    if kind == "message":
        if item.get("role") not in _ROLES:
            raise RequestError(f"{where}.role: must be one of {', '.join(_ROLES)}.", f"{where}.role")
        return {"role": item["role"], "content": _content(item.get("content"), f"{where}.content")}
    if kind == "function_call":
        return {"role": "assistant", "content": None, "tool_calls": [{
            "id": _string(item, "call_id", where), "type": "function",
            "function": {"name": _string(item, "name", where), "arguments": item.get("arguments") or "{}"}}]}
    if kind == "custom_tool_call":
        return {"role": "assistant", "content": None, "tool_calls": [{
            "id": _string(item, "call_id", where), "type": "custom",
            "custom": {"name": _string(item, "name", where), "input": _text(item, "input", where)}}]}
    if kind in ("function_call_output", "custom_tool_call_output"):
        return {"role": "tool", "tool_call_id": _string(item, "call_id", where),
                "content": _content(item.get("output"), f"{where}.output")}
    raise RequestError(f"{where}.type: {kind!r} items are not supported by the gateway.", f"{where}.type")


def _string(item: dict[str, Any], key: str, where: str) -> str:
    if not isinstance(item.get(key), str) or not item[key]:
        raise RequestError(f"{where}.{key}: required.", f"{where}.{key}")
    return item[key]


def _text(item: dict[str, Any], key: str, where: str) -> str:
    if not isinstance(item.get(key), str):
        raise RequestError(f"{where}.{key}: must be a string.", f"{where}.{key}")
    return item[key]


def _content(content: Any, where: str) -> Any:
    """Responses content parts as Chat Completions parts (text and data-URL images)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise RequestError(f"{where}: must be a string or a list of parts.", where)
    parts = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text") and isinstance(part.get("text"), str):
            parts.append({"type": "text", "text": part["text"]})
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            parts.append({"type": "text", "text": part["refusal"]})
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            parts.append({"type": "image_url", "image_url": {"url": part["image_url"]}})
        elif kind == "input_file" and part.get("file_data") is not None:
            documents.document_head(part["file_data"], f"{where}.{j}")     # the 400 names the client's part
            parts.append({"type": "file", "file": {"file_data": part["file_data"]}})
        elif kind == "input_file":
            raise RequestError(f"{where}.{j}: send the file as file_data (a base64 data URL); the gateway stores no "
                               "files, so file_id and file_url cannot be used.", f"{where}.{j}")
        else:
            raise RequestError(f"{where}.{j}: only input_text, output_text, input_image and input_file parts (as "
                               "data URLs) are supported.", f"{where}.{j}")
    return parts


def _tool(tool: Any, index: int) -> dict[str, Any]:
    kind = tool.get("type") if isinstance(tool, dict) else None
    if kind == "custom":
        return {"type": "custom", "custom": {"name": tool.get("name"), "description": tool.get("description"),
                                             "format": _custom_format(tool.get("format"))}}
    if kind != "function":
        raise RequestError(f"tools.{index}.type: only function and custom tools are supported ({kind!r} is a "
                           "hosted OpenAI tool Bedrock does not run).", f"tools.{index}.type")
    function = {k: tool[k] for k in ("name", "parameters", "description", "strict") if tool.get(k) is not None}
    return {"type": "function", "function": function}


def _custom_format(fmt: Any) -> Any:
    """Responses' flat grammar format (`{"type": "grammar", "syntax", "definition"}`) nested as Chat's."""
    if isinstance(fmt, dict) and fmt.get("type") == "grammar":
        return {"type": "grammar", "grammar": {"syntax": fmt.get("syntax"), "definition": fmt.get("definition")}}
    return fmt


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict) and choice.get("type") in ("function", "custom"):
        return {"type": choice["type"], choice["type"]: {"name": choice.get("name")}}
    if choice in ("none", "auto", "required"):
        return choice
    raise RequestError("tool_choice: must be none, auto, required or {\"type\": \"function\" or \"custom\", "
                       "\"name\": ...}.", "tool_choice")


def _response_format(fmt: Any) -> dict[str, Any]:
    """`text.format` is flat (`{"type": "json_schema", "name", "schema"}`); response_format nests the schema."""
    if not isinstance(fmt, dict):
        raise RequestError("text.format: must be an object.", "text.format")
    if fmt.get("type") != "json_schema":
        return fmt
    return {"type": "json_schema", "json_schema": {k: fmt[k] for k in ("name", "schema", "strict", "description")
                                                   if k in fmt}}
