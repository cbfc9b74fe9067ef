"""Bedrock's refusal of a client's body is never taken for a refusal of the gateway's configuration, however the
client words the keys and values Bedrock's message quotes (bedrock.errors.config_rejected)."""

import pytest

from kong_plugins.bedrock.errors import NATIVE_STATUS, config_rejected, kind_for
from kong_plugins.formats.errors import ErrorKind


@pytest.mark.parametrize("message", [
    "Malformed input request: #: extraneous key [inference profile 4111111111111111] is not permitted, please "
    "reformat your input and try again.",
    "Malformed input request: #/anthropic_version: The provided model identifier is invalid. is not a valid enum "
    "value, please reformat your input and try again.",
    "1 validation error detected: Value 'on-demand throughput isn't supported' at 'messages.1.member.content' "
    "failed to satisfy constraint",
    "messages.0.content.0.type: Input tag 'model identifier is invalid' found using 'type' does not match any of "
    "the expected tags",
])
def test_a_message_quoting_the_client_is_the_clients_400(message):
    assert not config_rejected("ValidationException", message)
    assert not config_rejected("ValidationException", message.replace("inference profile", "guardrail identifier "
                                                                      "or version provided"), gateway_guardrail=True)


def test_bedrocks_own_sentences_still_name_the_configuration():
    curly = ("Invocation of model ID anthropic.claude-3-5-haiku-20241022-v1:0 with on-demand throughput isn\u2019t "
             "supported. Retry your request with the ID or ARN of an inference profile that contains this model.")
    assert config_rejected("ValidationException", curly)
    assert config_rejected("ValidationException", " The provided model identifier is invalid. ")


def test_a_body_bedrock_cannot_deserialize_is_invalid_not_an_upstream_failure():
    """Bedrock's 400 for a body it cannot read (the gateway now refuses the bodies the emulator refuses so, nested
    past 254 levels or holding a lone surrogate, before any call: no end-to-end path reaches it)."""
    assert kind_for("SerializationException", 400) is ErrorKind.INVALID_REQUEST
    assert NATIVE_STATUS["SerializationException"] == 400


@pytest.mark.parametrize("message", [
    # an earlier wording of the on-demand refusal (ConverseStream, Claude 3 Opus, 2024), curly apostrophe or not
    "The provided model doesn't support on-demand throughput.",
    "The provided model doesn\u2019t support on-demand throughput.",
    # the current one wrapped over lines or with a double space, and for an application inference profile's ARN
    "Invocation of model ID anthropic.claude-sonnet-4-20250514-v1:0 with on-demand throughput isn\u2019t supported.\n"
    "Retry your request with the ID or ARN of an inference profile that contains this model.",
    "Invocation of model ID arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3 with "
    "on-demand throughput isn't supported.  Retry your request with the ID or ARN of an inference profile that "
    "contains this model.",
])
def test_bedrocks_wordings_of_an_unusable_model_id_name_the_configuration(message):
    assert config_rejected("ValidationException", message)


def test_a_client_quoting_the_older_wording_is_still_the_clients_400():
    assert not config_rejected("ValidationException", "Malformed input request: #: extraneous key [The provided "
                               "model doesn't support on-demand throughput.] is not permitted, please reformat your "
                               "input and try again.")
