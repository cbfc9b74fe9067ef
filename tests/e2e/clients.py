"""What the end-to-end tests of the OpenAI APIs share: the official SDK's client, and what the emulator saw."""

import openai


def oa(stack, key="dev-developer-key"):
    # Plain SDK use: the key travels as `Authorization: Bearer` (kong.yaml's pre-function maps it for key-auth).
    return openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key=key, max_retries=0)


def last_sent(stack):
    """The last request the emulator received (operation, model id, body)."""
    return stack.emulator_control("GET", "/_emulator/requests").json()[-1]
