"""Nova Canvas and Titan Image Generator G1 v2 on InvokeModel: PNGs, determinism, validation, refusals."""

from __future__ import annotations

import base64
import io
import json
import tracemalloc
from typing import Any

import pytest
from emulator_helpers import assert_throttled_then_served, client_error, decode_png, malformed

from kong_plugins.emulator import images, stability
from kong_plugins.emulator.images import CONTENT_FILTER_MARKER, MSG_CONTENT_FILTERED
from kong_plugins.emulator.models import CATALOGUE

NOVA_CANVAS = "amazon.nova-canvas-v1:0"
TITAN_IMAGE = "amazon.titan-image-generator-v2:0"
MODELS = [NOVA_CANVAS, TITAN_IMAGE]
MESSAGES = [{"role": "user", "content": [{"text": "hi"}]}]
NOT_A_CHAT_MODEL = ("This action doesn't support the model that you provided. "
                    "Try again with a supported text or chat model.")


def image_body(text: str = "A lighthouse at dawn", params: dict[str, Any] | None = None,
               **config: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": text, **(params or {})}}
    if config:
        body["imageGenerationConfig"] = config
    return body


def generate(invoke, model: str, body: dict[str, Any]) -> list[str]:
    return invoke(body, model=model)["json"]["images"]


@pytest.mark.parametrize("model", MODELS)
def test_default_request_answers_one_1024_png(invoke, model: str) -> None:
    result = invoke(image_body(), model=model)
    output, headers = result["json"], result["headers"]
    assert list(output) == ["images"] and len(output["images"]) == 1
    assert decode_png(output["images"][0])[:2] == (1024, 1024)
    assert headers["content-type"] == "application/json" and headers["x-amzn-requestid"]
    assert int(headers["x-amzn-bedrock-invocation-latency"]) >= 0
    assert headers["x-amzn-bedrock-service-tier"] == "default"
    assert "x-amzn-bedrock-input-token-count" not in headers
    assert "x-amzn-bedrock-output-token-count" not in headers


@pytest.mark.parametrize("model, width, height, count", [
    (NOVA_CANVAS, 4096, 1024, 1), (NOVA_CANVAS, 320, 1280, 2), (NOVA_CANVAS, 2048, 2048, 1),
    (NOVA_CANVAS, 320, 320, 5), (NOVA_CANVAS, 1280, 720, 3),
    (TITAN_IMAGE, 1173, 640, 3), (TITAN_IMAGE, 320, 704, 5), (TITAN_IMAGE, 1408, 768, 1), (TITAN_IMAGE, 512, 512, 2),
])
def test_images_have_the_requested_size_and_number(invoke, model: str, width: int, height: int,
                                                   count: int) -> None:
    encoded = generate(invoke, model, image_body(width=width, height=height, numberOfImages=count))
    assert len(encoded) == count
    assert [decode_png(image)[:2] for image in encoded] == [(width, height)] * count


@pytest.mark.parametrize("model", MODELS)
def test_same_request_same_images_and_each_image_its_own(invoke, model: str) -> None:
    body = image_body(params={"negativeText": "fog"}, numberOfImages=3, seed=7, width=512, height=512)
    first, again = generate(invoke, model, body), generate(invoke, model, body)
    assert first == again
    assert len({decode_png(image)[2] for image in first}) == 3


BASE = {"text": "A lighthouse at dawn", "negativeText": "fog", "seed": 7, "width": 768, "height": 768,
        "quality": "standard", "cfgScale": 6.5}


def _varied(style: str | None = None, **change: Any) -> dict[str, Any]:
    values = {**BASE, **change}
    params = {"negativeText": values.pop("negativeText")} | ({"style": style} if style else {})
    return image_body(values.pop("text"), params, **values)


@pytest.mark.parametrize("model, body", [
    (NOVA_CANVAS, _varied(text="A lighthouse at dusk")),
    (NOVA_CANVAS, _varied(negativeText="rain")),
    (NOVA_CANVAS, _varied(seed=8)),
    (NOVA_CANVAS, _varied(quality="premium")),
    (NOVA_CANVAS, _varied(cfgScale=7.0)),
    (NOVA_CANVAS, _varied(style="PHOTOREALISM")),
    (NOVA_CANVAS, _varied(width=1536)),
    (TITAN_IMAGE, _varied()),
])
def test_any_change_gives_other_images(invoke, model: str, body: dict[str, Any]) -> None:
    baseline = decode_png(generate(invoke, NOVA_CANVAS, _varied())[0])[2]
    assert decode_png(generate(invoke, model, body)[0])[2] != baseline


@pytest.mark.parametrize("model, seed, cfg_scale", [(NOVA_CANVAS, 12, 6.5), (TITAN_IMAGE, 42, 8.0)])
def test_documented_defaults(invoke, model: str, seed: int, cfg_scale: float) -> None:
    implicit = generate(invoke, model, image_body())
    explicit = generate(invoke, model, image_body(numberOfImages=1, width=1024, height=1024, quality="standard",
                                                  cfgScale=cfg_scale, seed=seed))
    assert implicit == explicit
    assert generate(invoke, model, image_body(seed=seed + 1)) != implicit


@pytest.mark.parametrize("model, body", [
    (NOVA_CANVAS, image_body("x" * 1024, {"negativeText": "y" * 1024})),
    (TITAN_IMAGE, image_body("x" * 512, {"negativeText": "y" * 512})),
    (NOVA_CANVAS, image_body(seed=0, cfgScale=1.1, numberOfImages=5, width=4096, height=1024)),
    (TITAN_IMAGE, image_body(seed=2_147_483_646, cfgScale=10, quality="premium", width=704, height=320)),
    (NOVA_CANVAS, image_body(params={"style": "DESIGN_SKETCH"}, width=1024, height=4096)),
])
def test_limits_are_inclusive(invoke, model: str, body: dict[str, Any]) -> None:
    assert len(generate(invoke, model, body)) == body.get("imageGenerationConfig", {}).get("numberOfImages", 1)


def _without(key: str) -> dict[str, Any]:
    body = image_body()
    del body[key]
    return body


CONFIG = "#/imageGenerationConfig"
SCHEMA_ERRORS = [
    (MODELS, ["x"], "#: expected type: JSONObject, found: JSONArray"),
    (MODELS, {**image_body(), "prompt": "x"}, "#: extraneous key [prompt] is not permitted"),
    (MODELS, _without("taskType"), "#: required key [taskType] not found"),
    (MODELS, {**image_body(), "taskType": "OUTPAINTING"}, "#/taskType: OUTPAINTING is not a valid enum value"),
    (MODELS, {**image_body(), "taskType": 1}, "#/taskType: expected type: String, found: Integer"),
    (MODELS, _without("textToImageParams"), "#: required key [textToImageParams] not found"),
    (MODELS, {**image_body(), "textToImageParams": "x"},
     "#/textToImageParams: expected type: JSONObject, found: String"),
    (MODELS, {"taskType": "TEXT_IMAGE", "textToImageParams": {}}, "#/textToImageParams: required key [text] not found"),
    (MODELS, image_body(None), "#/textToImageParams/text: expected type: String, found: Null"),
    (MODELS, image_body(""), "#/textToImageParams/text: expected minLength: 1, actual: 0"),
    ([NOVA_CANVAS], image_body("x" * 1025), "#/textToImageParams/text: expected maxLength: 1024, actual: 1025"),
    ([TITAN_IMAGE], image_body("x" * 548), "#/textToImageParams/text: expected maxLength: 512, actual: 548"),
    (MODELS, image_body(params={"negativeText": ""}),
     "#/textToImageParams/negativeText: expected minLength: 1, actual: 0"),
    ([NOVA_CANVAS], image_body(params={"negativeText": "y" * 1025}),
     "#/textToImageParams/negativeText: expected maxLength: 1024, actual: 1025"),
    ([TITAN_IMAGE], image_body(params={"negativeText": "y" * 513}),
     "#/textToImageParams/negativeText: expected maxLength: 512, actual: 513"),
    ([NOVA_CANVAS], image_body(params={"style": "CUBISM"}),
     "#/textToImageParams/style: CUBISM is not a valid enum value"),
    ([TITAN_IMAGE], image_body(params={"style": "PHOTOREALISM"}),
     "#/textToImageParams: extraneous key [style] is not permitted"),
    (MODELS, image_body(params={"conditionImage": "AAAA"}),
     "#/textToImageParams: extraneous key [conditionImage] is not permitted"),
    (MODELS, {**image_body(), "imageGenerationConfig": []}, f"{CONFIG}: expected type: JSONObject, found: JSONArray"),
    (MODELS, image_body(steps=30), f"{CONFIG}: extraneous key [steps] is not permitted"),
    (MODELS, image_body(numberOfImages=0), f"{CONFIG}/numberOfImages: 0 is not greater or equal to 1"),
    (MODELS, image_body(numberOfImages=6), f"{CONFIG}/numberOfImages: 6 is not less or equal to 5"),
    (MODELS, image_body(numberOfImages="2"), f"{CONFIG}/numberOfImages: expected type: Integer, found: String"),
    (MODELS, image_body(numberOfImages=2.0), f"{CONFIG}/numberOfImages: expected type: Integer, found: Number"),
    (MODELS, image_body(width="1024"), f"{CONFIG}/width: expected type: Integer, found: String"),
    ([NOVA_CANVAS], image_body(width=304), f"{CONFIG}/width: 304 is not greater or equal to 320"),
    ([NOVA_CANVAS], image_body(height=4112), f"{CONFIG}/height: 4112 is not less or equal to 4096"),
    ([NOVA_CANVAS], image_body(width=1000), f"{CONFIG}/width: 1000 is not a multiple of 16"),
    (MODELS, image_body(quality="ultra"), f"{CONFIG}/quality: ultra is not a valid enum value"),
    (MODELS, image_body(cfgScale=1.0), f"{CONFIG}/cfgScale: 1 is not greater or equal to 1.1"),
    (MODELS, image_body(cfgScale=10.5), f"{CONFIG}/cfgScale: 10.5 is not less or equal to 10"),
    (MODELS, image_body(cfgScale="7"), f"{CONFIG}/cfgScale: expected type: Number, found: String"),
    (MODELS, image_body(seed=-1), f"{CONFIG}/seed: -1 is not greater or equal to 0"),
    (MODELS, image_body(seed=2_147_483_647), f"{CONFIG}/seed: 2147483647 is not less or equal to 2147483646"),
    (MODELS, image_body(seed=1.5), f"{CONFIG}/seed: expected type: Integer, found: Number"),
]


@pytest.mark.parametrize("model, body, detail", [
    (model, body, detail) for models, body, detail in SCHEMA_ERRORS for model in models])
def test_schema_validation(client, model: str, body: Any, detail: str) -> None:
    error = client_error(client.invoke_model, modelId=model, body=json.dumps(body))
    assert error["Error"] == {"Code": "ValidationException", "Message": malformed(detail)}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("model, width, height, message", [
    (NOVA_CANVAS, 4096, 960, "The aspect ratio of the image size 4096x960 must be between 1:4 and 4:1."),
    (NOVA_CANVAS, 320, 1296, "The aspect ratio of the image size 320x1296 must be between 1:4 and 4:1."),
    (NOVA_CANVAS, 2064, 2048, "The image size 2064x2048 has 4227072 pixels; at most 4194304 are supported."),
    (TITAN_IMAGE, 1000, 1000, "The image size 1000x1000 is not supported by this model. "
                              "Use one of the documented width and height combinations."),
    (TITAN_IMAGE, 640, 1173, "The image size 640x1173 is not supported by this model. "
                             "Use one of the documented width and height combinations."),
])
def test_size_rules(client, model: str, width: int, height: int, message: str) -> None:
    error = client_error(client.invoke_model, modelId=model, body=json.dumps(image_body(width=width, height=height)))
    assert error["Error"] == {"Code": "ValidationException", "Message": message}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("body", [
    image_body(f"A cat, {CONTENT_FILTER_MARKER}"),
    image_body(params={"negativeText": f"dogs {CONTENT_FILTER_MARKER.upper()}"}),
])
def test_content_filter_refuses_the_prompt(client, model: str, body: dict[str, Any]) -> None:
    error = client_error(client.invoke_model, modelId=model, body=json.dumps(body))
    assert error["Error"] == {"Code": "ValidationException", "Message": (
        "This request has been blocked by our content filters. "
        "Please adjust your text prompt to submit a new request.")}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert MSG_CONTENT_FILTERED == error["Error"]["Message"] and CONTENT_FILTER_MARKER == "emulator-blocked-image"


def test_schema_errors_come_before_the_content_filter(client) -> None:
    body = image_body(CONTENT_FILTER_MARKER, numberOfImages=9)
    error = client_error(client.invoke_model, modelId=NOVA_CANVAS, body=json.dumps(body))
    assert error["Error"]["Message"] == malformed(f"{CONFIG}/numberOfImages: 9 is not less or equal to 5")


@pytest.mark.parametrize("model", MODELS + list(stability.MODELS))
@pytest.mark.parametrize("operation, kwargs, message", [
    ("invoke_model_with_response_stream", {"body": json.dumps(image_body())},
     "The model is unsupported for streaming."),
    ("converse", {"messages": MESSAGES}, NOT_A_CHAT_MODEL),
    ("converse_stream", {"messages": MESSAGES}, NOT_A_CHAT_MODEL),
    ("count_tokens", {"input": {"converse": {"messages": MESSAGES}}},
     "The provided model doesn't support counting tokens."),
])
def test_only_invoke_is_served(client, model: str, operation: str, kwargs: dict[str, Any], message: str) -> None:
    error = client_error(getattr(client, operation), modelId=model, **kwargs)
    assert error["Error"] == {"Code": "ValidationException", "Message": message}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("model", MODELS)
def test_the_standard_tier_only(client, model: str) -> None:
    body = json.dumps(image_body(width=512, height=512))
    for tier, message in (("flex", "The provided service tier is not supported for this model."),
                          ("priority", "The provided service tier is not supported for this model."),
                          ("reserved", "Reservation not found.")):
        error = client_error(client.invoke_model, modelId=model, body=body, serviceTier=tier)
        assert error["Error"] == {"Code": "ValidationException", "Message": message}
    response = client.invoke_model(modelId=model, body=body, serviceTier="default")
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-service-tier"] == "default"


def test_faults_apply_to_image_models(emulator, client) -> None:
    emulator.add_fault("throttle", model="nova-canvas")
    body = json.dumps(image_body(width=512, height=512))
    assert_throttled_then_served(client, NOVA_CANVAS, body)
    assert client.invoke_model(modelId=TITAN_IMAGE, body=body)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_catalogue_entries() -> None:
    for model, family in ((NOVA_CANVAS, "nova-canvas"), (TITAN_IMAGE, "titan-image")):
        info = CATALOGUE[model]
        assert (info.family, info.profile_only, info.is_image, info.is_embedding, info.service_tiers) == (
            family, False, True, False, ("default",))
        assert not (info.supports_tools or info.supports_count_tokens or info.supports_prompt_caching)
    assert {m.base_id for m in CATALOGUE.values() if m.is_image and m.family != "stability-image"} == {
        NOVA_CANVAS, TITAN_IMAGE}  # Stability's: test_emulator_stability.py


def test_a_large_image_is_built_row_by_row() -> None:
    palette = bytes(range(3 * images.GRID * images.GRID))
    tracemalloc.start()
    try:
        decode_png(base64.b64encode(images.png(4096, 1024, palette)).decode())
        tracemalloc.reset_peak()
        images.png(4096, 1024, palette)
        assert tracemalloc.get_traced_memory()[1] < 2_000_000  # rows are streamed, never the whole 12 MB image
    finally:
        tracemalloc.stop()



def picture(size=(320, 320), mode="RGB", colour=(200, 120, 40), fmt="PNG") -> str:
    """A base64 picture made with Pillow."""
    from PIL import Image
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt)
    return base64.b64encode(out.getvalue()).decode("ascii")


SOURCE = base64.b64encode(images.png(320, 320, bytes(range(48)))).decode("ascii")
OTHER_SOURCE = base64.b64encode(images.png(320, 320, bytes(range(1, 49)))).decode("ascii")
JPEG_SOURCE = picture(fmt="JPEG")
VARIATION = "#/imageVariationParams"


def variation_body(params: dict[str, Any] | None = None, **config: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"taskType": "IMAGE_VARIATION", "imageVariationParams": {"images": [SOURCE],
                                                                                    **(params or {})}}
    if config:
        body["imageGenerationConfig"] = config
    return body


@pytest.mark.parametrize("model", MODELS)
def test_a_variation_answers_pngs_that_follow_the_source_images(invoke, model: str) -> None:
    drawn = generate(invoke, model, variation_body(width=512, height=512, numberOfImages=2))
    assert [decode_png(image)[:2] for image in drawn] == [(512, 512)] * 2 and drawn[0] != drawn[1]
    assert generate(invoke, model, variation_body(width=512, height=512, numberOfImages=2)) == drawn
    for params in ({"images": [OTHER_SOURCE]}, {"images": [SOURCE, JPEG_SOURCE]}, {"similarityStrength": 0.2},
                   {"text": "in autumn colours"}, {"negativeText": "people"}):
        assert generate(invoke, model, variation_body(params, width=512, height=512, numberOfImages=2)) != drawn, \
            params
    assert len(generate(invoke, model, variation_body({"images": [SOURCE] * 5, "similarityStrength": 1.0}))) == 1


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("body, detail", [
    ({"taskType": "IMAGE_VARIATION"}, "#: required key [imageVariationParams] not found"),
    ({**variation_body(), "textToImageParams": {"text": "x"}},
     "#: extraneous key [textToImageParams] is not permitted"),
    ({**image_body(), "imageVariationParams": {"images": [SOURCE]}},
     "#: extraneous key [imageVariationParams] is not permitted"),
    ({"taskType": "IMAGE_VARIATION", "imageVariationParams": {}}, f"{VARIATION}: required key [images] not found"),
    (variation_body({"images": []}), f"{VARIATION}/images: expected minimum item count: 1, found: 0"),
    (variation_body({"images": [SOURCE] * 6}), f"{VARIATION}/images: expected maximum item count: 5, found: 6"),
    (variation_body({"images": [7]}), f"{VARIATION}/images/0: expected type: String, found: Integer"),
    (variation_body({"images": [""]}), f"{VARIATION}/images/0: expected minLength: 1, actual: 0"),
    (variation_body({"similarityStrength": 0.1}),
     f"{VARIATION}/similarityStrength: 0.1 is not greater or equal to 0.2"),
    (variation_body({"similarityStrength": 1.5}), f"{VARIATION}/similarityStrength: 1.5 is not less or equal to 1"),
    (variation_body({"text": ""}), f"{VARIATION}/text: expected minLength: 1, actual: 0"),
    (variation_body({"style": "PHOTOREALISM"}), f"{VARIATION}: extraneous key [style] is not permitted"),
])
def test_variation_schema_validation(client, model: str, body: Any, detail: str) -> None:
    error = client_error(client.invoke_model, modelId=model, body=json.dumps(body))
    assert error["Error"] == {"Code": "ValidationException", "Message": malformed(detail)}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("image", ["not base64!", base64.b64encode(b"GIF89a....").decode("ascii")])
def test_a_source_that_is_not_a_png_or_jpeg_is_refused(client, model: str, image: str) -> None:
    error = client_error(client.invoke_model, modelId=model, body=json.dumps(variation_body({"images": [image]})))
    assert error["Error"] == {"Code": "ValidationException", "Message": (
        "Unable to read the input image: images must be base64-encoded PNG or JPEG files.")}


@pytest.mark.parametrize("model", MODELS)
def test_a_variation_prompt_meets_the_content_filter(client, model: str) -> None:
    body = variation_body({"text": f"a cat {CONTENT_FILTER_MARKER}"})
    error = client_error(client.invoke_model, modelId=model, body=json.dumps(body))
    assert error["Error"]["Message"] == MSG_CONTENT_FILTERED


@pytest.mark.parametrize("model", MODELS)
def test_a_png_without_its_header_is_unreadable(client, model: str) -> None:
    broken = base64.b64encode(b"\x89PNG\r\n\x1a\n but broken").decode("ascii")
    error = client_error(client.invoke_model, modelId=model, body=json.dumps(variation_body({"images": [broken]})))
    assert error["Error"]["Message"].startswith("Unable to read the input image")


def mask_of(size=(320, 320), black_box=(0, 0, 160, 160), grey=False) -> str:
    from PIL import Image, ImageDraw
    mask = Image.new("RGB", size, (255, 255, 255))
    ImageDraw.Draw(mask).rectangle(black_box, fill=(128, 128, 128) if grey else (0, 0, 0))
    out = io.BytesIO()
    mask.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


def inpainting(params: dict[str, Any] | None = None, **config: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"taskType": "INPAINTING",
                            "inPaintingParams": {"image": picture(), "maskPrompt": "the mug", **(params or {})}}
    if config:
        body["imageGenerationConfig"] = config
    return body


@pytest.mark.parametrize("model", MODELS)
def test_inpainting_draws_at_the_source_size_and_follows_the_mask(invoke, model: str) -> None:
    drawn = generate(invoke, model, inpainting({"image": picture((512, 384)), "text": "a red mug"},
                                               numberOfImages=2))
    assert [decode_png(image)[:2] for image in drawn] == [(512, 384)] * 2
    with_mask = {"image": picture((512, 384)), "maskImage": mask_of((512, 384)), "text": "a red mug"}
    body = {"taskType": "INPAINTING", "inPaintingParams": with_mask, "imageGenerationConfig": {"numberOfImages": 2}}
    assert generate(invoke, model, body) != drawn
    assert len(generate(invoke, model, inpainting({"image": picture(fmt="JPEG")}))) == 1   # JPEG, no text


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("params, config, message", [
    ({"maskImage": mask_of()}, {}, "Exactly one of maskPrompt and maskImage must be provided."),
    ({"maskPrompt": None}, {}, "Exactly one of maskPrompt and maskImage must be provided."),
    ({"image": picture(mode="RGBA", colour=(1, 2, 3, 0))}, {},
     "The input image must not contain transparent or semi-transparent pixels."),
    ({"maskPrompt": None, "maskImage": mask_of(grey=True)}, {},
     "The mask image must contain only pure black and pure white pixels."),
    ({"maskPrompt": None, "maskImage": mask_of((640, 320))}, {},
     "The mask image must be the size of the input image (320x320)."),
    ({"image": base64.b64encode(b"GIF89a").decode()}, {},
     "Unable to read the input image: images must be base64-encoded PNG or JPEG files."),
    ({}, {"width": 512}, "#/imageGenerationConfig: extraneous key [width] is not permitted"),
    ({"style": "PHOTOREALISM"}, {}, "#/inPaintingParams: extraneous key [style] is not permitted"),
])
def test_inpainting_refusals(client, model: str, params: dict[str, Any], config: dict[str, Any],
                             message: str) -> None:
    inner = {"image": picture(), "maskPrompt": "the mug", **params}
    inner = {key: value for key, value in inner.items() if value is not None}
    body = {"taskType": "INPAINTING", "inPaintingParams": inner,
            **({"imageGenerationConfig": config} if config else {})}
    error = client_error(client.invoke_model, modelId=model, body=json.dumps(body))
    assert error["Error"]["Message"] in (message, malformed(message))


@pytest.mark.parametrize("model", MODELS)
def test_background_removal_answers_one_rgba_png_of_the_source_size(invoke, model: str) -> None:
    from PIL import Image
    body = {"taskType": "BACKGROUND_REMOVAL", "backgroundRemovalParams": {"image": picture((480, 320))}}
    [drawn] = generate(invoke, model, body)
    cut = Image.open(io.BytesIO(base64.b64decode(drawn)))
    assert cut.mode == "RGBA" and cut.size == (480, 320)
    assert cut.getpixel((0, 0))[3] == 0 and cut.getpixel((240, 160))[3] == 255


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("body, message", [
    ({"taskType": "BACKGROUND_REMOVAL", "backgroundRemovalParams": {"image": picture()},
      "imageGenerationConfig": {"numberOfImages": 2}},
     malformed("#: extraneous key [imageGenerationConfig] is not permitted")),
    ({"taskType": "BACKGROUND_REMOVAL", "backgroundRemovalParams": {"image": picture(), "text": "x"}},
     malformed("#/backgroundRemovalParams: extraneous key [text] is not permitted")),
    ({"taskType": "BACKGROUND_REMOVAL",
      "backgroundRemovalParams": {"image": picture(mode="RGBA", colour=(1, 1, 1, 0))}},
     "The input image must not contain transparent or semi-transparent pixels."),
])
def test_background_removal_refusals(client, model: str, body: dict[str, Any], message: str) -> None:
    error = client_error(client.invoke_model, modelId=model, body=json.dumps(body))
    assert error["Error"]["Message"] == message


@pytest.mark.parametrize("model", MODELS)
def test_a_variation_source_with_transparent_pixels_is_refused(client, model: str) -> None:
    body = variation_body({"images": [picture(mode="RGBA", colour=(1, 2, 3, 0))]})
    error = client_error(client.invoke_model, modelId=model, body=json.dumps(body))
    assert error["Error"]["Message"] == "The input image must not contain transparent or semi-transparent pixels."
