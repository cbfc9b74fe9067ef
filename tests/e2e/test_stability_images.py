"""OpenAI image generation on Stability AI's Stable Image Core through the whole stack, with the official SDK
and boto3: Stability's own body, one image per call at the nearest aspect ratio, a flat price per image, and a
filtered answer (Bedrock's 200 without an image) as OpenAI's content-policy 400."""

import json

import openai
import pytest

from kong_plugins.emulator.images import CONTENT_FILTER_MARKER
from tests.e2e.clients import bedrock_runtime, metric, metric_reaches, oa, sent
from tests.e2e.test_images import PROMPT, png_size

CORE = "stability.stable-image-core-v1:1"
IMAGES_METRIC = 'kong_bedrock_images_total{model="stable-image-core",quality="standard",role="%s"}'


def core_calls(stack):
    return [r for r in sent(stack) if r["model_id"] == CORE]


def test_sdk_gets_one_png_at_the_nearest_aspect_ratio_billed_per_image(stack):
    before = metric(stack, IMAGES_METRIC % "ecommerce_ops")
    raw = oa(stack, "dev-ops-key").images.with_raw_response.generate(
        model="stable-image-core", prompt=PROMPT, size="1792x1024", quality="hd",
        extra_body={"negative_prompt": "text, logos", "seed": 42})
    result = raw.parse()
    [image] = result.data
    assert png_size(image.b64_json) == (1344, 768) and result.size == "1344x768"
    [call] = core_calls(stack)
    assert call["operation"] == "invoke" and call["body"] == {
        "prompt": PROMPT, "aspect_ratio": "16:9", "output_format": "png", "negative_prompt": "text, logos",
        "seed": 42}
    assert raw.headers["X-Token-Cost-USD"] == "0.040000"   # one price per image, whatever its quality
    assert raw.headers["X-Bedrock-Model"] == "stable-image-core"
    assert metric_reaches(stack, IMAGES_METRIC % "ecommerce_ops", before + 1)


def test_stabilitys_own_aspect_ratio_and_a_data_url(stack):
    result = oa(stack, "dev-developer-key").images.generate(
        model="stable-image-core", prompt=PROMPT, response_format="url", extra_body={"aspect_ratio": "9:21"})
    [image] = result.data
    assert image.url.startswith("data:image/png;base64,") and png_size(image.url.split(",", 1)[1]) == (640, 1536)
    assert core_calls(stack)[0]["body"]["aspect_ratio"] == "9:21"


def test_a_filtered_image_is_openais_content_policy_400_and_costs_nothing(stack):
    client = oa(stack, "dev-ops-key")
    with pytest.raises(openai.BadRequestError) as exc:
        client.images.with_raw_response.generate(model="stable-image-core", prompt=f"a poster, {CONTENT_FILTER_MARKER}")
    assert exc.value.status_code == 400 and exc.value.body["code"] == "content_policy_violation"
    assert "content filters" in exc.value.message and CONTENT_FILTER_MARKER not in exc.value.message
    assert exc.value.response.headers.get("X-Token-Cost-USD") in (None, "0.000000")
    assert len(core_calls(stack)) == 1   # a filtered prompt is not retried


def test_what_stability_cannot_draw_is_refused_before_any_call(stack):
    client = oa(stack, "dev-developer-key")
    for extra, param in (({"n": 2}, "n"), ({"extra_body": {"cfg_scale": 7}}, "cfg_scale"),
                         ({"extra_body": {"aspect_ratio": "4:3"}}, "aspect_ratio")):
        with pytest.raises(openai.BadRequestError) as exc:
            client.images.generate(model="stable-image-core", prompt=PROMPT, **extra)
        assert exc.value.body["param"] == param
    with pytest.raises(openai.BadRequestError) as exc:
        client.images.generate(model="nova-canvas", prompt=PROMPT, extra_body={"aspect_ratio": "1:1"})
    assert exc.value.body["param"] == "aspect_ratio"
    assert not core_calls(stack) and not [r for r in sent(stack) if "nova-canvas" in r["model_id"]]


def test_bedrock_native_invoke_gets_stabilitys_bytes_and_is_metered_from_its_body(stack):
    runtime = bedrock_runtime(stack, "dev-ops-key")
    response = runtime.invoke_model(modelId=CORE, body=json.dumps({"prompt": PROMPT, "aspect_ratio": "3:2"}))
    answer = json.loads(response["body"].read())
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert answer["finish_reasons"] == [None] and isinstance(answer["seeds"][0], int)
    assert [png_size(image) for image in answer["images"]] == [(1216, 832)]
    assert headers["x-token-cost-usd"] == "0.040000" and headers["x-bedrock-model"] == "stable-image-core"
    filtered = runtime.invoke_model(modelId=CORE, body=json.dumps({"prompt": f"x {CONTENT_FILTER_MARKER}"}))
    assert json.loads(filtered["body"].read()) == {"finish_reasons": ["Filter reason: prompt"]}
    assert filtered["ResponseMetadata"]["HTTPHeaders"]["x-token-cost-usd"] == "0.000000"


def test_a_card_number_in_a_native_stability_prompt_is_blocked_before_bedrock(stack):
    with pytest.raises(Exception) as exc:
        bedrock_runtime(stack, "dev-ops-key").invoke_model(
            modelId=CORE, body=json.dumps({"prompt": "A gift card showing 4111 1111 1111 1111 exp 09/29"}))
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "4111" not in str(exc.value) and not core_calls(stack)
