"""The text units an Amazon Bedrock guardrail processed on a call: what Bedrock bills a guardrail by.

Bedrock reports them only inside the guardrail trace, in each assessment's
``invocationMetrics.usage`` (GuardrailUsage): Converse has ``trace.guardrail`` with
``inputAssessment {id: assessment}`` and ``outputAssessments {id: [assessment]}``; a Claude
InvokeModel body (or stream chunk) has ``amazon-bedrock-trace.guardrail`` with ``input`` and
``outputs``. Without a trace there is nothing to read, so only traced calls are priced.
"""

from __future__ import annotations

from typing import Any, Iterator

POLICY_UNITS = {
    "contentPolicyUnits": "content",
    "contentPolicyImageUnits": "content_image",
    "topicPolicyUnits": "topic",
    "wordPolicyUnits": "word",
    "sensitiveInformationPolicyUnits": "sensitive_information",
    "sensitiveInformationPolicyFreeUnits": "sensitive_information_free",
    "contextualGroundingPolicyUnits": "contextual_grounding",
    "automatedReasoningPolicyUnits": "automated_reasoning",
}
"""GuardrailUsage's unit members, by the policy name token-meter prices them under."""

CONVERSE_TRACE = "trace"
INVOKE_TRACE = "amazon-bedrock-trace"


def units_in(trace: Any) -> dict[str, int]:
    """Units by policy summed over every assessment in a trace (``trace`` / ``amazon-bedrock-trace``)."""
    guardrail = trace.get("guardrail") if isinstance(trace, dict) else None
    units: dict[str, int] = {}
    for usage in _usages(guardrail):
        units = added(units, units_of(usage))
    return units


def units_of(usage: Any) -> dict[str, int]:
    """Units by policy of one GuardrailUsage (an assessment's, or ApplyGuardrail's `usage`, which is what Bedrock
    bills that call for: its assessments repeat the same units)."""
    units: dict[str, int] = {}
    for member, policy in POLICY_UNITS.items():
        count = usage.get(member) if isinstance(usage, dict) else None
        if isinstance(count, int) and not isinstance(count, bool) and count > 0:
            units[policy] = count
    return units


def added(total: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    """Two counts by policy added up (a stream may report assessments in more than one chunk)."""
    return {policy: total.get(policy, 0) + more.get(policy, 0) for policy in {*total, *more}} if more else total


def _usages(node: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every ``invocationMetrics.usage`` below `node`, whatever the nesting (maps by guardrail id, lists)."""
    if depth > 6:
        return
    if isinstance(node, dict):
        metrics = node.get("invocationMetrics")
        if isinstance(metrics, dict) and isinstance(metrics.get("usage"), dict):
            yield metrics["usage"]
        for key, value in node.items():
            if key != "invocationMetrics":
                yield from _usages(value, depth + 1)
    elif isinstance(node, list):
        for item in node:
            yield from _usages(item, depth + 1)
