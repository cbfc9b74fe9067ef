"""Anthropic Messages (the gateway's internal model) ⇄ Bedrock Converse.

Used for catalogue entries of kind `converse` (Titan, Nova, Llama, Mistral...)
and, composed with `openai_chat`, for OpenAI clients. Shapes per
shared/reference/bedrock-runtime.md §7.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Iterator

from kong_plugins.bedrock import guardrail_usage
from kong_plugins.context import Usage, token_count as _int
from kong_plugins.formats import documents, reasoning, tool_history, wire_json
from kong_plugins.formats.body import RequestError

_STOP_REASONS = {
    "end_turn": "end_turn", "tool_use": "tool_use", "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence", "guardrail_intervened": "refusal", "content_filtered": "refusal",
    "model_context_window_exceeded": "model_context_window_exceeded",
}
_IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif",
                  "image/webp": "webp"}
GUARDRAIL_ACTION = "amazon-bedrock-guardrailAction"
"""Set to INTERVENED on a Claude InvokeModel body (and its last stream chunk) when a Bedrock guardrail blocked
it; Converse says `stopReason: guardrail_intervened`, and the internal message carries the same marker."""


def request_from_anthropic(request: dict[str, Any], *, model_fields: bool = True) -> dict[str, Any]:
    """Converse request body for an Anthropic Messages request.

    `model_fields`: pass Claude-only fields (top_k, thinking) in
    additionalModelRequestFields; False for non-Claude models.
    """
    choice = request.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "none":   # Converse has no "none": offer no tools
        request = {k: v for k, v in request.items() if k not in ("tools", "tool_choice")}
        request["messages"] = tool_history.as_text(request["messages"])
    body: dict[str, Any] = {"messages": [_message(m, i) for i, m in enumerate(request["messages"])]}
    system = _system(request.get("system"))
    if system:
        body["system"] = system
    inference = {"maxTokens": request["max_tokens"]}
    for source, target in (("temperature", "temperature"), ("top_p", "topP"), ("stop_sequences", "stopSequences")):
        if request.get(source) is not None:
            inference[target] = request[source]
    body["inferenceConfig"] = inference
    tool_config = _tool_config(request, body["messages"])
    if tool_config:
        body["toolConfig"] = tool_config
    text_format = _text_format(request.get("output_config"))
    if text_format:
        body["outputConfig"] = {"textFormat": text_format}
    if model_fields:
        extra = {k: request[k] for k in ("top_k", "anthropic_beta") if request.get(k) is not None}
        thinking = reasoning.converse_thinking(request)
        if thinking is not None:
            extra["thinking"] = thinking
        if _one_call_at_a_time(request.get("tool_choice"), tool_config):
            extra["tool_choice"] = _parallel_off(tool_config)
        if extra:
            body["additionalModelRequestFields"] = extra
    return body


def _one_call_at_a_time(choice: Any, tool_config: dict[str, Any] | None) -> bool:
    """The request turns Claude's parallel tool use off (OpenAI's `parallel_tool_calls: false`), and offers tools."""
    return tool_config is not None and isinstance(choice, dict) and choice.get("disable_parallel_tool_use") is True


def _parallel_off(tool_config: dict[str, Any]) -> dict[str, Any]:
    """Converse has no member for it: Claude's own tool_choice goes in additionalModelRequestFields, which Bedrock
    merges into the choice `toolConfig` makes. Beside a `toolChoice` it names no type (Bedrock refuses a second
    one: "conflicts with the existing field toolConfig.toolChoice"); alone it must name one, auto."""
    if "toolChoice" in tool_config:
        return {"disable_parallel_tool_use": True}
    return {"type": "auto", "disable_parallel_tool_use": True}


def _text_format(output_config: Any) -> dict[str, Any] | None:
    """Anthropic's `output_config.format` as Converse's `outputConfig.textFormat` (the schema as a JSON string)."""
    fmt = output_config.get("format") if isinstance(output_config, dict) else None
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
        raise RequestError("output_config.format: must be {\"type\": \"json_schema\", \"schema\": {...}}.",
                           "output_config.format")
    return {"type": "json_schema",
            "structure": {"jsonSchema": {"schema": json.dumps(fmt["schema"]), "name": "response"}}}


def _system(system: Any) -> list[dict[str, Any]]:
    if system is None:
        return []
    if isinstance(system, str):
        return [{"text": system}] if system else []
    if not isinstance(system, list):
        raise RequestError("system: must be a string or a list of text blocks.", "system")
    out: list[dict[str, Any]] = []
    for block in system:
        if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
            raise RequestError("system: every block must be a text block.", "system")
        out.append({"text": block["text"]})
        if block.get("cache_control"):
            out.append(_cache_point(block["cache_control"], "system"))
    return out


def _cache_point(cache_control: Any, where: str) -> dict[str, Any]:
    """Converse's cache point for an Anthropic cache_control: five minutes unless it asks for an hour."""
    ttl = cache_control.get("ttl") if isinstance(cache_control, dict) else None
    if ttl not in (None, "5m", "1h"):
        raise RequestError(f"{where}.cache_control.ttl: must be 5m or 1h.", f"{where}.cache_control")
    return {"cachePoint": {"type": "default", "ttl": ttl} if ttl == "1h" else {"type": "default"}}


def _message(message: Any, index: int) -> dict[str, Any]:
    where = f"messages.{index}"
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
        raise RequestError(f"{where}.role: must be 'user' or 'assistant'.", f"{where}.role")
    content = message.get("content")
    if isinstance(content, str):
        return {"role": message["role"], "content": [{"text": content}]}
    if not isinstance(content, list):
        raise RequestError(f"{where}.content: must be a string or a list of blocks.", f"{where}.content")
    blocks: list[dict[str, Any]] = []
    for j, block in enumerate(content):
        blocks.extend(_block(block, f"{where}.content.{j}"))
    return {"role": message["role"], "content": blocks}


def _block(block: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(block, dict):
        raise RequestError(f"{where}: must be an object.", where)
    kind = block.get("type")
    if kind == "text" and isinstance(block.get("text"), str):
        out = [{"text": block["text"]}]
    elif kind == "image":
        out = [{"image": _image(block.get("source"), where)}]
    elif kind == "tool_use":
        out = [{"toolUse": {"toolUseId": tool_use_id(block.get("id")), "name": str(block.get("name")),
                            "input": block.get("input") if isinstance(block.get("input"), dict) else {}}}]
    elif kind == "tool_result":
        out = [{"toolResult": _tool_result(block, where)}]
    elif kind == "thinking":
        out = [{"reasoningContent": {"reasoningText": {"text": str(block.get("thinking", "")),
                                                       "signature": str(block.get("signature", ""))}}}]
    elif kind == "redacted_thinking":
        out = [{"reasoningContent": {"redactedContent": str(block.get("data", ""))}}]
    elif kind == "document":
        out = [documents.to_converse(block, where)]
    else:
        raise RequestError(f"{where}.type: unsupported content block for this model.", f"{where}.type")
    if block.get("cache_control"):
        out.append(_cache_point(block["cache_control"], where))
    return out


def _image(source: Any, where: str) -> dict[str, Any]:
    if not isinstance(source, dict) or source.get("type") != "base64":
        raise RequestError(f"{where}.source: only base64 images are supported by Bedrock.", f"{where}.source")
    image_format = _IMAGE_FORMATS.get(str(source.get("media_type", "")).lower())
    if image_format is None or not isinstance(source.get("data"), str):
        raise RequestError(f"{where}.source: media_type must be png, jpeg, gif or webp.", f"{where}.source")
    return {"format": image_format, "source": {"bytes": source["data"]}}


def _tool_result(block: dict[str, Any], where: str) -> dict[str, Any]:
    content = block.get("content")
    if content is None or content == "":
        parts: list[dict[str, Any]] = [{"text": "(empty)"}]
    elif isinstance(content, str):
        parts = [{"text": content}]
    elif isinstance(content, list):
        parts = []
        for k, item in enumerate(content):
            if isinstance(item, dict) and item.get("type") == "text":
                parts.append({"text": str(item.get("text", ""))})
            elif isinstance(item, dict) and item.get("type") == "image":
                parts.append({"image": _image(item.get("source"), f"{where}.content.{k}")})
            elif isinstance(item, dict) and item.get("type") == "document":
                parts.append(documents.to_converse(item, f"{where}.content.{k}"))
            else:
                raise RequestError(f"{where}.content.{k}: unsupported tool result block.", f"{where}.content")
    else:
        raise RequestError(f"{where}.content: must be a string or a list.", f"{where}.content")
    result = {"toolUseId": tool_use_id(block.get("tool_use_id")), "content": parts}
    if block.get("is_error"):
        result["status"] = "error"
    return result


_TOOL_USE_ID = re.compile(r"[a-zA-Z0-9_.:-]{1,64}")


def tool_use_id(client_id: Any) -> str:
    """The id Converse is sent for a call's id: the client's own when Bedrock takes it (1 to 64 letters, digits and
    `_.:-`), else one made from it, the same for the call and its result. Another provider's ids (an OpenAI-
    compatible server's, a framework's) may be longer or hold other characters; Bedrock refuses those."""
    text = str(client_id)
    if _TOOL_USE_ID.fullmatch(text):
        return text
    return "tooluse_" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


_TOOL_TYPE = re.compile(r"[a-z_]{1,40}_20[0-9]{6}")
"""The shape of Anthropic's tool types (web_search_20250305, bash_20250124): named in the 400; anything else, which
a client wrote, is not repeated."""


def _tool_config(request: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    tools = request.get("tools") or []
    if not isinstance(tools, list):
        raise RequestError("tools: must be a list.", "tools")
    specs = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise RequestError(f"tools.{i}.name: required.", f"tools.{i}.name")
        if tool.get("type") not in (None, "custom"):
            named = repr(tool["type"]) if _TOOL_TYPE.fullmatch(str(tool["type"])) else "this type"   # never echo
            raise RequestError(f"tools.{i}.type: {named} is a tool Anthropic's API defines (run by Anthropic "
                               "or built into Claude); this model is served through Bedrock's Converse API, which "
                               "has no such tool. Use a Claude model, or describe it as a custom tool with an "
                               "input_schema.", f"tools.{i}.type")
        spec = {"name": tool["name"], "inputSchema": {"json": tool.get("input_schema") or {"type": "object"}}}
        if tool.get("description"):
            spec["description"] = tool["description"]
        if tool.get("strict") is True:
            spec["strict"] = True
        specs.append({"toolSpec": spec})
        if tool.get("cache_control"):
            specs.append(_cache_point(tool["cache_control"], f"tools.{i}"))
    has_tool_blocks = any("toolUse" in b or "toolResult" in b for m in messages for b in m["content"])
    if not specs:
        if has_tool_blocks:
            raise RequestError("tools: required when the conversation contains tool calls.", "tools")
        return None
    config: dict[str, Any] = {"tools": specs}
    choice = request.get("tool_choice") or {}
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "any":
        config["toolChoice"] = {"any": {}}
    elif kind == "tool":
        config["toolChoice"] = {"tool": {"name": str(choice.get("name"))}}
    elif kind == "auto":
        config["toolChoice"] = {"auto": {}}
    return config


def usage_from_converse(usage: dict[str, Any] | None) -> Usage:
    u = usage or {}
    details = u.get("cacheDetails") if isinstance(u.get("cacheDetails"), list) else []
    return Usage(input=_int(u.get("inputTokens")), output=_int(u.get("outputTokens")),
                 cache_read=_int(u.get("cacheReadInputTokens")), cache_write=_int(u.get("cacheWriteInputTokens")),
                 cache_write_1h=sum(_int(d.get("inputTokens")) for d in details
                                    if isinstance(d, dict) and d.get("ttl") == "1h"))


def message_from_converse(response: dict[str, Any], *, model: str, message_id: str,
                          stop_sequence: str | None = None) -> dict[str, Any]:
    """An Anthropic Message for a Converse response."""
    content = []
    for block in ((response.get("output") or {}).get("message") or {}).get("content") or []:
        if "text" in block:
            content.append({"type": "text", "text": block["text"]})
        elif "toolUse" in block:
            tool = block["toolUse"]
            content.append({"type": "tool_use", "id": tool.get("toolUseId"), "name": tool.get("name"),
                            "input": tool.get("input") or {}})
        elif "reasoningContent" in block:
            content.append(_thinking_block(block["reasoningContent"]))
    usage = usage_from_converse(response.get("usage"))
    message = {"id": message_id, "type": "message", "role": "assistant", "model": model, "content": content,
               "stop_reason": _STOP_REASONS.get(response.get("stopReason"), "end_turn"),
               "stop_sequence": _matched(response.get("stopReason"), stop_sequence), "usage": anthropic_usage(usage)}
    return _guardrail_marked(message, response.get("stopReason"))


def _matched(stop_reason: Any, stop_sequence: str | None) -> str | None:
    """Anthropic's `stop_sequence`: Converse says a stop sequence ended the answer, not which one; when the request
    named one only, it is that one (else null, as before)."""
    return stop_sequence if stop_reason == "stop_sequence" else None


def _guardrail_marked(event: dict[str, Any], stop_reason: Any) -> dict[str, Any]:
    if stop_reason == "guardrail_intervened":
        event[GUARDRAIL_ACTION] = "INTERVENED"
    return event


def anthropic_usage(usage: Usage) -> dict[str, Any]:
    return {"input_tokens": usage.input, "output_tokens": usage.output,
            "cache_creation_input_tokens": usage.cache_write, "cache_read_input_tokens": usage.cache_read,
            "cache_creation": {"ephemeral_5m_input_tokens": usage.cache_write_minutes,
                               "ephemeral_1h_input_tokens": usage.cache_write_hour}}


def _thinking_block(reasoning: dict[str, Any]) -> dict[str, Any]:
    if "redactedContent" in reasoning:
        return {"type": "redacted_thinking", "data": reasoning["redactedContent"]}
    text = reasoning.get("reasoningText") or {}
    return {"type": "thinking", "thinking": text.get("text", ""), "signature": text.get("signature", "")}


def served_tier(response: dict[str, Any]) -> str | None:
    """Converse's `serviceTier.type`: the tier that served the call (a response, or the stream's metadata)."""
    member = response.get("serviceTier")
    value = member.get("type") if isinstance(member, dict) else None
    return value if isinstance(value, str) and value else None


class ConverseStreamToAnthropic:
    """ConverseStream events (event type, payload) → Anthropic stream events (dicts).

    Converse starts text and reasoning blocks implicitly with their first delta
    and reports usage only in the final `metadata` event, so block starts are
    synthesised and `message_delta` waits for `metadata`.
    """

    def __init__(self, *, model: str, message_id: str, stop_sequence: str | None = None) -> None:
        self.model = model
        self.message_id = message_id
        self.stop_sequence = stop_sequence   # the request's only stop sequence, if it named one only
        self.usage = Usage()
        self.service_tier: str | None = None   # the tier Bedrock says served the call (response, metadata)
        self._open: dict[int, str] = {}
        self._bedrock_stop_reason: Any = None

    def feed(self, event_type: str, payload: bytes) -> Iterator[tuple[dict[str, Any], None]]:
        """The decoder interface shared with anthropic.InvokeStreamDecoder."""
        for event in self.events(event_type, json.loads(payload)):
            yield event, None

    def message(self, content: bytes) -> dict[str, Any]:
        response = wire_json.loads(content)
        self._settle(response)
        return message_from_converse(response, model=self.model, message_id=self.message_id,
                                     stop_sequence=self.stop_sequence)

    def _settle(self, payload: dict[str, Any]) -> None:
        """Usage, guardrail units and the tier that served: a response and the stream's metadata event
        carry all three the same way."""
        self.usage = usage_from_converse(payload.get("usage"))
        self.usage.guardrail_units = guardrail_usage.units_in(payload.get(guardrail_usage.CONVERSE_TRACE))
        self.service_tier = served_tier(payload)

    def events(self, event_type: str, payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
        index = payload.get("contentBlockIndex", 0)
        if event_type == "messageStart":
            yield {"type": "message_start", "message": {
                "id": self.message_id, "type": "message", "role": "assistant", "model": self.model,
                "content": [], "stop_reason": None, "stop_sequence": None, "usage": anthropic_usage(Usage())}}
        elif event_type == "contentBlockStart":
            tool = (payload.get("start") or {}).get("toolUse")
            if tool:
                self._open[index] = "tool_use"
                yield {"type": "content_block_start", "index": index, "content_block": {
                    "type": "tool_use", "id": tool.get("toolUseId"), "name": tool.get("name"), "input": {}}}
        elif event_type == "contentBlockDelta":
            yield from self._delta(index, payload.get("delta") or {})
        elif event_type == "contentBlockStop":
            if self._open.pop(index, None) is not None:
                yield {"type": "content_block_stop", "index": index}
        elif event_type == "messageStop":
            self._bedrock_stop_reason = payload.get("stopReason")
        elif event_type == "metadata":
            self._settle(payload)
            for open_index in sorted(self._open):
                yield {"type": "content_block_stop", "index": open_index}
            self._open.clear()
            stop_reason = _STOP_REASONS.get(self._bedrock_stop_reason, "end_turn")
            yield _guardrail_marked({"type": "message_delta", "usage": anthropic_usage(self.usage),
                                     "delta": {"stop_reason": stop_reason,
                                               "stop_sequence": _matched(self._bedrock_stop_reason,
                                                                         self.stop_sequence)}},
                                    self._bedrock_stop_reason)
            yield {"type": "message_stop"}

    def _delta(self, index: int, delta: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if "text" in delta:
            yield from self._ensure_open(index, {"type": "text", "text": ""})
            yield {"type": "content_block_delta", "index": index,
                   "delta": {"type": "text_delta", "text": delta["text"]}}
        elif "toolUse" in delta:
            yield {"type": "content_block_delta", "index": index,
                   "delta": {"type": "input_json_delta", "partial_json": (delta["toolUse"] or {}).get("input", "")}}
        elif "reasoningContent" in delta:
            reasoning = delta["reasoningContent"] or {}
            if "redactedContent" in reasoning:   # Anthropic streams a redacted block whole in its start
                yield from self._ensure_open(index, {"type": "redacted_thinking", "data": reasoning["redactedContent"]})
                return
            yield from self._ensure_open(index, {"type": "thinking", "thinking": "", "signature": ""})
            if "text" in reasoning:
                yield {"type": "content_block_delta", "index": index,
                       "delta": {"type": "thinking_delta", "thinking": reasoning["text"]}}
            elif "signature" in reasoning:
                yield {"type": "content_block_delta", "index": index,
                       "delta": {"type": "signature_delta", "signature": reasoning["signature"]}}

    def _ensure_open(self, index: int, block: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if index not in self._open:
            self._open[index] = block["type"]
            yield {"type": "content_block_start", "index": index, "content_block": block}
