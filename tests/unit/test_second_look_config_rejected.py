"""Bedrock's own refusals of a configured model id keep naming the operators' misconfiguration (its alert and the
fallback model) in each wording Bedrock is seen to send (bedrock.errors.config_rejected)."""

import pytest

from kong_plugins.bedrock.errors import config_rejected


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
