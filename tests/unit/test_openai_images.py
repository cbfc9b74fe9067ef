"""OpenAI image generation: the request as a Nova Canvas job, its price, the planned call and the answer,
without Kong or Bedrock."""

import json
from decimal import Decimal

import pytest

from kong_plugins import bedrock_proxy
from kong_plugins.context import ImageCount, Usage
from kong_plugins.formats import openai_images
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.image_models import billed_by_body, read_images
from kong_plugins.guardrails.segments import user_segments
from kong_plugins.metering.pricing import PriceTable
from kong_plugins.relay.responses import render_message
from tests.unit.test_bedrock_proxy_decide import CONFIG, PLUGIN, ctx_for


def parse(**body):
    return openai_images.parse_request(json.dumps(body).encode())


def test_an_openai_request_becomes_a_text_to_image_body():
    job, model, response_format = parse(model="nova-canvas", prompt="A red shoe on white", n=2, size="1280x720",
                                        quality="hd", negative_prompt="text, watermark", seed=7, cfg_scale=8,
                                        style="vivid", user="u-1")
    assert (model, response_format) == ("nova-canvas", "b64_json")
    assert json.loads(job.body()) == {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": "A red shoe on white", "negativeText": "text, watermark"},
        "imageGenerationConfig": {"numberOfImages": 2, "width": 1280, "height": 720, "quality": "premium", "seed": 7,
                                  "cfgScale": 8.0}}
    assert job.billed() == ImageCount("premium", 1280, 720, 2)


def test_defaults_are_bedrocks():
    job, model, response_format = parse(prompt="a hat", size="auto", quality="medium", response_format="url")
    assert model is None and response_format == "url"
    assert json.loads(job.body())["imageGenerationConfig"] == {"numberOfImages": 1, "width": 1024, "height": 1024,
                                                               "quality": "standard"}


@pytest.mark.parametrize("body, param, words", [
    ({}, "prompt", "Field required"),
    ({"prompt": "   "}, "prompt", "non-empty"),
    ({"prompt": ["a"]}, "prompt", "non-empty string"),
    ({"prompt": "a", "n": 6}, "n", "1 to 5"),
    ({"prompt": "a", "n": 0}, "n", "1 to 5"),
    ({"prompt": "a", "n": True}, "n", "1 to 5"),
    ({"prompt": "a", "size": "1024"}, "size", "WIDTHxHEIGHT"),
    ({"prompt": "a", "size": "1024x-5"}, "size", "WIDTHxHEIGHT"),
    ({"prompt": "a", "quality": "ultra"}, "quality", "must be one of"),
    ({"prompt": "a", "response_format": "png"}, "response_format", "b64_json or url"),
    ({"prompt": "a", "stream": True}, "stream", "finished images only"),
    ({"prompt": "a", "output_format": "jpeg"}, "output_format", "PNG only"),
    ({"prompt": "a", "background": "transparent"}, "background", "transparent"),
    ({"prompt": "a", "seed": -1}, "seed", "0 to 2147483646"),
    ({"prompt": "a", "seed": 2147483647}, "seed", "0 to 2147483646"),
    ({"prompt": "a", "cfg_scale": "high"}, "cfg_scale", "a number"),
    ({"prompt": "a", "negative_prompt": 3}, "negative_prompt", "a string"),
])
def test_bad_requests_name_the_field(body, param, words):
    with pytest.raises(RequestError) as exc:
        parse(**body)
    assert exc.value.param == param and words in str(exc.value)


def test_images_are_priced_by_quality_and_size():
    prices = PriceTable.from_config(None)

    def cost(model, *images):
        return prices.for_model(model).cost_usd(Usage(images=tuple(images)))

    assert cost("nova-canvas", ImageCount("standard", 1024, 1024, 1)) == Decimal("0.04")
    assert cost("nova-canvas", ImageCount("standard", 1280, 720, 3)) == Decimal("0.12")   # fits 1024x1024's pixels
    assert cost("nova-canvas", ImageCount("premium", 2048, 1024, 2)) == Decimal("0.16")
    assert cost("nova-canvas", ImageCount("premium", 4096, 1024, 1)) == Decimal("0.08")   # the largest tier
    assert cost("titan-image", ImageCount("standard", 512, 512, 1), ImageCount("premium", 1024, 1024, 1)) \
        == Decimal("0.020")
    assert cost("haiku", ImageCount("standard", 1024, 1024, 1)) == 0   # a text model has no image price
    assert cost("a-new-image-model", ImageCount("premium", 2048, 2048, 1)) == Decimal("0.14")   # the dearest known


def test_image_prices_can_be_overridden_in_token_meter():
    prices = PriceTable.from_config([{"model": "nova-canvas", "input": 0, "output": 0,
                                      "images": [{"quality": "standard", "max_pixels": 4_194_304, "usd": 0.05}]}])
    assert prices.for_model("nova-canvas").cost_usd(Usage(images=(ImageCount("standard", 1024, 1024, 2),))) \
        == Decimal("0.10")
    kept = PriceTable.from_config([{"model": "nova-canvas", "input": 1, "output": 1}])   # tokens only: tiers kept
    assert kept.for_model("nova-canvas").per_image(ImageCount("premium", 1024, 1024, 1)) == Decimal("0.06")


def test_decide_plans_one_invoke_call_and_reserves_its_images():
    ctx = ctx_for("ecommerce_ops", {"model": "nova-canvas", "prompt": "a lamp", "n": 3, "quality": "hd"})
    assert PLUGIN.decide(ctx, "/v1/images/generations") is None
    call = ctx.upstream
    assert (call.operation, call.model_id, call.api.value, call.stream) == ("invoke", "amazon.nova-canvas-v1:0",
                                                                           "openai", False)
    assert not ctx.fallbacks and ctx.model == "nova-canvas"
    assert json.loads(call.body)["imageGenerationConfig"]["numberOfImages"] == 3
    assert ctx.upstream.billed_apiece.images == (ImageCount("premium", 1024, 1024, 3),)
    assert (ctx.planned_input, ctx.planned_output) == (0, 0)


@pytest.mark.parametrize("role, body, status, words", [
    ("developer", {"prompt": "x"}, 400,
     "model: required; image models your role may use: nova-canvas, stable-image-core."),
    ("developer", {"model": "haiku", "prompt": "x"}, 400, "haiku is not an image model"),
    ("analyst", {"model": "nova-canvas", "prompt": "x"}, 403, "may use these models"),
    ("guest", {"prompt": "x"}, 400, "image models your role may use: none."),
    ("developer", {"model": "dall-e-3", "prompt": "x"}, 404, "catalogue"),
    ("developer", {"model": "nova-canvas", "prompt": "x", "n": 9}, 400, "1 to 5"),
])
def test_image_refusals(role, body, status, words):
    reply = PLUGIN.decide(ctx_for(role, body), "/v1/images/generations")
    assert reply.status == status and words in reply.body["error"]["message"]


def test_a_role_behind_a_bedrock_guardrail_cannot_bypass_it_with_images():
    roles = [{**r, "bedrock_guardrail": {"identifier": "gr-1", "version": "1"}} if r["name"] == "developer" else r
             for r in CONFIG["roles"]]
    plugin = bedrock_proxy.Plugin({**CONFIG, "roles": roles})
    body = {"model": "nova-canvas", "prompt": "x", "taskType": "TEXT_IMAGE", "textToImageParams": {"text": "x"}}
    for path in ("/v1/images/generations", "/model/amazon.nova-canvas-v1:0/invoke"):
        reply = plugin.decide(ctx_for("developer", body), path)
        assert reply.status == 403 and "cannot apply" in json.dumps(reply.body), path
    vectors_and_scores = [("/v1/embeddings", {"model": "titan-embed", "input": "x"}),
                          ("/model/amazon.titan-embed-text-v2:0/invoke", {"inputText": "x"}),
                          ("/v2/rerank", {"model": "cohere-rerank", "query": "q", "documents": ["d"]}),
                          ("/model/cohere.rerank-v3-5:0/invoke", {"query": "q", "documents": ["d"], "api_version": 2})]
    for path, allowed in vectors_and_scores:   # no content for a guardrail to judge: still served
        assert plugin.decide(ctx_for("developer", allowed), path) is None, path


def test_a_native_invoke_is_metered_from_its_body():
    body = {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a chair"},
            "imageGenerationConfig": {"numberOfImages": 2, "width": 2048, "height": 2048, "quality": "premium"}}
    ctx = ctx_for("developer", body)
    assert PLUGIN.decide(ctx, "/model/amazon.nova-canvas-v1%3A0/invoke") is None
    assert ctx.upstream.billed_apiece.images == (ImageCount("premium", 2048, 2048, 2),)
    assert ctx.upstream.image.response_format == ""
    assert billed_by_body({"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a"}}) == \
        ImageCount("standard", 1024, 1024, 1)
    assert billed_by_body({"imageGenerationConfig": {"numberOfImages": "2"}}) is None
    assert billed_by_body({"imageGenerationConfig": {"quality": "best"}}) is None


def test_the_answer_is_openais_and_bills_the_images_bedrock_drew():
    ctx = ctx_for("developer", {"model": "nova-canvas", "prompt": "a lamp", "n": 3, "size": "512x512"})
    PLUGIN.decide(ctx, "/v1/images/generations")
    content = json.dumps({"images": ["iVBORw0KGgoA", "iVBORw0KGgoB"]}).encode()   # two of the three asked for
    answer = json.loads(render_message(ctx.upstream, content, ctx))
    assert answer["data"] == [{"b64_json": "iVBORw0KGgoA"}, {"b64_json": "iVBORw0KGgoB"}]
    assert (answer["size"], answer["output_format"]) == ("512x512", "png") and isinstance(answer["created"], int)
    assert ctx.usage == Usage(images=(ImageCount("standard", 512, 512, 2),))
    ctx = ctx_for("developer", {"model": "nova-canvas", "prompt": "a lamp", "response_format": "url"})
    PLUGIN.decide(ctx, "/v1/images/generations")
    answer = json.loads(render_message(ctx.upstream, json.dumps({"images": ["AAAA"]}).encode(), ctx))
    assert answer["data"] == [{"url": "data:image/png;base64,AAAA"}]


@pytest.mark.parametrize("content", [b'{"images": []}', b'{"error": "x"}', b'{"images": [""]}', b"[]"])
def test_an_answer_without_images_is_unreadable(content):
    with pytest.raises(ValueError):
        read_images(content)


def test_guardrails_read_image_prompts_in_both_formats():
    openai = {"model": "nova-canvas", "prompt": "a card 4111", "negative_prompt": "no text"}
    assert [(s.path, s.text) for s in user_segments(openai)] == [(("prompt",), "a card 4111"),
                                                                 (("negative_prompt",), "no text")]
    native = {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a", "negativeText": "b"}}
    assert [(s.path, s.text) for s in user_segments(native)] == [(("textToImageParams", "text"), "a"),
                                                                 (("textToImageParams", "negativeText"), "b")]
