"""What each tool call the model makes is to an OpenAI client: a function call, a custom tool's text, or the answer.

Bedrock only knows tools that take a JSON object. The OpenAI request decides how a call to
one of them is shown: JSON mode's forced tool (response_format.py) is the message text, a
custom tool (custom_tools.py) a call with free-form input, anything else a function call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


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

    def of(self, block: dict[str, Any]) -> ToolKind | None:
        """The kind of a `tool_use` content block's call; None for any other block."""
        if block.get("type") != "tool_use":
            return None
        name = block.get("name")
        if self.answer is not None and name == self.answer:
            return ToolKind.ANSWER
        return ToolKind.CUSTOM if name in self.custom else ToolKind.FUNCTION


FUNCTIONS_ONLY = ToolKinds()
