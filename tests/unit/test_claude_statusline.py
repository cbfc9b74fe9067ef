"""The Claude Code status line script's pure parts: where it finds the gateway, how it words the budget."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "clients" / "claude-code" / "statusline.py"
spec = importlib.util.spec_from_file_location("statusline", SCRIPT)
statusline = importlib.util.module_from_spec(spec)
spec.loader.exec_module(statusline)


def test_the_gateway_and_key_are_found_where_claude_code_keeps_them():
    assert statusline.gateway({"ANTHROPIC_BASE_URL": "http://gw:8000/", "ANTHROPIC_API_KEY": "k1"}) == \
        ("http://gw:8000", "k1")
    assert statusline.gateway({"ANTHROPIC_BASE_URL": "http://gw", "ANTHROPIC_AUTH_TOKEN": "k2"}) == ("http://gw", "k2")
    bedrock = {"ANTHROPIC_BEDROCK_BASE_URL": "http://gw", "ANTHROPIC_CUSTOM_HEADERS": "X-Trace: 1\nx-api-key:  k3 "}
    assert statusline.gateway(bedrock) == ("http://gw", "k3")
    assert statusline.gateway({"ANTHROPIC_API_KEY": "k1"}) is None                  # Anthropic's own API
    assert statusline.gateway({"ANTHROPIC_BEDROCK_BASE_URL": "http://gw"}) is None  # no key to ask with


def test_the_line_names_what_is_limited():
    answer = {"monthly_budget_usd": {"limit": "10.000000", "remaining": "8.795689"},
              "tokens_per_day": {"limit": 4_000_000, "remaining": 3_911_787}, "tokens_per_minute": None}
    assert statusline.line(answer, "Sonnet 4.5") == \
        "Sonnet 4.5 · $8.80 of $10.00 left this month · 3.9M of 4M tokens left today"
    only_day = {"monthly_budget_usd": None, "tokens_per_day": {"limit": 50_000, "remaining": 950}}
    assert statusline.line(only_day, None) == "950 of 50k tokens left today"
    assert statusline.line({"monthly_budget_usd": None, "tokens_per_day": None}, "Haiku") == \
        "Haiku · no gateway budget limits"
