"""Adaptive thinking for a Claude that thinks on a budget only (tests/e2e/test_claude_code_thinking.py end to end)."""

import base64
import json

import pytest

from kong_plugins.formats.reasoning import budgeted, budgeted_body, budgeted_count_body
from kong_plugins.policy.catalogue import CatalogueEntry

ADAPTIVE = {"type": "adaptive"}


@pytest.mark.parametrize("bedrock_id, adaptive", [
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", False),
    ("us.anthropic.claude-haiku-4-5-20251001-v1:0", False),
    ("anthropic.claude-opus-4-20250514-v1:0", False),          # Opus 4: the date is no minor version
    ("anthropic.claude-opus-4-1-20250805-v1:0", False),
    ("anthropic.claude-3-7-sonnet-20250219-v1:0", False),
    ("anthropic.claude-v2:1", False),
    ("us.anthropic.claude-opus-4-6-v1", True),
    ("global.anthropic.claude-sonnet-4-6", True),
    ("anthropic.claude-opus-4-7", True),
    ("anthropic.claude-sonnet-5", True),
    ("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123", True),   # unreadable: as sent
])
def test_which_claude_takes_adaptive_thinking(bedrock_id, adaptive):
    assert CatalogueEntry("m", bedrock_id, "claude", None).adaptive_thinking is adaptive


@pytest.mark.parametrize("effort, budget", [(None, 51200), ("high", 51200), ("low", 16000), ("max", 60800),
                                            ("someday", 51200)])
def test_the_budget_is_the_efforts_share_of_max_tokens(effort, budget):
    request = {"max_tokens": 64000, "thinking": {**ADAPTIVE, "display": "summarized"}, "messages": []}
    if effort:
        request["output_config"] = {"effort": effort}
    assert budgeted(request)["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert request["thinking"]["type"] == "adaptive"   # the client's request is left as it was


def test_edges():
    assert budgeted({"max_tokens": 1025, "thinking": ADAPTIVE})["thinking"] == {"type": "enabled",
                                                                                 "budget_tokens": 1024}
    assert budgeted({"max_tokens": 1024, "thinking": ADAPTIVE, "system": "s"}) == {"max_tokens": 1024, "system": "s"}
    assert budgeted({"thinking": ADAPTIVE})["thinking"] == {"type": "enabled", "budget_tokens": 1024}   # counting
    enabled = {"max_tokens": 9000, "thinking": {"type": "enabled", "budget_tokens": 2048}}
    assert budgeted(enabled) is enabled


def test_a_native_body_is_rewritten_only_when_it_asks_for_adaptive_thinking():
    plain = json.dumps({"max_tokens": 9000, "messages": [{"role": "user", "content": "be adaptive"}]}).encode()
    assert budgeted_body(plain) is plain
    rewritten = json.loads(budgeted_body(json.dumps({"max_tokens": 9000, "thinking": ADAPTIVE}).encode()))
    assert rewritten == {"max_tokens": 9000, "thinking": {"type": "enabled", "budget_tokens": 7200}}


@pytest.mark.parametrize("effort", [["high"], {"level": "high"}, 3, None])
def test_an_effort_that_is_no_word_thinks_on_the_default_share(effort):
    """`output_config.effort` is the client's: a list or an object there was a TypeError (unhashable) in the plugin,
    so the client got a 503, "A gateway check did not run"."""
    request = {"max_tokens": 64000, "thinking": ADAPTIVE, "output_config": {"effort": effort}}
    assert budgeted(request)["thinking"] == {"type": "enabled", "budget_tokens": 51200}
    rewritten = json.loads(budgeted_body(json.dumps(request).encode()))
    assert rewritten["thinking"] == {"type": "enabled", "budget_tokens": 51200}


def test_a_native_count_body_is_rewritten_inside_its_invoke_model_body():
    def count(inner: bytes) -> bytes:
        return json.dumps({"input": {"invokeModel": {"body": base64.b64encode(inner).decode()}}}).encode()

    adaptive = json.dumps({"max_tokens": 9000, "thinking": ADAPTIVE}).encode()
    inner = json.loads(budgeted_count_body(count(adaptive)))["input"]["invokeModel"]["body"]
    assert json.loads(base64.b64decode(inner)) == {"max_tokens": 9000,
                                                   "thinking": {"type": "enabled", "budget_tokens": 7200}}
    for unread in (count(b'{"thinking": {"type": "adaptive"'), count(b"[1]"), count(b'{"x": "adaptive"}'),
                   b'{"input": {"invokeModel": {"body": "not base64 adaptive"}}}', b'{"input": {"invokeModel": 1}}',
                   b'{"input": {"converse": {"messages": []}}}', b"[]"):
        assert budgeted_count_body(unread) is unread     # Bedrock's to refuse, or nothing to rewrite


def test_the_effort_goes_with_adaptive_thinking_and_the_format_stays():
    """Bedrock's Sonnet 4.5 answers output_config.effort with a 400: the effort is the budget now."""
    schema = {"type": "json_schema", "schema": {"type": "object"}}
    request = {"max_tokens": 9000, "thinking": ADAPTIVE, "output_config": {"effort": "low", "format": schema}}
    assert budgeted(request) == {"max_tokens": 9000, "thinking": {"type": "enabled", "budget_tokens": 2250},
                                 "output_config": {"format": schema}}
    assert budgeted({"max_tokens": 1000, "thinking": ADAPTIVE, "output_config": {"effort": "low"}}) == \
        {"max_tokens": 1000}
    kept = {"max_tokens": 9000, "output_config": {"effort": "low"}}      # no adaptive thinking: as it is
    assert budgeted(kept) is kept


@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "Read"}])
def test_a_forced_tool_is_called_without_thinking(choice):
    """Adaptive thinking takes a forced tool (it may think not); thinking on a budget does not (a 400)."""
    request = {"max_tokens": 9000, "thinking": ADAPTIVE, "tool_choice": choice}
    assert budgeted(request) == {"max_tokens": 9000, "tool_choice": choice}
    auto = {"max_tokens": 9000, "thinking": ADAPTIVE, "tool_choice": {"type": "auto"}}
    assert budgeted(auto)["thinking"] == {"type": "enabled", "budget_tokens": 7200}
