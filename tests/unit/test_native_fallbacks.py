"""Which fallbacks a Bedrock-native call may go on to: those that take the client's body as it is (relay.call)."""

from kong_plugins.policy.catalogue import CatalogueEntry
from kong_plugins.relay.call import native_fallbacks

SONNET = CatalogueEntry("sonnet", "anthropic.sonnet", "claude", None)
HAIKU = CatalogueEntry("haiku", "anthropic.haiku", "claude", None)
NOVA = CatalogueEntry("nova-pro", "amazon.nova-pro-v1:0", "converse", None)
TITAN = CatalogueEntry("titan-embed", "amazon.titan-embed-text-v2:0", "embedding", None)
MESSAGES = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}


def test_a_plain_converse_body_goes_on_to_any_converse_model():
    assert native_fallbacks(SONNET, [NOVA, HAIKU, TITAN], "converse", MESSAGES) == [NOVA, HAIKU]


def test_a_converse_body_with_a_familys_own_fields_stays_in_the_family():
    """Claude's thinking in additionalModelRequestFields, sent to Nova, is Bedrock's 400 blaming the client."""
    thinking = {**MESSAGES, "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 2048}}}
    assert native_fallbacks(SONNET, [NOVA, HAIKU], "converse-stream", thinking) == [HAIKU]
    assert native_fallbacks(NOVA, [SONNET, HAIKU], "converse", {**MESSAGES, "additionalModelRequestFields": {
        "inferenceConfig": {"topK": 20}}}) == []


def test_an_invoke_body_goes_on_to_another_claude_only():
    assert native_fallbacks(SONNET, [NOVA, HAIKU], "invoke", {"messages": []}) == [HAIKU]
    assert native_fallbacks(NOVA, [SONNET], "invoke", {"messages": []}) == []
