"""OpenAI `response_format` on Bedrock: schemas natively, JSON mode as a forced tool.

- `json_schema` becomes the internal request's `output_config.format`, Bedrock's structured
  outputs (`outputConfig.textFormat` on Converse): the model's text is held to the schema.
  Bedrock answers 400 for a model without structured outputs or a schema outside its subset,
  and the client gets that 400 in its own format, never a silently ignored schema.
- `json_object` has no schema, and structured outputs need one whose objects are closed, so it
  becomes a tool the model must call with a JSON object (what langchain-aws and LiteLLM do on
  Bedrock); the renderers give that call back as the message text (`ANSWER_TOOL`).
- `text` (or no response_format) changes nothing.
"""

from __future__ import annotations

from typing import Any

from kong_plugins.formats.body import RequestError

ANSWER_TOOL = "json_answer"
"""The tool JSON mode forces; a call to it is the answer, rendered as text, not a tool call."""

_ANSWER_TOOL_SPEC = {"name": ANSWER_TOOL, "description": "Give your whole answer as one JSON object.",
                     "input_schema": {"type": "object"}}
_WHERE = "response_format"


def answer_tool(request: dict[str, Any]) -> str | None:
    """The forced tool's name when the request asks for JSON mode, else None."""
    return ANSWER_TOOL if _kind(request) == "json_object" else None


def apply(request: dict[str, Any], out: dict[str, Any]) -> None:
    """Add to the internal (Anthropic) request `out` what the OpenAI request's response_format asks."""
    kind = _kind(request)
    if kind == "json_schema":
        out["output_config"] = {"format": {"type": "json_schema", "schema": _schema(request[_WHERE])}}
    elif kind == "json_object":
        _force_answer_tool(out, user_choice=request.get("tool_choice"))


def _kind(request: dict[str, Any]) -> str | None:
    spec = request.get(_WHERE)
    if spec is None:
        return None
    if not isinstance(spec, dict) or spec.get("type") not in ("text", "json_object", "json_schema"):
        raise RequestError(f"{_WHERE}.type: must be text, json_object or json_schema.", _WHERE)
    if spec["type"] != "json_schema":
        return spec["type"]
    if not isinstance(spec.get("json_schema"), dict):
        raise RequestError(f"{_WHERE}.json_schema: must be an object with a name and a schema.",
                           f"{_WHERE}.json_schema")
    if spec["json_schema"].get("schema") is None:
        return "json_object"   # a json_schema without a schema constrains no more than JSON mode
    return "json_schema"


def _schema(spec: dict[str, Any]) -> dict[str, Any]:
    schema = spec["json_schema"]["schema"]
    if not isinstance(schema, dict):
        raise RequestError(f"{_WHERE}.json_schema.schema: must be a JSON Schema object.", f"{_WHERE}.json_schema")
    return schema


def _force_answer_tool(out: dict[str, Any], *, user_choice: Any) -> None:
    """Alone, the answer tool is forced; beside the client's tools the model must call one of them."""
    tools = out.setdefault("tools", [])
    if any(tool.get("name") == ANSWER_TOOL for tool in tools):
        raise RequestError(f"tools: the name {ANSWER_TOOL} is reserved when response_format is json_object.",
                           "tools")
    user_tools = bool(tools)
    tools.append(dict(_ANSWER_TOOL_SPEC))
    choice = out.get("tool_choice") or {"type": "auto"}
    if not user_tools or user_choice == "none":
        out["tool_choice"] = {"type": "tool", "name": ANSWER_TOOL}
    elif choice["type"] == "auto":
        out["tool_choice"] = {**choice, "type": "any"}
