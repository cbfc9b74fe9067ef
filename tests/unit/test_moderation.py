"""OpenAI's moderations answered by the guardrails' detectors: categories, flagged, input shapes, bad input."""

import json

import pytest

from kong_plugins.formats.body import RequestError
from kong_plugins.guardrails.moderation import moderate
from kong_plugins.guardrails.scanner import Scanner

CARD = "4111 1111 1111 1111"


def _moderate(body, **config):
    return moderate(Scanner(config), json.dumps(body).encode())


def test_each_string_gets_a_result_naming_what_it_holds():
    answer = _moderate({"input": [f"my card is {CARD}", "where is order 42?", "' OR 1=1; DROP TABLE users; --"]})
    assert answer["model"] == "ecommerce-guardrails" and answer["id"].startswith("modr-")
    card, plain, sql = answer["results"]
    assert card["flagged"] and card["categories"]["payment_card"] and card["category_scores"]["payment_card"] == 1.0
    assert not plain["flagged"] and not any(plain["categories"].values())
    assert sql["flagged"] and sql["categories"]["sql_injection"]
    assert set(card["categories"]) == {"sql_injection", "payment_card", "cvv", "credentials", "abuse"}
    assert CARD not in json.dumps(answer)                                        # the text is never echoed


def test_monitored_categories_are_reported_but_not_flagged_and_off_ones_not_at_all():
    monitored = _moderate({"input": f"card {CARD}"}, payment_card="monitor")["results"][0]
    assert monitored["categories"]["payment_card"] and not monitored["flagged"]
    off = _moderate({"input": f"card {CARD}"}, payment_card="off")["results"][0]
    assert "payment_card" not in off["categories"] and not off["flagged"]
    custom = _moderate({"input": "ship it to SKU-123456"}, custom_patterns=[
        {"category": "internal_sku", "pattern": r"SKU-\d{6}", "action": "redact"}])["results"][0]
    assert custom["categories"]["internal_sku"] and custom["flagged"]


def test_content_parts_are_one_result_of_their_text():
    answer = _moderate({"input": [{"type": "text", "text": "pay with"}, {"type": "image_url", "image_url": {
        "url": "data:image/png;base64,AAAA"}}, {"type": "text", "text": CARD}]})
    assert len(answer["results"]) == 1 and answer["results"][0]["categories"]["payment_card"]


@pytest.mark.parametrize("body,param", [({}, "input"), ({"input": 7}, "input"), ({"input": []}, "input"),
                                        ({"input": ["a", 1]}, "input"),
                                        ({"input": [{"type": "audio"}]}, "input.0.type"),
                                        ({"input": [{"type": "text", "text": 3}]}, "input.0.text")])
def test_bad_input_is_the_clients_400_naming_the_field(body, param):
    with pytest.raises(RequestError) as refused:
        _moderate(body)
    assert refused.value.param == param
