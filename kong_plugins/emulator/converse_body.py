"""Validate a Converse request body (also Nova's messages-v1 InvokeModel body) and map it to a Prompt.

Error texts follow Bedrock's Converse validation, which gateways surface to their clients.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .anthropic_body import KNOWN_BETAS, check_thinking, check_thinking_rules, parallel_disabled
from .documents import check_document, check_image
from .errors import MSG_NO_TOOL_USE, MSG_TOOLCONFIG_REQUIRED, constraint, validation, validation_errors
from .models import ModelInfo
from .prompt import LastUserTurn, Prompt, SegmentList, ToolSpec, media_ident
from .structured import DRAFT, converse_schema, require_support, schema_problem, tool_strict

DEFAULT_MAX_TOKENS = {"claude": 4096, "titan": 512, "nova": 5000}
CONTENT_KINDS = frozenset({
    "text", "image", "document", "video", "audio", "toolUse", "toolResult", "guardContent",
    "cachePoint", "reasoningContent", "citationsContent", "searchResult",
})
MEDIA_KINDS = ("image", "document", "video", "audio")
TOOL_RESULT_KINDS = frozenset({"json", "text", "image", "document", "video", "searchResult"})
SYSTEM_KINDS = frozenset({"text", "guardContent", "cachePoint"})
TOOL_CHOICES = ("auto", "any", "tool")


def _constraint(value: Any, where: str, rule: str) -> Exception:
    return validation_errors([constraint(value, where, rule)])


def _single_key(block: Any, where: str, kinds: frozenset[str] = CONTENT_KINDS) -> str:
    if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in kinds:
        raise validation(f"The content block at {where} is invalid: exactly one supported member "
                         "must be set.")
    return next(iter(block))


# Members of the wrong JSON type, in the emulator's words (Bedrock's are undocumented), as a 400 instead of
# the crash reading them would be: "The value at messages.0.content.1.toolResult.content is invalid: ..."
def _invalid(where: str, rule: str) -> Exception:
    return validation(f"The value at {where} is invalid: {rule}.")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(where, "it must be an object")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _invalid(where, "it must be a string")
    return value


def _union(value: Any, where: str, members: tuple[str, ...]) -> str:
    """A union member (guardContent, reasoningContent, inputSchema, toolChoice): exactly one of ``members``."""
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in members:
        raise _invalid(where, f"exactly one of {', '.join(members)} must be set")
    return next(iter(value))


def _check_guard_content(value: Any, where: str, member: str) -> None:
    if _union(value, where, ("text", "image")) == "text":
        _string(_object(value["text"], f"{where}.text").get("text"), f"{where}.text.text")
    else:
        check_image(value["image"], f"{where}.image", f"{member}.image")


_TOOL_USE_ID = re.compile(r"[a-zA-Z0-9_.:-]{1,64}")


def _tool_use_id(value: Any, where: str, member: str) -> None:
    """A toolUse's or toolResult's id: 1 to 64 of Bedrock's characters (shared/reference/bedrock-runtime.md §7.1)."""
    if not _TOOL_USE_ID.fullmatch(_string(value, where)):
        rule = ("Member must have length less than or equal to 64" if len(value) > 64 else
                "Member must satisfy regular expression pattern: [a-zA-Z0-9_.:-]+")
        raise validation_errors([constraint(value, f"{member}.toolUseId", rule)])


def _check_tool_result(value: Any, where: str, member: str) -> None:
    result = _object(value, where)
    _tool_use_id(result.get("toolUseId"), f"{where}.toolUseId", member)
    content = result.get("content")
    if not isinstance(content, list):
        raise _invalid(f"{where}.content", "it must be a list of ToolResultContentBlock objects")
    for k, part in enumerate(content):
        kind = _single_key(part, f"{where}.content.{k}", TOOL_RESULT_KINDS)
        _check_block(kind, part[kind], f"{where}.content.{k}.{kind}", f"{member}.content.{k + 1}.member.{kind}")


def _check_block(kind: str, value: Any, where: str, member: str) -> None:
    """The member of one content block (``where``: messages.0.content.1.toolResult; ``member``: as Bedrock's
    constraint findings word it, messages.1.member.content.2.member.toolResult)."""
    if kind == "text":
        _string(value, where)
    elif kind == "document":
        check_document(value, where, member)
    elif kind == "image":
        check_image(value, where, member)
    elif kind == "toolUse":
        _tool_use_id(_object(value, where).get("toolUseId"), f"{where}.toolUseId", member)
        _string(value.get("name"), f"{where}.name")
        if "input" not in value:
            raise validation_errors([f"Value null at '{member}.input' failed to satisfy constraint: Member must "
                                     "not be null"])
    elif kind == "toolResult":
        _check_tool_result(value, where, member)
    elif kind == "reasoningContent":
        if _union(value, where, ("reasoningText", "redactedContent")) == "reasoningText":
            text = _object(value["reasoningText"], f"{where}.reasoningText").get("text")
            _string(text, f"{where}.reasoningText.text")
    elif kind == "guardContent":
        _check_guard_content(value, where, member)
    elif kind != "json":
        _object(value, where)   # cachePoint, video, audio, citationsContent, searchResult


def _validate_messages(messages: Any) -> list[dict[str, Any]]:
    if messages is None:
        raise validation("1 validation error detected: Value null at 'messages' failed to satisfy "
                         "constraint: Member must not be null")
    if not isinstance(messages, list) or not messages:
        raise validation("A conversation must start with a user message. Try again with a conversation "
                         "that starts with a user message.")
    previous = None
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise _constraint(role, f"messages.{i + 1}.member.role",
                              "Member must satisfy enum value set: [user, assistant]")
        if i == 0 and role != "user":
            raise validation("A conversation must start with a user message. Try again with a "
                             "conversation that starts with a user message.")
        if role == previous:
            raise validation("A conversation must alternate between user and assistant roles. Make sure "
                             "the conversation alternates between user and assistant roles and try again.")
        previous = role
        content = message.get("content")
        if not isinstance(content, list) or not content:
            raise validation(f"The content field in the Message object at messages.{i}.content is empty. "
                             "Add a ContentBlock object to the content field and try again.")
        for j, block in enumerate(content):
            kind = _single_key(block, f"messages.{i}.content.{j}")
            _check_block(kind, block[kind], f"messages.{i}.content.{j}.{kind}",
                         f"messages.{i + 1}.member.content.{j + 1}.member.{kind}")
    return messages


def _inference(config: Any, family: str, invoke_style: bool) -> tuple[int, list[str]]:
    config = {} if config is None else _object(config, "inferenceConfig")
    key = "max_new_tokens" if invoke_style and "max_new_tokens" in config else "maxTokens"
    max_tokens = config.get(key, DEFAULT_MAX_TOKENS[family])
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise _constraint(max_tokens, f"inferenceConfig.{key}",
                          "Member must have value greater than or equal to 1")
    for name in ("temperature", "topP"):
        value = config.get(name)
        if value is not None and (not isinstance(value, (int, float)) or not 0 <= value <= 1):
            raise _constraint(value, f"inferenceConfig.{name}",
                              "Member must have value less than or equal to 1")
    stops = config.get("stopSequences") or []
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise validation("inferenceConfig.stopSequences must be a list of strings")
    return max_tokens, stops


def _tools(tool_config: Any, segments: SegmentList) -> tuple[list[ToolSpec], str, str | None]:
    if not isinstance(tool_config, dict) or not isinstance(tool_config.get("tools"), list) \
            or not tool_config["tools"]:
        raise _constraint("[]", "toolConfig.tools", "Member must have length greater than or equal to 1")
    specs: list[ToolSpec] = []
    for i, tool in enumerate(tool_config["tools"]):
        kind = _single_key(tool, f"toolConfig.tools.{i}", frozenset({"toolSpec", "systemTool", "cachePoint"}))
        if kind == "cachePoint":
            segments.mark_breakpoint(tool[kind])
            continue
        spec = tool[kind] if isinstance(tool[kind], dict) else {}
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise _constraint(name, f"toolConfig.tools.{i + 1}.member.toolSpec.name", "Member must not be null")
        schema = _input_schema(spec.get("inputSchema"), i) if kind == "toolSpec" else {}
        rest = {"input_schema": schema} if kind == "toolSpec" else {"system_tool": spec}
        segments.add("tool", f"{name} {spec.get('description', '')} {json.dumps(rest, sort_keys=True)}")
        if kind == "toolSpec":
            strict = tool_strict(spec.get("strict"), f"toolConfig.tools.{i}.toolSpec")
            specs.append(ToolSpec(name, schema, strict))
    choice = tool_config.get("toolChoice")
    if choice is None:
        return specs, "auto", None
    mode = _union(choice, "toolConfig.toolChoice", TOOL_CHOICES)
    _object(choice[mode], f"toolConfig.toolChoice.{mode}")
    name = _string(choice[mode].get("name"), "toolConfig.toolChoice.tool.name") if mode == "tool" else None
    return specs, mode, name


def _input_schema(input_schema: Any, i: int) -> dict[str, Any]:
    """A toolSpec's ``inputSchema`` (a union whose one member is ``json``): a JSON schema object."""
    if input_schema is None:
        raise validation_errors([f"Value null at 'toolConfig.tools.{i + 1}.member.toolSpec.inputSchema' failed to "
                                 "satisfy constraint: Member must not be null"])
    _union(input_schema, f"toolConfig.tools.{i}.toolSpec.inputSchema", ("json",))
    schema = input_schema["json"]
    if not isinstance(schema, dict) or schema_problem(schema) is not None:
        raise validation(f"The JSON schema at toolConfig.tools.{i}.toolSpec.inputSchema.json is invalid. {DRAFT}")
    return schema


def _result_text(result: dict[str, Any]) -> tuple[str, int]:
    texts, media = [], 0
    for part in result.get("content") or []:
        if not isinstance(part, dict):
            continue
        if "text" in part:
            texts.append(str(part["text"]))
        elif "json" in part:
            texts.append(json.dumps(part["json"], sort_keys=True))
        elif any(k in part for k in MEDIA_KINDS):
            media += 1
    return "\n".join(texts), media


def _add_block(segments: SegmentList, role: str, block: dict[str, Any]) -> None:
    kind, value = next(iter(block.items()))
    value = value if isinstance(value, dict) else {"value": value}
    if kind == "cachePoint":
        segments.mark_breakpoint(value)
    elif kind == "text":
        segments.add(f"{role}:text", str(block["text"]))
    elif kind in MEDIA_KINDS:
        segments.add(f"{role}:{kind}", "", 1, ident=media_ident(value.get("source")))
    elif kind == "toolUse":
        segments.add(f"{role}:tool_use", f"{value.get('name', '')} {json.dumps(value.get('input', {}), sort_keys=True)}")
    elif kind == "toolResult":
        text, media = _result_text(value)
        segments.add(f"{role}:tool_result", text, media)
    elif kind == "reasoningContent":
        segments.add(f"{role}:thinking", str((value.get("reasoningText") or {}).get("text", "")))
    elif kind == "guardContent":
        segments.add(f"{role}:text", str((value.get("text") or {}).get("text", "")))
    else:
        segments.add(f"{role}:{kind}", json.dumps(value, sort_keys=True))


def _last_user(messages: list[dict[str, Any]]) -> LastUserTurn:
    for message in reversed(messages):
        if message["role"] == "user":
            blocks = message["content"]
            return LastUserTurn(
                text=" ".join(str(b["text"]) for b in blocks if "text" in b),
                images=sum(1 for b in blocks if "image" in b),
                documents=sum(1 for b in blocks if "document" in b),
                tool_results=[_result_text(b["toolResult"])[0] or "(empty)" for b in blocks
                              if isinstance(b.get("toolResult"), dict)],
            )
    return LastUserTurn()


_ANTHROPIC_KINDS = {"reasoningContent": "thinking", "toolUse": "tool_use", "text": "text"}


def _loop_opener(messages: list[dict[str, Any]]) -> str | None:
    """The first block (in Anthropic's words) of the assistant turn before a final turn of tool results."""
    if len(messages) < 2 or not any("toolResult" in b for b in messages[-1]["content"]):
        return None
    first = next(iter(messages[-2]["content"][0]))
    return _ANTHROPIC_KINDS.get(first, first)


def _claude_extras(fields: Any, max_tokens: int, info: ModelInfo) -> bool:
    if fields is None:
        return False
    if not isinstance(fields, dict):
        raise validation("additionalModelRequestFields must be a JSON object")
    betas = fields.get("anthropic_beta", [])
    if not isinstance(betas, list) or any(not isinstance(b, str) or b not in KNOWN_BETAS for b in betas):
        raise validation("invalid beta flag")
    return check_thinking(fields.get("thinking"), max_tokens, adaptive=info.supports_adaptive_thinking)


def _parallel_tools(fields: Any, choice: Any) -> bool:
    """Whether Claude may call several tools at once: an Anthropic `tool_choice` in additionalModelRequestFields
    can say `disable_parallel_tool_use`. Bedrock merges it into the choice toolConfig makes, so with a
    `toolConfig.toolChoice` it may not name a type of its own, and without one it must."""
    extra = fields.get("tool_choice") if isinstance(fields, dict) else None
    if extra is None:
        return True
    if not isinstance(extra, dict):
        raise validation("tool_choice: Input should be a valid dictionary or object")
    if isinstance(choice, dict) and choice and "type" in extra:
        raise validation(f"The additional field tool_choice/type conflicts with the existing field "
                         f"toolConfig.toolChoice.{next(iter(choice))}. Remove tool_choice/type and try again.")
    if not (isinstance(choice, dict) and choice) and extra.get("type") not in ("auto", "any", "tool", "none"):
        raise validation("tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', "
                         "'tool', 'none'")
    return not parallel_disabled(extra, "tool_choice")


_METADATA_KEY = re.compile(r"[a-zA-Z0-9\s:_@$#=/+,\-.]{1,256}")
_METADATA_VALUE = re.compile(r"[a-zA-Z0-9\s:_@$#=/+,\-.]{0,256}")


def check_request_metadata(metadata: Any) -> None:
    """Request metadata (Converse's requestMetadata, InvokeModel's X-Amzn-Bedrock-Request-Metadata): 1-16 string
    pairs in Bedrock's character set. The member is sensitive, so Bedrock's findings leave its value out."""
    if metadata is None:
        return
    where = "Value at 'requestMetadata' failed to satisfy constraint: "
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise validation("requestMetadata must be a map of string keys to string values")
    if not 1 <= len(metadata) <= 16:
        bound = "less than or equal to 16" if metadata else "greater than or equal to 1"
        raise validation_errors([where + f"Member must have length {bound}"])
    if not all(_METADATA_KEY.fullmatch(k) for k in metadata):
        raise validation_errors([where + "Map keys must satisfy constraint: [Member must satisfy regular "
                                 "expression pattern: [a-zA-Z0-9\\s:_@$#=/+,-.]{1,256}]"])
    if not all(_METADATA_VALUE.fullmatch(v) for v in metadata.values()):
        raise validation_errors([where + "Map value must satisfy constraint: [Member must satisfy regular "
                                 "expression pattern: [a-zA-Z0-9\\s:_@$#=/+,-.]{0,256}]"])


def parse_converse_body(body: Any, info: ModelInfo, *, invoke_style: bool = False) -> Prompt:
    """Validate like Converse (or Nova InvokeModel when ``invoke_style``) and normalise."""
    if not isinstance(body, dict):
        raise validation("The request body must be a JSON object.")
    if not invoke_style:
        check_request_metadata(body.get("requestMetadata"))
    messages = _validate_messages(body.get("messages"))
    tool_config = body.get("toolConfig")
    if tool_config is not None and not info.supports_tools:
        raise validation(MSG_NO_TOOL_USE)
    uses_tools = any("toolUse" in b or "toolResult" in b for m in messages for b in m["content"])
    if uses_tools and tool_config is None:
        raise validation(MSG_TOOLCONFIG_REQUIRED if info.supports_tools else MSG_NO_TOOL_USE)
    max_tokens, stops = _inference(body.get("inferenceConfig"), info.family, invoke_style)
    claude = info.family == "claude"
    fields = body.get("additionalModelRequestFields")
    thinking = _claude_extras(fields, max_tokens, info) if claude else False
    choice_made = tool_config.get("toolChoice") if isinstance(tool_config, dict) else None
    parallel = _parallel_tools(fields, choice_made) if claude else True
    output_schema = converse_schema(body.get("outputConfig"))
    segments = SegmentList()
    tools, choice, choice_name = ([], "auto", None) if tool_config is None else _tools(tool_config, segments)
    require_support(info, output_schema, strict_tools=any(tool.strict for tool in tools))
    if thinking:
        inference = body.get("inferenceConfig") or {}
        check_thinking_rules(temperature=inference.get("temperature"), top_p=inference.get("topP"),
                             forced_tool=choice in ("any", "tool"), loop_opener=_loop_opener(messages))
    system = body.get("system") or []
    if isinstance(system, str) and invoke_style:
        system = [{"text": system}]
    if not isinstance(system, list):
        raise validation("system must be a list of SystemContentBlock objects")
    for i, block in enumerate(system):
        kind = _single_key(block, f"system.{i}", SYSTEM_KINDS)
        _check_block(kind, block[kind], f"system.{i}.{kind}", f"system.{i + 1}.member.{kind}")
        if kind == "cachePoint":
            segments.mark_breakpoint(block[kind])
        elif kind == "text":
            segments.add("system", block["text"])
        else:
            segments.add("system", str((block[kind].get("text") or {}).get("text", "")))
    for message in messages:
        for block in message["content"]:
            _add_block(segments, message["role"], block)
    return Prompt(
        segments=segments.items, last_user=_last_user(messages), max_tokens=max_tokens, tools=tools,
        tool_choice=choice, tool_choice_name=choice_name, parallel_tools=parallel, stop_sequences=stops,
        thinking=thinking,
        output_schema=output_schema,
    )
