"""OpenAI image generation on Stability AI's models (Stable Image Core and Ultra, SD 3.5 Large): their own
body, one image per call, a flat price, and a filtered answer as OpenAI's content-policy error."""

import json
from decimal import Decimal

import pytest

from kong_plugins.context import ImageCount, Usage
from kong_plugins.formats import openai_images
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.image_models import NotDrawn, billed_by_body, planned, read_images
from kong_plugins.guardrails.segments import user_segments
from kong_plugins.metering.pricing import PriceTable
from kong_plugins.relay.responses import render_message
from tests.unit.test_bedrock_proxy_decide import PLUGIN, ctx_for

CORE = "stability.stable-image-core-v1:1"


def job(**body):
    return openai_images.parse_request(json.dumps({"prompt": "a red shoe", **body}).encode())[0]


@pytest.mark.parametrize("size, ratio, drawn", [
    (None, "1:1", (1024, 1024)), ("1024x1024", "1:1", (1024, 1024)), ("1792x1024", "16:9", (1344, 768)),
    ("1024x1792", "9:16", (768, 1344)), ("1536x1024", "3:2", (1216, 832)), ("1024x1536", "2:3", (832, 1216)),
    ("2560x1080", "21:9", (1536, 640)), ("512x512", "1:1", (1024, 1024)),
])
def test_the_size_asked_picks_the_nearest_of_stabilitys_aspect_ratios(size, ratio, drawn):
    body, billed = planned(job(**({"size": size} if size else {})), CORE)
    assert json.loads(body) == {"prompt": "a red shoe", "aspect_ratio": ratio, "output_format": "png"}
    assert billed == ImageCount("standard", *drawn, 1)


def test_extra_fields_reach_stability_and_quality_changes_nothing():
    body, billed = planned(job(aspect_ratio="4:5", size="1792x1024", negative_prompt="text", seed=7, quality="hd",
                               style="vivid"), "us.stability.stable-image-ultra-v1:1")
    assert json.loads(body) == {"prompt": "a red shoe", "aspect_ratio": "4:5", "output_format": "png",
                                "negative_prompt": "text", "seed": 7}
    assert billed == ImageCount("standard", 896, 1088, 1)   # one price per image: no premium


@pytest.mark.parametrize("body, model, param, words", [
    ({"n": 2}, CORE, "n", "one image per request"),
    ({"cfg_scale": 7}, CORE, "cfg_scale", "take none"),
    ({"aspect_ratio": "1:1"}, "amazon.nova-canvas-v1:0", "aspect_ratio", "only Stability models"),
])
def test_what_the_model_cannot_draw_is_a_400_naming_the_field(body, model, param, words):
    with pytest.raises(RequestError) as exc:
        planned(job(**body), model)
    assert exc.value.param == param and words in str(exc.value)


@pytest.mark.parametrize("ratio", ["4:3", 1, ["1:1"], {"1:1": 1}, ""])
def test_an_aspect_ratio_stability_lacks_is_refused_when_parsed(ratio):
    with pytest.raises(RequestError) as exc:
        job(aspect_ratio=ratio)
    assert exc.value.param == "aspect_ratio" and "must be one of 1:1, 16:9" in str(exc.value)


def test_decide_plans_one_invoke_in_stabilitys_region_and_refuses_n_in_openais_format():
    ctx = ctx_for("developer", {"model": "stable-image-core", "prompt": "a lamp", "size": "1792x1024"})
    assert PLUGIN.decide(ctx, "/v1/images/generations") is None
    call = ctx.upstream
    assert (call.operation, call.model_id, call.region) == ("invoke", CORE, "us-west-2")
    assert call.billed_apiece.images == (ImageCount("standard", 1344, 768, 1),)
    reply = PLUGIN.decide(ctx_for("developer", {"model": "stable-image-core", "prompt": "a", "n": 3}),
                          "/v1/images/generations")
    assert reply.status == 400 and reply.body["error"]["param"] == "n"
    assert "one image per request" in reply.body["error"]["message"]


def test_stability_images_cost_one_price_whatever_their_size():
    prices = PriceTable.from_config(None)
    for model, usd in (("stable-image-core", "0.04"), ("sd3-5-large", "0.08"), ("stable-image-ultra", "0.14")):
        for image in (ImageCount("standard", 1024, 1024, 1), ImageCount("standard", 1536, 640, 1),
                      ImageCount("premium", 4096, 4096, 1)):
            assert prices.for_model(model).cost_usd(Usage(images=(image,))) == Decimal(usd), (model, image)


def test_the_answer_is_openais_with_the_size_stability_drew():
    ctx = ctx_for("developer", {"model": "stable-image-core", "prompt": "a lamp", "size": "1024x1792"})
    PLUGIN.decide(ctx, "/v1/images/generations")
    content = json.dumps({"seeds": [42], "finish_reasons": [None], "images": ["iVBORw0KGgoA"]}).encode()
    answer = json.loads(render_message(ctx.upstream, content, ctx))
    assert answer["data"] == [{"b64_json": "iVBORw0KGgoA"}] and answer["size"] == "768x1344"
    assert ctx.usage == Usage(images=(ImageCount("standard", 768, 1344, 1),))


@pytest.mark.parametrize("reasons, filtered", [
    (["Filter reason: prompt"], True), (["Filter reason: output image"], True), (["Inference error"], False)])
def test_an_answer_without_its_image_says_why(reasons, filtered):
    with pytest.raises(NotDrawn) as exc:
        read_images(json.dumps({"finish_reasons": reasons}).encode())
    assert exc.value.filtered is filtered


def test_a_native_client_gets_a_filtered_answer_as_it_is_and_pays_for_no_image():
    ctx = ctx_for("developer", {"prompt": "a chair", "aspect_ratio": "21:9"})
    assert PLUGIN.decide(ctx, f"/model/{CORE}/invoke") is None
    assert ctx.upstream.billed_apiece.images == (ImageCount("standard", 1536, 640, 1),)
    content = b'{"finish_reasons":["Filter reason: prompt"]}'
    assert render_message(ctx.upstream, content, ctx) == content
    assert ctx.usage == Usage(images=(ImageCount("standard", 1536, 640, 0),))
    assert billed_by_body({"prompt": "a"}, CORE) == ImageCount("standard", 1024, 1024, 1)
    assert billed_by_body({"prompt": "a", "aspect_ratio": ["1:1"]}, CORE) is None


def test_guardrails_read_a_native_stability_prompt():
    native = {"prompt": "a card 4111", "negative_prompt": "no text", "aspect_ratio": "1:1"}
    assert [(s.path, s.text) for s in user_segments(native)] == [(("prompt",), "a card 4111"),
                                                                 (("negative_prompt",), "no text")]
