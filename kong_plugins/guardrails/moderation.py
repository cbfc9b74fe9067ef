"""`POST /v1/moderations` in OpenAI's shape, answered by ecommerce-guardrails' own detectors.

E-commerce teams screen text that never goes to a model: a customer's chat message, a product
review, a support ticket, before it is stored or shown. The OpenAI SDKs' `moderations.create` (and
tools with an OpenAI moderation setting) can ask the gateway whether the text holds what its
guardrails look for. The categories are the guardrails' (sql_injection, payment_card, cvv,
credentials, abuse and the custom patterns), not OpenAI's (hate, violence, ...), which the gateway
does not judge. A category is true when it was found under any action but `off`; a result is
`flagged` when something found would be blocked or redacted. Nothing is logged, and the text is
never echoed. Pure: the scanner and the request body in, OpenAI's body out.
"""

from __future__ import annotations

import secrets
from typing import Any

from kong_plugins.formats.body import RequestError, load_json_object
from kong_plugins.guardrails.scanner import Scanner

PATH = "/v1/moderations"
MODEL = "ecommerce-guardrails"
INTERVENING = frozenset({"block", "redact"})


def moderate(scanner: Scanner, raw: bytes | None) -> dict[str, Any]:
    """OpenAI's moderation object for the request's `input`: one result per string of a list, one for a
    string or for a list of content parts (whose text parts are read; images are not). RequestError names the
    field."""
    texts = _texts(load_json_object(raw).get("input"))
    return {"id": "modr-" + secrets.token_hex(12), "model": MODEL,
            "results": [_result(scanner, text) for text in texts]}


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return value
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        for index, part in enumerate(value):
            if part.get("type") not in ("text", "image_url"):
                raise RequestError(f"input.{index}.type: must be text or image_url.", f"input.{index}.type")
            if part.get("type") == "text" and not isinstance(part.get("text"), str):
                raise RequestError(f"input.{index}.text: must be a string.", f"input.{index}.text")
        return ["\n".join(part["text"] for part in value if part.get("type") == "text")]
    raise RequestError("input: must be a string, a list of strings, or a list of text and image_url parts.",
                       "input")


def _result(scanner: Scanner, text: str) -> dict[str, Any]:
    found = scanner.findings_in(text)
    categories = {category: category in found for category in scanner.categories}
    return {"flagged": any(action in INTERVENING for action in found.values()), "categories": categories,
            "category_scores": {category: 1.0 if hit else 0.0 for category, hit in categories.items()},
            "category_applied_input_types": {category: ["text"] for category in categories}}
