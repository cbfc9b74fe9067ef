"""Structured outputs: `output_config.format` (InvokeModel, Claude) and `outputConfig.textFormat` (Converse).

Bedrock holds the reply text to the JSON schema; the emulator answers with a value built from
the schema (`generator.placeholder`), so a client that parses the reply into its own types
sees whether the gateway carried the schema through. Models without the feature, and schemas
that are not JSON objects, get a 400 ValidationException (the wording is the emulator's).

A schema (an output format's or a tool's input schema) must also be a JSON Schema (draft 2020-12),
as Anthropic requires: `schema_problem` checks the keywords that carry subschemas, types and
property names, so one the reply could not be built from (`"type": {"x": 1}`) is a 400 when the
request is validated, never a crash while the reply is generated.
"""

from __future__ import annotations

from typing import Any

from . import jsonbody
from .errors import validation
from .models import ModelInfo

SIMPLE_TYPES = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})
_SUBSCHEMA = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
              "unevaluatedItems", "unevaluatedProperties", "contentSchema")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
DRAFT = "It must match JSON Schema draft 2020-12 (https://json-schema.org/draft/2020-12)."
TOOL_DOCS = "Learn more about tool use at https://docs.claude.com/en/docs/tool-use."


def _keyword_problem(schema: dict[str, Any]) -> str | None:
    """What is wrong with one schema object's own keywords (its subschemas are checked by the caller)."""
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not kinds or not all(isinstance(k, str) and k in SIMPLE_TYPES for k in kinds) \
                or len(set(kinds)) != len(kinds):
            return "type"
    required = schema.get("required")
    if required is not None and (not isinstance(required, list) or not all(isinstance(r, str) for r in required)
                                 or len(set(required)) != len(required)):
        return "required"
    if "enum" in schema and not isinstance(schema["enum"], list):
        return "enum"
    for key in ("$ref", "$id", "$anchor", "$dynamicRef", "pattern", "format"):
        if key in schema and not isinstance(schema[key], str):
            return key
    for key in _SCHEMA_MAPS:
        if key in schema and not isinstance(schema[key], dict):
            return key
    for key in _SCHEMA_LISTS:
        if key in schema and (not isinstance(schema[key], list) or not schema[key]):
            return key
    return None


def schema_problem(schema: Any) -> str | None:
    """None for a usable JSON schema; else the JSON pointer of the first keyword that breaks draft 2020-12.

    A subschema is an object or a boolean. Walked without recursion: any depth the body parser accepts.
    """
    stack: list[tuple[Any, str]] = [(schema, "#")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, bool):
            continue
        if not isinstance(node, dict):
            return where
        keyword = _keyword_problem(node)
        if keyword is not None:
            return f"{where}/{keyword}"
        for key in _SUBSCHEMA:
            if key in node:
                stack.append((node[key], f"{where}/{key}"))
        for key in _SCHEMA_MAPS:
            stack.extend((sub, f"{where}/{key}/{name}") for name, sub in node.get(key, {}).items())
        for key in _SCHEMA_LISTS:
            stack.extend((sub, f"{where}/{key}/{index}") for index, sub in enumerate(node.get(key, [])))
    return None


def check_tool_schema(schema: Any, where: str) -> None:
    """A tool's input schema, in Anthropic's words (``where``: ``tools.0.custom.input_schema``)."""
    if schema_problem(schema) is not None:
        raise validation(f"{where}: JSON schema is invalid. {DRAFT} {TOOL_DOCS}")

MSG_NOT_SUPPORTED = "This model doesn't support structured outputs. Remove the output format and try again."
MSG_NOT_SUPPORTED_STRICT = "This model doesn't support strict tool use. Remove strict from the tools and try again."


def anthropic_schema(output_config: Any) -> dict[str, Any] | None:
    """The schema of an Anthropic body's `output_config.format`, if any."""
    if output_config is None:
        return None
    if not isinstance(output_config, dict):
        raise validation("output_config: Input should be a valid dictionary")
    fmt = output_config.get("format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise validation("output_config.format.type: Input should be 'json_schema'")
    if not isinstance(fmt.get("schema"), dict):
        raise validation("output_config.format.schema: Input should be a valid dictionary")
    if schema_problem(fmt["schema"]) is not None:
        raise validation(f"output_config.format.schema: JSON schema is invalid. {DRAFT}")
    return fmt["schema"]


def converse_schema(output_config: Any) -> dict[str, Any] | None:
    """The schema of a Converse body's `outputConfig.textFormat` (a JSON string there), if any."""
    if output_config is None:
        return None
    if not isinstance(output_config, dict):
        raise validation("outputConfig must be an OutputConfig object.")   # the emulator's wording
    fmt = output_config.get("textFormat")
    if fmt is None:
        return None
    structure = fmt.get("structure") if isinstance(fmt, dict) else None
    definition = structure.get("jsonSchema") if isinstance(structure, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or not isinstance(definition, dict) \
            or not isinstance(definition.get("schema"), str):
        raise validation("1 validation error detected: Value at 'outputConfig.textFormat' failed to satisfy "
                         "constraint: Member must have type json_schema and a jsonSchema structure")
    try:
        schema = jsonbody.loads(definition["schema"])
    except ValueError:
        raise validation("The JSON schema in outputConfig.textFormat is not valid JSON.") from None
    if not isinstance(schema, dict):
        raise validation("The JSON schema in outputConfig.textFormat must be a JSON object.")
    if schema_problem(schema) is not None:
        raise validation(f"The JSON schema in outputConfig.textFormat is invalid. {DRAFT}")
    return schema


def require_support(info: ModelInfo, schema: dict[str, Any] | None, strict_tools: bool = False) -> None:
    """Strict tool use is structured outputs applied to a tool's input: the same models have it."""
    if (schema is not None or strict_tools) and not info.supports_structured_output:
        raise validation(MSG_NOT_SUPPORTED_STRICT if schema is None else MSG_NOT_SUPPORTED)


def tool_strict(value: Any, where: str) -> bool:
    """A tool's `strict` flag (absent: false)."""
    if value is not None and not isinstance(value, bool):
        raise validation(f"{where}.strict: Input should be a valid boolean")
    return bool(value)
