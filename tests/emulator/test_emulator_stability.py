"""Stability AI's SD3.5 Large, Stable Image Ultra and Core on InvokeModel: PNGs, seeds, filter, refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from emulator_helpers import assert_throttled_then_served, client_error, decode_png, malformed

from kong_plugins.emulator.images import CONTENT_FILTER_MARKER
from kong_plugins.emulator.models import CATALOGUE

SD35_LARGE = "stability.sd3-5-large-v1:0"
IMAGE_ULTRA = "stability.stable-image-ultra-v1:1"
IMAGE_CORE = "stability.stable-image-core-v1:1"
MODELS = [SD35_LARGE, IMAGE_ULTRA, IMAGE_CORE]
SIZES = {"1:1": (1024, 1024), "16:9": (1344, 768), "21:9": (1536, 640), "2:3": (832, 1216), "3:2": (1216, 832),
         "4:5": (896, 1088), "5:4": (1088, 896), "9:16": (768, 1344), "9:21": (640, 1536)}
MAX_SEED = 4_294_967_294
FILTERED = {"finish_reasons": ["Filter reason: prompt"]}
PNG_ONLY = "The emulator renders png only: output_format {} is not emulated."


def body(prompt: Any = "A lighthouse at dawn", **extra: Any) -> dict[str, Any]:
    return {"prompt": prompt, **extra}


def answer(invoke, model: str, request: dict[str, Any]) -> dict[str, Any]:
    return invoke(request, model=model)["json"]


def image_of(invoke, model: str, request: dict[str, Any]) -> str:
    output = answer(invoke, model, request)
    assert len(output["images"]) == 1
    return output["images"][0]


def refusal(client, model: str, request: Any) -> str:
    """The message of the ValidationException (HTTP 400) an InvokeModel call is expected to raise."""
    error = client_error(client.invoke_model, modelId=model, body=json.dumps(request))
    assert error["Error"]["Code"] == "ValidationException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Error"]["Message"]


@pytest.mark.parametrize("model", MODELS)
def test_default_request_answers_one_square_png(invoke, model: str) -> None:
    result = invoke(body(), model=model)
    output, headers = result["json"], result["headers"]
    assert list(output) == ["seeds", "finish_reasons", "images"]
    assert output["finish_reasons"] == [None] and len(output["images"]) == 1
    (seed,) = output["seeds"]
    assert isinstance(seed, int) and 1 <= seed <= MAX_SEED
    assert decode_png(output["images"][0])[:2] == (1024, 1024)
    assert headers["content-type"] == "application/json" and headers["x-amzn-requestid"]
    assert int(headers["x-amzn-bedrock-invocation-latency"]) >= 0
    assert "x-amzn-bedrock-input-token-count" not in headers
    assert "x-amzn-bedrock-output-token-count" not in headers


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("ratio", list(SIZES))
def test_each_aspect_ratio_has_its_size(invoke, model: str, ratio: str) -> None:
    output = answer(invoke, model, body(aspect_ratio=ratio, seed=5))
    assert len(output["images"]) == len(output["seeds"]) == len(output["finish_reasons"]) == 1
    assert decode_png(output["images"][0])[:2] == SIZES[ratio]


@pytest.mark.parametrize("model", MODELS)
def test_same_request_same_bytes(invoke, model: str) -> None:
    request = body(negative_prompt="fog", aspect_ratio="3:2", seed=42)
    first, again = answer(invoke, model, request), answer(invoke, model, request)
    assert first == again
    assert answer(invoke, model, body()) == answer(invoke, model, body())  # a random seed too


BASE = {"prompt": "A lighthouse at dawn", "negative_prompt": "fog", "seed": 7, "aspect_ratio": "1:1"}


@pytest.mark.parametrize("model, change", [
    (SD35_LARGE, {"seed": 8}),
    (SD35_LARGE, {"prompt": "A lighthouse at dusk"}),
    (SD35_LARGE, {"negative_prompt": "rain"}),
    (SD35_LARGE, {"aspect_ratio": "5:4"}),
    (IMAGE_ULTRA, {}),
    (IMAGE_CORE, {}),
])
def test_any_change_gives_another_image(invoke, model: str, change: dict[str, Any]) -> None:
    baseline = decode_png(image_of(invoke, SD35_LARGE, BASE))[2]
    assert decode_png(image_of(invoke, model, {**BASE, **change}))[2] != baseline


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("seed", [7, 1, MAX_SEED])
def test_a_given_seed_is_echoed(invoke, model: str, seed: int) -> None:
    assert answer(invoke, model, body(seed=seed))["seeds"] == [seed]


@pytest.mark.parametrize("model", MODELS)
def test_a_random_seed_is_reported_and_reproduces_the_image(invoke, model: str) -> None:
    implicit, zero = answer(invoke, model, body()), answer(invoke, model, body(seed=0))
    assert implicit == zero and implicit["seeds"][0] != 0
    assert answer(invoke, model, body(seed=implicit["seeds"][0])) == implicit
    assert answer(invoke, model, body("Another prompt"))["seeds"] != implicit["seeds"]


@pytest.mark.parametrize("model", MODELS)
def test_documented_defaults(invoke, model: str) -> None:
    explicit = body(aspect_ratio="1:1", output_format="png", mode="text-to-image", seed=3)
    assert answer(invoke, model, body(seed=3)) == answer(invoke, model, explicit)
    assert answer(invoke, model, body(seed=3, negative_prompt="")) == answer(invoke, model, body(seed=3))


@pytest.mark.parametrize("model", MODELS)
def test_limits_are_inclusive(invoke, model: str) -> None:
    output = answer(invoke, model, body("x" * 10_000, negative_prompt="y" * 10_000, seed=MAX_SEED))
    assert output["seeds"] == [MAX_SEED] and decode_png(output["images"][0])[:2] == (1024, 1024)


def test_a_geo_profile_id_serves_the_same_image(invoke) -> None:
    assert answer(invoke, f"us.{SD35_LARGE}", body(seed=9)) == answer(invoke, SD35_LARGE, body(seed=9))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("request_body", [
    body(f"A cat, {CONTENT_FILTER_MARKER}"),
    body(negative_prompt=f"dogs {CONTENT_FILTER_MARKER.upper()}", seed=3, aspect_ratio="16:9"),
])
def test_a_flagged_prompt_is_filtered(invoke, model: str, request_body: dict[str, Any]) -> None:
    result = invoke(request_body, model=model)
    assert result["json"] == FILTERED
    assert int(result["headers"]["x-amzn-bedrock-invocation-latency"]) >= 0


def _huge(key: str) -> dict[str, Any]:
    return body(**{key: "z" * 10_001})


SCHEMA_ERRORS = [
    (["x"], "#: expected type: JSONObject, found: JSONArray"),
    ({}, "#: required key [prompt] not found"),
    ({"negative_prompt": "fog"}, "#: required key [prompt] not found"),
    (body(""), "#/prompt: expected minLength: 1, actual: 0"),
    (body(None), "#/prompt: expected type: String, found: Null"),
    (body(["a"]), "#/prompt: expected type: String, found: JSONArray"),
    (body("x" * 10_001), "#/prompt: expected maxLength: 10000, actual: 10001"),
    (_huge("negative_prompt"), "#/negative_prompt: expected maxLength: 10000, actual: 10001"),
    (body(negative_prompt=3), "#/negative_prompt: expected type: String, found: Integer"),
    (body(cfg_scale=4), "#: extraneous key [cfg_scale] is not permitted"),
    (body(text_prompts=[{"text": "x"}]), "#: extraneous key [text_prompts] is not permitted"),
    (body(image="iVBORw0KGgo="), "#: extraneous key [image] is not permitted"),
    (body(strength=0.5), "#: extraneous key [strength] is not permitted"),
    (body(mode="image-to-image", image="iVBORw0KGgo=", strength=0.5), "#: extraneous key [image] is not permitted"),
    (body(mode="image-to-image"), "#/mode: image-to-image is not a valid enum value"),
    (body(mode=1), "#/mode: expected type: String, found: Integer"),
    (body(aspect_ratio="4:3"), "#/aspect_ratio: 4:3 is not a valid enum value"),
    (body(aspect_ratio="1024x1024"), "#/aspect_ratio: 1024x1024 is not a valid enum value"),
    (body(aspect_ratio=1), "#/aspect_ratio: expected type: String, found: Integer"),
    (body(seed=-1), "#/seed: -1 is not greater or equal to 0"),
    (body(seed=MAX_SEED + 1), "#/seed: 4294967295 is not less or equal to 4294967294"),
    (body(seed=1.5), "#/seed: expected type: Integer, found: Number"),
    (body(seed="7"), "#/seed: expected type: Integer, found: String"),
    (body(output_format="gif"), "#/output_format: gif is not a valid enum value"),
    (body(output_format="PNG"), "#/output_format: PNG is not a valid enum value"),
]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("request_body, detail", SCHEMA_ERRORS)
def test_schema_validation(client, model: str, request_body: Any, detail: str) -> None:
    assert refusal(client, model, request_body) == malformed(detail)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("output_format", ["jpeg", "webp"])
def test_only_png_is_rendered(client, model: str, output_format: str) -> None:
    assert refusal(client, model, body(output_format=output_format)) == PNG_ONLY.format(output_format)


def test_schema_errors_and_the_png_limit_come_before_the_filter(client) -> None:
    flagged = CONTENT_FILTER_MARKER
    assert refusal(client, IMAGE_CORE, body(flagged, seed=-2)) == malformed("#/seed: -2 is not greater or equal to 0")
    assert refusal(client, IMAGE_CORE, body(flagged, output_format="jpeg")) == PNG_ONLY.format("jpeg")


def test_faults_apply_to_stability_models(emulator, client) -> None:
    emulator.add_fault("throttle", model="stable-image-ultra")
    request = json.dumps(body())
    assert_throttled_then_served(client, IMAGE_ULTRA, request)


def test_catalogue_entries() -> None:
    for model in MODELS:
        info = CATALOGUE[model]
        assert (info.family, info.profile_only, info.is_image, info.is_embedding, info.is_rerank,
                info.service_tiers) == ("stability-image", False, True, False, False, ("default",))
        assert not (info.supports_tools or info.supports_count_tokens or info.supports_prompt_caching)
    assert {m.base_id for m in CATALOGUE.values() if m.family == "stability-image"} == set(MODELS)
