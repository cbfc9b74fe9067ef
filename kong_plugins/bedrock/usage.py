"""Token counts from InvokeModel's response headers, which Bedrock sends for every model.

Claude's body carries its usage too, but Titan's, Nova's and the embedding models' bodies
each count in their own fields (or not at all): for a Bedrock-native client calling one of
them, the headers are the one place the counts are always found.
"""

from __future__ import annotations

from typing import Any, Mapping

from kong_plugins.context import Usage


def usage_from_headers(headers: Mapping[str, Any]) -> Usage:
    def count(name: str) -> int:
        value = headers.get(name)
        return int(value) if isinstance(value, str) and value.isdecimal() else 0

    return Usage(input=count("X-Amzn-Bedrock-Input-Token-Count"), output=count("X-Amzn-Bedrock-Output-Token-Count"),
                 cache_read=count("X-Amzn-Bedrock-Cache-Read-Input-Token-Count"),
                 cache_write=count("X-Amzn-Bedrock-Cache-Write-Input-Token-Count"))
