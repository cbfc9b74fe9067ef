"""What each tool call the model makes is to an OpenAI client: a function call, a custom tool's text, or the answer.

Bedrock only knows tools that take a JSON object. The OpenAI request decides how a call to
one of them is shown: JSON mode's forced tool (response_format.py) is the message text, a
custom tool (custom_tools.py) a call with free-form input, anything else a function call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping


class ToolKind(Enum):
    FUNCTION = "function"
    CUSTOM = "custom"
    ANSWER = "answer"


@dataclass(frozen=True)
class ToolKinds:
    answer: str | None = None
    """JSON mode's forced tool, whose input is the answer."""
    custom: frozenset[str] = field(default_factory=frozenset)
    """The client's custom tools."""
    namespaced: Mapping[str, tuple[str, str]] = field(default_factory=dict, hash=False)
    """Bedrock tool name -> (namespace, name) of a Responses `namespace` tool's tools."""

    def of(self, block: dict[str, Any]) -> ToolKind | None:
        """The kind of a `tool_use` content block's call; None for any other block."""
        if block.get("type") != "tool_use":
            return None
        name = block.get("name")
        if self.answer is not None and name == self.answer:
            return ToolKind.ANSWER
        return ToolKind.CUSTOM if name in self.custom else ToolKind.FUNCTION

    def client_name(self, name: Any) -> tuple[str | None, Any]:
        """The namespace (None outside one) and name the client gave the tool Bedrock calls `name`."""
        return self.namespaced.get(name, (None, name)) if isinstance(name, str) else (None, name)


FUNCTIONS_ONLY = ToolKinds()
