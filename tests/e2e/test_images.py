"""OpenAI image generation through the whole stack on Nova Canvas, with the official SDK and boto3."""

import base64
import json
import struct

import openai
import pytest

from tests.e2e.clients import bedrock_runtime, metric, metric_reaches, oa, sent
from tests.stack import GatewayStack

PROMPT = "A white ceramic mug on a wooden table, soft studio light"
IMAGES_METRIC = 'kong_bedrock_images_total{model="nova-canvas",quality="%s",role="%s"}'


def png_size(b64: str) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (after the 8-byte signature)."""
    data = base64.b64decode(b64)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def canvas_calls(stack):
    return [r for r in sent(stack) if "nova-canvas" in r["model_id"]]


def test_sdk_gets_pngs_of_the_size_asked_billed_per_image(stack):
    before = metric(stack, IMAGES_METRIC % ("premium", "ecommerce_ops"))
    raw = oa(stack, "dev-ops-key").images.with_raw_response.generate(
        model="nova-canvas", prompt=PROMPT, n=2, size="1280x720", quality="hd")
    result = raw.parse()
    assert [png_size(image.b64_json) for image in result.data] == [(1280, 720), (1280, 720)]
    assert result.data[0].b64_json != result.data[1].b64_json and result.size == "1280x720"
    [call] = canvas_calls(stack)
    assert call["operation"] == "invoke" and call["body"] == {
        "taskType": "TEXT_IMAGE", "textToImageParams": {"text": PROMPT},
        "imageGenerationConfig": {"numberOfImages": 2, "width": 1280, "height": 720, "quality": "premium"}}
    assert raw.headers["X-Token-Cost-USD"] == "0.120000"   # 2 premium images up to 1024x1024 at $0.06
    assert raw.headers["X-Bedrock-Model"] == "nova-canvas" and raw.headers["X-Token-Usage-Total"] == "0"
    assert metric_reaches(stack, IMAGES_METRIC % ("premium", "ecommerce_ops"), before + 2)


def test_url_format_is_a_data_url_and_extra_fields_reach_bedrock(stack):
    result = oa(stack, "dev-developer-key").images.generate(
        model="nova-canvas", prompt=PROMPT, response_format="url", size="512x512",
        extra_body={"negative_prompt": "text, logos", "seed": 42, "cfg_scale": 7.5})
    [image] = result.data
    assert image.url.startswith("data:image/png;base64,") and image.b64_json is None
    assert png_size(image.url.split(",", 1)[1]) == (512, 512)
    [call] = canvas_calls(stack)
    assert call["body"]["textToImageParams"]["negativeText"] == "text, logos"
    assert call["body"]["imageGenerationConfig"] == {"numberOfImages": 1, "width": 512, "height": 512,
                                                        "quality": "standard", "seed": 42, "cfgScale": 7.5}


def test_a_card_number_in_the_prompt_is_blocked_before_bedrock(stack):
    with pytest.raises(openai.PermissionDeniedError) as exc:
        oa(stack, "dev-ops-key").images.generate(model="nova-canvas",
                                                 prompt="A gift card showing 4111 1111 1111 1111 exp 09/29")
    assert exc.value.body["code"] == "content_blocked" and "payment_card" in exc.value.message
    assert "4111" not in exc.value.message and not canvas_calls(stack)


def test_bedrock_refusals_are_openai_400s(stack):
    from kong_plugins.emulator.images import CONTENT_FILTER_MARKER
    client = oa(stack, "dev-developer-key")
    with pytest.raises(openai.BadRequestError) as exc:
        client.images.generate(model="nova-canvas", prompt=f"a poster, {CONTENT_FILTER_MARKER}")
    assert exc.value.status_code == 400 and "content filters" in exc.value.message
    assert CONTENT_FILTER_MARKER not in exc.value.message
    with pytest.raises(openai.BadRequestError) as exc:   # Nova Canvas draws 320 to 4096 pixels a side
        client.images.generate(model="nova-canvas", prompt=PROMPT, size="256x256")
    assert exc.value.status_code == 400 and "Traceback" not in exc.value.message
    assert len(canvas_calls(stack)) == 2


def test_what_the_gateway_refuses_itself_costs_no_call(stack):
    client = oa(stack, "dev-developer-key")
    with pytest.raises(openai.BadRequestError) as exc:
        client.images.generate(model="nova-canvas", prompt=PROMPT, n=6)
    assert exc.value.body["param"] == "n"
    with pytest.raises(openai.BadRequestError) as exc:
        client.images.generate(model="sonnet", prompt=PROMPT)
    assert "not an image model" in exc.value.message and "nova-canvas" in exc.value.message
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="nova-canvas", messages=[{"role": "user", "content": "hi"}])
    assert "/v1/images/generations" in exc.value.message
    with pytest.raises(openai.PermissionDeniedError):
        oa(stack, "dev-analyst-key").images.generate(model="nova-canvas", prompt=PROMPT)
    assert not canvas_calls(stack)


def test_a_throttled_call_is_retried(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "throttle", "count": 1, "model": "nova-canvas"})
    result = oa(stack, "dev-ops-key").images.generate(model="nova-canvas", prompt=PROMPT)
    assert len(result.data) == 1 and len(canvas_calls(stack)) == 2


def test_bedrock_native_invoke_is_metered_from_its_body(stack):
    body = {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": PROMPT},
            "imageGenerationConfig": {"numberOfImages": 3, "width": 1024, "height": 1024}}
    response = bedrock_runtime(stack).invoke_model(modelId="amazon.nova-canvas-v1:0", body=json.dumps(body))
    answer = json.loads(response["body"].read())
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert [png_size(image) for image in answer["images"]] == [(1024, 1024)] * 3
    assert headers["x-token-cost-usd"] == "0.120000" and headers["x-bedrock-model"] == "nova-canvas"


def test_the_monthly_budget_counts_images_and_refuses_before_drawing():
    overrides = {"token-meter": {"consumer_overrides": [{"consumer": "ops-user", "monthly_budget_usd": 0.10}]}}
    with GatewayStack(config_overrides=overrides) as stack:
        client = oa(stack, "dev-ops-key")
        with pytest.raises(openai.RateLimitError) as exc:   # 2 premium: $0.12 reserved, over $0.10
            client.images.generate(model="nova-canvas", prompt=PROMPT, n=2, quality="hd")
        assert exc.value.body["code"] == "budget_exceeded" and not canvas_calls(stack)
        raw = client.images.with_raw_response.generate(model="nova-canvas", prompt=PROMPT, n=2)   # $0.08
        assert raw.headers["X-Budget-Remaining-USD"] == "0.020000"
        with pytest.raises(openai.RateLimitError):   # $0.04 more does not fit in the $0.02 left
            client.images.generate(model="nova-canvas", prompt=PROMPT)
        assert len(canvas_calls(stack)) == 1
