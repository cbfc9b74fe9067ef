"""OpenAI Responses API (`POST /v1/responses`) requests, as the Chat Completions request they equal.

Input items become messages, `instructions` a system message, `text.format` the
response_format, `reasoning.effort` the reasoning_effort and flat function and custom tools
nested ones; `openai_chat.to_anthropic` then maps that onto the internal model, so one mapping
serves both OpenAI APIs. Replies are rendered by `responses_render`.

Items the gateway returned may come back as `item_reference`s (the Vercel AI SDK's default),
which `stored` (relay.item_store) resolves. `previous_response_id` continues a kept turn, which
the `conversation` argument resolves when bedrock-proxy keeps inputs: as at OpenAI, the earlier
turns' input and output items come before this call's input, and their instructions do not.
With inputs kept, the request's `conversation` (an OpenAI Conversation, relay.conversation_store) does
the same with that conversation's items, which the call's input and output then join. Stored prompts
are refused. OpenAI's hosted tools (web and file
search, code interpreter, remote MCP...), which OpenAI runs and Bedrock cannot, are left out
(`omitted`: the relay names them in a header), or refused when bedrock-proxy's
`openai_hosted_tools` is `reject`; Codex sends `web_search` with every turn. A `namespace`
tool's function and custom tools become Bedrock tools named `<namespace>__<name>`, and the
model's calls go back with `name` and `namespace` apart.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from kong_plugins.formats import documents, reasoning, responses_settings
from kong_plugins.formats.body import RequestError, boolean, load_json_object, required_string

_STATEFUL = ("prompt",)
_COPIED = ("model", "temperature", "top_p", "stream", "parallel_tool_calls", "service_tier", "safety_identifier",
           "user", "metadata")
ROLES = ("user", "assistant", "system", "developer")
"""The roles a Responses message item may have."""


HOSTED = frozenset({"file_search", "code_interpreter", "image_generation", "mcp", "tool_search",
                    "programmatic_tool_calling"})
"""Tool types OpenAI itself runs (and the web_search ones). Built-ins the client runs (`local_shell`,
`shell`, `apply_patch`, `computer`) are refused instead: leaving them out would drop what the client asked for."""
_WEB_SEARCH = re.compile(r"web_search(?:_preview)?(?:_\d{4}_\d{2}_\d{2})?")
NAMESPACE_SEPARATOR = "__"
_BEDROCK_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


@dataclass(frozen=True)
class Translated:
    chat: dict[str, Any]
    """The Chat Completions request it equals."""
    namespaced: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Bedrock tool name -> (namespace, name) for a `namespace` tool's tools."""
    omitted: tuple[str, ...] = ()
    """Hosted tool types left out of the call."""
    store: bool = True
    """Whether the response's items are to be kept for later `item_reference`s (OpenAI's `store`, default true)."""
    turn: Turn | None = None
    """What keeping this call as a turn takes (None: a call that is not kept, `store: false`)."""
    echo: Mapping[str, Any] = field(default_factory=dict)
    """The request's settings a Response repeats (ECHOED), as the client sent them."""
    background: bool = False
    """OpenAI's `background`: answered at once, run on, polled (relay.background)."""
    origins: tuple[str, ...] = ()
    """Where each of `chat`'s messages came from in the Responses request (`instructions`, `input.3`,
    `previous_response_id`, `conversation`), so an error in one names what the client sent (responses_errors)."""
    conversation: ConversationTurn | None = None
    """The OpenAI Conversation the call continues, which its input and output join once it is answered."""


@dataclass(frozen=True)
class Turn:
    """A call as the turn a later `previous_response_id` continues: the ids of the kept turns before it, oldest
    first, and its own input items (references resolved); its output is added once it is known."""
    chain: tuple[str, ...]
    input: list[dict[str, Any]]


StoredItems = Callable[[list[str]], Mapping[str, dict[str, Any]]]
"""Item ids -> the items the gateway kept under them for this caller (the missing ones left out)."""
Conversation = Callable[[str], "tuple[tuple[str, ...], list[dict[str, Any]]] | None"]
"""A response id -> (the ids of its turn and every turn before it, oldest first; their items in order), or
None when the gateway keeps no such turn for this caller."""
ConversationItems = Callable[[str], "list[dict[str, Any]] | None"]
"""An OpenAI Conversation's id -> its items, oldest first, or None when the gateway keeps no such conversation
for this caller."""


@dataclass(frozen=True)
class ConversationTurn:
    """A call on an OpenAI Conversation: the conversation's id and the call's own input items (references
    resolved), which join the conversation with the call's output."""
    id: str
    input: list[dict[str, Any]]


def chat_request(body: bytes | None, *, omit_hosted: bool = True, stored: StoredItems | None = None,
                 conversation: Conversation | None = None,
                 conversation_items: ConversationItems | None = None) -> Translated:
    """The Chat Completions request equivalent to a Responses request body; `stored` resolves item
    references (None: the gateway keeps no items), `conversation` a `previous_response_id` and
    `conversation_items` a `conversation` (None for either: the gateway keeps no inputs)."""
    data = load_json_object(body)
    for field in _STATEFUL:
        if data.get(field) is not None:
            raise RequestError(f"{field}: the gateway does not keep conversations or prompts; send the whole "
                               "conversation in input (items it returned may be sent as item_reference).", field)
    background = _background(data)
    responses_settings.check(data)
    tools = _Tools(data.get("tools"), omit_hosted)
    messages: list[dict[str, Any]] = []
    origins: list[str] = []
    instructions = data.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise RequestError("instructions: must be a string.", "instructions")
        messages.append({"role": "system", "content": instructions})
        origins.append("instructions")
    conversation_id = _conversation_id(data)
    if conversation_id is not None:
        chain, earlier, source = (), _conversation(conversation_id, conversation_items), "conversation"
    else:
        (chain, earlier), source = _continued(data.get("previous_response_id"), conversation), "previous_response_id"
    given = _resolved(data.get("input"), stored)
    given = [{"role": "user", "content": given}] if isinstance(given, str) else given
    if earlier:     # errors in them name where they came from (a tool the call no longer offers)
        start = len(origins)
        _messages(earlier, tools, messages, origins, source)
        origins[start:] = [source] * (len(origins) - start)   # the client sent none of them
    _messages(given, tools, messages, origins)
    chat: dict[str, Any] = {k: data[k] for k in _COPIED if k in data}
    chat["messages"] = messages
    if data.get("max_output_tokens") is not None:
        chat["max_completion_tokens"] = data["max_output_tokens"]
    if tools.chat:
        chat["tools"] = tools.chat
    if data.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(data["tool_choice"], tools)
    text_format = _member(data, "text", "format")
    if text_format is not None:
        chat["response_format"] = _response_format(text_format)
    effort = _member(data, "reasoning", "effort")
    if effort is not None:
        chat["reasoning_effort"] = effort
    store = boolean(data.get("store"), "store") is not False
    echo = {k: data[k] for k in ECHOED if data.get(k) is not None}
    if conversation_id is not None:
        echo["conversation"] = {"id": conversation_id}
    return Translated(chat, {bedrock: where for where, bedrock in tools.qualified.items()}, tuple(tools.omitted),
                      store=store, background=background,
                      turn=Turn(chain, given) if store and isinstance(given, list) else None,
                      echo=echo, origins=tuple(origins),
                      conversation=ConversationTurn(conversation_id, given if isinstance(given, list) else [])
                      if conversation_id is not None else None)


def _background(data: dict[str, Any]) -> bool:
    """OpenAI's `background`: a kept call (`store` not false) answered whole when polled (not streamed)."""
    background = data.get("background")
    if background is None or background is False:
        return False
    if background is not True:
        raise RequestError("background: must be true or false.", "background")
    if data.get("store") is False:
        raise RequestError("background: a background response is kept to be polled, so store must not be false.",
                           "background")
    if data.get("stream") is True:
        raise RequestError("background: the gateway answers a background response when it is polled, not as a "
                           "stream; send stream: false, or no background.", "background")
    return True


ECHOED = ("background", "instructions", "max_output_tokens", "metadata", "parallel_tool_calls", "previous_response_id",
          "prompt_cache_key", "reasoning", "safety_identifier", "store", "temperature", "text", "tool_choice",
          "tools", "top_p", "truncation", "user")
"""Request fields OpenAI's Response object repeats; clients read them back (`metadata` to correlate, `instructions`
and `tools` to log what a kept response was made with)."""


_NOT_KEPT = ("Send the item itself, or call with store: false so that your client does (the Vercel AI SDK: "
             "providerOptions.openai.store = false).")


def _continued(previous: Any, conversation: Conversation | None) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    """The kept turns `previous_response_id` names, as (their ids, their items); nothing without one."""
    if previous is None:
        return (), []
    if not isinstance(previous, str) or not previous:
        raise RequestError("previous_response_id: must be a response id.", "previous_response_id")
    if conversation is None:
        raise RequestError("previous_response_id: this gateway does not keep prompts (bedrock-proxy's "
                           "openai_response_store has keep_inputs off; your gateway's operators can turn it on), so "
                           "it cannot continue a response; send the whole conversation in input (items it returned "
                           "may be sent as item_reference).", "previous_response_id")
    found = conversation(previous)
    if found is None:
        raise RequestError("previous_response_id: the gateway keeps no response with this id for this API key "
                           "(responses are kept for a limited time, and only those made with store); send the "
                           "whole conversation in input.", "previous_response_id")
    return found


def _conversation_id(data: dict[str, Any]) -> str | None:
    """The request's `conversation` id (None without one); it cannot be sent with `previous_response_id`."""
    if data.get("conversation") is None:
        return None
    if data.get("previous_response_id") is not None:
        raise RequestError("conversation: send either conversation or previous_response_id, not both.",
                           "conversation")
    value = data["conversation"]
    conversation_id = value.get("id") if isinstance(value, dict) else value
    if not isinstance(conversation_id, str) or not conversation_id:
        raise RequestError("conversation: must be a conversation id or an object with its id.", "conversation")
    return conversation_id


def _conversation(conversation_id: str, conversation_items: ConversationItems | None) -> list[dict[str, Any]]:
    """The items of the OpenAI Conversation a request continues."""
    if conversation_items is None:
        raise RequestError("conversation: this gateway does not keep prompts (bedrock-proxy's "
                           "openai_response_store has keep_inputs off; your gateway's operators can turn it on), so "
                           "it keeps no conversations; send the whole conversation in input.", "conversation")
    found = conversation_items(conversation_id)
    if found is None:
        raise RequestError("conversation: the gateway keeps no conversation with this id for this API key "
                           "(conversations are kept for a limited time after their last change).", "conversation")
    return found


def _resolved(items: Any, stored: StoredItems | None) -> Any:
    """`input` with each item reference replaced by the item it names (one store lookup for all of them)."""
    if not isinstance(items, list):
        return items
    references = {i: item.get("id") for i, item in enumerate(items) if _is_reference(item)}
    if not references:
        return items
    for i, item_id in references.items():
        if not isinstance(item_id, str) or not item_id:
            raise RequestError(f"input.{i}.id: required.", f"input.{i}.id")
        if stored is None:
            raise RequestError(f"input.{i}: this gateway keeps no response items, so an item_reference cannot be "
                               f"resolved. {_NOT_KEPT}", f"input.{i}")
    found = stored(sorted(set(references.values())))
    for i, item_id in references.items():
        if item_id not in found:
            raise RequestError(f"input.{i}.id: the gateway keeps no item with this id for this API key (items are "
                               f"kept for a limited time after the response that made them). {_NOT_KEPT}",
                               f"input.{i}.id")
    return [found[references[i]] if i in references else item for i, item in enumerate(items)]


def _is_reference(item: Any) -> bool:
    """`{"type": "item_reference", "id": ...}`, or OpenAI's short form, an item with nothing but an id."""
    return isinstance(item, dict) and (item.get("type") == "item_reference"
                                       or ("type" not in item and "role" not in item and "id" in item))


class _Tools:
    """The request's tools as Chat tools: namespaces flattened, hosted tools left out (or refused)."""

    def __init__(self, tools: Any, omit_hosted: bool) -> None:
        self.chat: list[dict[str, Any]] = []
        self.qualified: dict[tuple[str, str], str] = {}   # (namespace, name) -> Bedrock tool name
        self.omitted: list[str] = []
        self._top: set[str] = set()   # the names of tools outside namespaces
        if not tools:
            return
        if not isinstance(tools, list):
            raise RequestError("tools: must be a list.", "tools")
        kinds = [tool.get("type") if isinstance(tool, dict) else None for tool in tools]
        self._top = {tool["name"] for tool, kind in zip(tools, kinds)
                     if kind in ("function", "custom") and isinstance(tool.get("name"), str)}
        for index, (tool, kind) in enumerate(zip(tools, kinds)):
            if kind == "namespace":
                self._namespace(tool, f"tools.{index}")
            elif isinstance(kind, str) and (kind in HOSTED or _WEB_SEARCH.fullmatch(kind)):
                if not omit_hosted:
                    raise RequestError(f"tools.{index}.type: {kind!r} is a hosted OpenAI tool, which Bedrock does "
                                       "not run.", f"tools.{index}.type")
                if kind not in self.omitted:
                    self.omitted.append(kind)
            else:
                self.chat.append(_tool(tool, f"tools.{index}"))

    def _namespace(self, tool: dict[str, Any], where: str) -> None:
        namespace, inner = tool.get("name"), tool.get("tools")
        if not isinstance(namespace, str) or not namespace:
            raise RequestError(f"{where}.name: required.", f"{where}.name")
        if not isinstance(inner, list):
            raise RequestError(f"{where}.tools: must be a list.", f"{where}.tools")
        about = tool.get("description")
        for j, member in enumerate(inner):
            if not isinstance(member, dict) or member.get("type") not in ("function", "custom"):
                raise RequestError(f"{where}.tools.{j}.type: a namespace holds function and custom tools.",
                                   f"{where}.tools.{j}.type")
            name = member.get("name")
            if not isinstance(name, str) or not name:
                raise RequestError(f"{where}.tools.{j}.name: required.", f"{where}.tools.{j}.name")
            bedrock_name = self.bedrock_name(namespace, name)
            self.qualified[(namespace, name)] = bedrock_name
            described = f"{namespace}: {about}\n\n{member.get('description') or ''}".strip() \
                if isinstance(about, str) and about else member.get("description")
            self.chat.append(_tool({**member, "name": bedrock_name, "description": described}, f"{where}.tools.{j}"))

    def bedrock_name(self, namespace: str, name: str) -> str:
        """`<namespace>__<name>`, or a shortened form with a hash where that breaks Bedrock's name rules
        (64 characters of letters, digits, _ and -) or is some other tool's name."""
        known = self.qualified.get((namespace, name))
        if known is not None:
            return known
        joined = f"{namespace}{NAMESPACE_SEPARATOR}{name}"
        if _BEDROCK_TOOL_NAME.fullmatch(joined) and joined not in self._top:
            return joined
        digest = hashlib.sha256(f"{namespace}\0{name}".encode()).hexdigest()[:8]
        return f"{re.sub(r'[^a-zA-Z0-9_-]', '_', joined)[:55]}_{digest}"

    def resolve(self, name: Any, namespace: Any, where: str) -> str:
        """A tool call's Bedrock name, from the name and namespace a client sends back or names in tool_choice."""
        if namespace is None:
            return name
        if not isinstance(namespace, str) or not namespace:
            raise RequestError(f"{where}.namespace: must be a string.", f"{where}.namespace")
        return self.bedrock_name(namespace, name)

    def unique_member(self, name: Any) -> str | None:
        """The Bedrock name of the one namespaced tool called `name` (tool_choice names no namespace)."""
        found = [bedrock for (_, member), bedrock in self.qualified.items() if member == name]
        return found[0] if len(found) == 1 and name not in self._top else None


def _member(data: dict[str, Any], field: str, key: str) -> Any:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RequestError(f"{field}: must be an object.", field)
    return value.get(key)


def _messages(items: Any, tools: _Tools, out: list[dict[str, Any]], origins: list[str],
              field: str = "input") -> None:
    """Append the items' messages to `out`, and to `origins` the item each came from."""
    if not isinstance(items, list) or not items:
        raise RequestError("input: must be a string or a non-empty list of items.", "input")
    thinking: list[dict[str, Any]] = []      # reasoning items' blocks, for the assistant turn they precede
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("type") == "reasoning":
            if item.get("encrypted_content") is not None:
                thinking += reasoning.decode_blocks(item["encrypted_content"])
            continue   # without it, Claude's thinking cannot be rebuilt from a summary: the turn goes on without
        message = _item(item, f"{field}.{i}", tools)
        if thinking and message["role"] == "assistant":
            message["thinking_blocks"], thinking = thinking, []
        out.append(message)
        origins.append(f"{field}.{i}")


def _item(item: Any, where: str, tools: _Tools) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise RequestError(f"{where}: must be an object.", where)
    kind = item.get("type", "message")
    if kind == "message":
        if item.get("role") not in ROLES:
            raise RequestError(f"{where}.role: must be one of {', '.join(ROLES)}.", f"{where}.role")
        return {"role": item["role"], "content": _content(item.get("content"), f"{where}.content")}
    if kind == "function_call":
        return {"role": "assistant", "content": None, "tool_calls": [{
            "id": required_string(item, "call_id", where), "type": "function",
            "function": {"name": tools.resolve(required_string(item, "name", where), item.get("namespace"), where),
                         "arguments": item.get("arguments")}}]}   # openai_chat checks them
    if kind == "custom_tool_call":
        return {"role": "assistant", "content": None, "tool_calls": [{
            "id": required_string(item, "call_id", where), "type": "custom",
            "custom": {"name": tools.resolve(required_string(item, "name", where), item.get("namespace"), where),
                       "input": _text(item, "input", where)}}]}
    if kind in ("function_call_output", "custom_tool_call_output"):
        return {"role": "tool", "tool_call_id": required_string(item, "call_id", where),
                "content": _content(item.get("output"), f"{where}.output")}
    raise RequestError(f"{where}.type: this item type is not supported by the gateway (message, function_call, "
                       "custom_tool_call, their outputs, reasoning and item_reference are).", f"{where}.type")


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


def _tool(tool: Any, where: str) -> dict[str, Any]:
    kind = tool.get("type") if isinstance(tool, dict) else None
    if kind == "custom":
        return {"type": "custom", "custom": {"name": tool.get("name"), "description": tool.get("description"),
                                             "format": _custom_format(tool.get("format"))}}
    if kind != "function":
        raise RequestError(f"{where}.type: only function, custom and namespace tools are supported (the others are "
                           "OpenAI built-in tools, which only OpenAI's models are trained to call).", f"{where}.type")
    function = {k: tool[k] for k in ("name", "parameters", "description", "strict") if tool.get(k) is not None}
    return {"type": "function", "function": function}


def _custom_format(fmt: Any) -> Any:
    """Responses' flat grammar format (`{"type": "grammar", "syntax", "definition"}`) nested as Chat's."""
    if isinstance(fmt, dict) and fmt.get("type") == "grammar":
        return {"type": "grammar", "grammar": {"syntax": fmt.get("syntax"), "definition": fmt.get("definition")}}
    return fmt


def _tool_choice(choice: Any, tools: _Tools) -> Any:
    if isinstance(choice, dict) and choice.get("type") in ("function", "custom"):
        name = choice.get("name")
        if choice.get("namespace") is not None:
            name = tools.resolve(name, choice["namespace"], "tool_choice")
        else:
            name = tools.unique_member(name) or name
        return {"type": choice["type"], choice["type"]: {"name": name}}
    if choice == "required" and tools.omitted and not tools.chat:
        return None   # the hosted tools it could call are left out (X-Bedrock-Omitted-Tools): it goes on without
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
    if not isinstance(fmt.get("schema"), dict):   # Chat's response_format may leave it out (JSON mode), this not
        raise RequestError("text.format.schema: required with json_schema: a JSON Schema object.",
                           "text.format.schema")
    return {"type": "json_schema", "json_schema": {k: fmt[k] for k in ("name", "schema", "strict", "description")
                                                   if k in fmt}}
