"""Structured outputs: `output_config.format` (InvokeModel, Claude) and `outputConfig.textFormat` (Converse).

Bedrock holds the reply text to the JSON schema; the emulator answers with a value built from
the schema (`generator.placeholder`), so a client that parses the reply into its own types
sees whether the gateway carried the schema through. Models without the feature, and schemas
that are not JSON objects, get a 400 ValidationException (the wording is the emulator's).
"""

from __future__ import annotations

import json
from typing import Any

from .errors import validation
from .models import ModelInfo

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
    return fmt["schema"]


def converse_schema(output_config: Any) -> dict[str, Any] | None:
    """The schema of a Converse body's `outputConfig.textFormat` (a JSON string there), if any."""
    if output_config is None:
        return None
    fmt = output_config.get("textFormat") if isinstance(output_config, dict) else None
    if fmt is None:
        return None
    definition = ((fmt.get("structure") or {}).get("jsonSchema") or {}) if isinstance(fmt, dict) else {}
    if fmt.get("type") != "json_schema" or not isinstance(definition.get("schema"), str):
        raise validation("1 validation error detected: Value at 'outputConfig.textFormat' failed to satisfy "
                         "constraint: Member must have type json_schema and a jsonSchema structure")
    try:
        schema = json.loads(definition["schema"])
    except ValueError:
        raise validation("The JSON schema in outputConfig.textFormat is not valid JSON.") from None
    if not isinstance(schema, dict):
        raise validation("The JSON schema in outputConfig.textFormat must be a JSON object.")
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
