"""Token counts read from InvokeModel's X-Amzn-Bedrock-*-Token-Count headers (Titan, Nova, embeddings)."""

from kong_plugins.bedrock.usage import usage_from_headers
from kong_plugins.context import Usage


def test_counts_come_from_the_headers_and_anything_unreadable_counts_zero():
    headers = {"X-Amzn-Bedrock-Input-Token-Count": "12", "X-Amzn-Bedrock-Output-Token-Count": "7",
               "X-Amzn-Bedrock-Cache-Read-Input-Token-Count": "3"}
    assert usage_from_headers(headers) == Usage(input=12, output=7, cache_read=3)
    for odd in ("²", "-1", "1.5", "", " 4", None, 4):
        assert usage_from_headers({"X-Amzn-Bedrock-Input-Token-Count": odd}) == Usage(), odd
