"""Prompt-cache TTLs: an hour's writes are reported apart from five minutes' (Anthropic's cache_creation, Converse's
cacheDetails), since Bedrock bills them at 2x input against 1.25x."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from emulator_helpers import SONNET_45, claude_body

POLICY = "Stable shop policy for every support answer. " * 40
TOOLS = "Reference catalogue of the shop's parcels and zones. " * 40


def _system(*ttls: str | None) -> list[dict]:
    """Two cached system blocks, the first with ttls[0], the second with ttls[1] (None: no ttl named)."""
    blocks = []
    for text, ttl in zip((POLICY, TOOLS), ttls):
        control = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
        blocks.append({"type": "text", "text": text, "cache_control": control})
    return blocks


def test_invoke_splits_writes_by_ttl_and_reads_them_back(invoke) -> None:
    first = invoke(claude_body("first", system=_system("1h", "5m")))["json"]["usage"]
    split = first["cache_creation"]
    assert split["ephemeral_1h_input_tokens"] > 0 and split["ephemeral_5m_input_tokens"] > 0
    assert split["ephemeral_1h_input_tokens"] + split["ephemeral_5m_input_tokens"] == \
        first["cache_creation_input_tokens"]
    second = invoke(claude_body("second", system=_system("1h", "5m")))["json"]["usage"]
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert second["cache_creation"] == {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}


def test_invoke_without_a_ttl_writes_five_minutes(invoke) -> None:
    usage = invoke(claude_body("first", system=_system(None, None)))["json"]["usage"]
    assert usage["cache_creation"]["ephemeral_1h_input_tokens"] == 0
    assert usage["cache_creation"]["ephemeral_5m_input_tokens"] == usage["cache_creation_input_tokens"] > 0


def test_an_hour_after_five_minutes_is_a_400(client) -> None:
    with pytest.raises(ClientError) as exc:
        client.invoke_model(modelId=SONNET_45, body=json.dumps(claude_body("x", system=_system("5m", "1h"))))
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert "1h must not come after" in exc.value.response["Error"]["Message"]


def test_converse_reports_cache_details_by_ttl(client) -> None:
    system = [{"text": POLICY}, {"cachePoint": {"type": "default", "ttl": "1h"}},
              {"text": TOOLS}, {"cachePoint": {"type": "default"}}]
    kwargs = dict(modelId=SONNET_45, system=system, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    first = client.converse(**kwargs)["usage"]
    details = {d["ttl"]: d["inputTokens"] for d in first["cacheDetails"]}
    assert set(details) == {"5m", "1h"} and sum(details.values()) == first["cacheWriteInputTokens"]
    second = client.converse(**kwargs)["usage"]
    assert second["cacheReadInputTokens"] == first["cacheWriteInputTokens"] and "cacheDetails" not in second


def test_converse_rejects_an_unknown_ttl(client) -> None:
    with pytest.raises(ClientError) as exc:
        client.converse(modelId=SONNET_45, system=[{"text": POLICY}, {"cachePoint": {"type": "default", "ttl": "2h"}}],
                        messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert exc.value.response["Error"]["Code"] == "ValidationException"
