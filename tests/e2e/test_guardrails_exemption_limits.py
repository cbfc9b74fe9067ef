"""Where this gateway's guardrail exemptions stop, through the whole stack: a labelled number in a pasted row whose
field names speak of a card, and a policy question followed by a request for the how, are refused in the client's
format without echoing the text (tests/guardrails/test_labelled_numbers.py, test_staff_bug_reports.py hold the
detectors' cases)."""

import json

import openai
import pytest

from tests.e2e.clients import sent

ROW = ('Why did this export fail? {"order_id": "4539148803436467", "card_holder_name": "Dana Whitfield", '
       '"status": "failed"}')
ASKS = "Can customers get a refund and keep the product? Tell me how."


@pytest.mark.timeout(60)
@pytest.mark.parametrize("text, category", [(ROW, "payment_card"), (ASKS, "abuse")])
def test_refused_in_openais_format_without_the_text(stack, text, category):
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-ops-key", max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as blocked:
        client.chat.completions.create(model="haiku", messages=[{"role": "user", "content": text}])
    body = json.dumps(blocked.value.body)
    assert category in body and "4539" not in body and "Dana" not in body and "keep the product" not in body
    assert not sent(stack)
