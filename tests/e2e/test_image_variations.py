"""OpenAI image variations (`images.create_variation`, a multipart upload) through the whole stack on Nova Canvas's
IMAGE_VARIATION, with the official SDK: the form is read once, scanned, planned and billed per image."""

import base64
import io

import openai
import pytest

from kong_plugins.emulator.images import png
from tests.e2e.clients import metric, metric_reaches, oa
from tests.e2e.test_images import IMAGES_METRIC, canvas_calls, png_size
from tests.unit.test_image_edits import bomb

SOURCE = png(320, 320, bytes(range(48)))
pytestmark = pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")
"""The SDK marks create_variation deprecated (OpenAI retired dall-e-2, its only model) and still calls it."""


def upload(data: bytes = SOURCE, name: str = "mug.png") -> tuple[str, io.BytesIO, str]:
    return name, io.BytesIO(data), "image/png"


def test_a_variation_of_an_uploaded_picture_is_drawn_and_billed_per_image(stack):
    before = metric(stack, IMAGES_METRIC % ("standard", "ecommerce_ops"))
    raw = oa(stack, "dev-ops-key").images.with_raw_response.create_variation(
        image=upload(), model="nova-canvas", n=2, size="512x512")
    result = raw.parse()
    assert [png_size(image.b64_json) for image in result.data] == [(512, 512)] * 2
    [call] = canvas_calls(stack)
    assert call["body"] == {"taskType": "IMAGE_VARIATION",
                            "imageVariationParams": {"images": [base64.b64encode(SOURCE).decode()]},
                            "imageGenerationConfig": {"numberOfImages": 2, "width": 512, "height": 512,
                                                      "quality": "standard"}}
    assert raw.headers["X-Token-Cost-USD"] == "0.080000"   # 2 standard images up to 1024x1024 at $0.04
    assert metric_reaches(stack, IMAGES_METRIC % ("standard", "ecommerce_ops"), before + 2)


def test_a_prompt_and_how_close_to_stay_go_along_as_extra_form_fields(stack):
    result = oa(stack, "dev-ops-key").images.create_variation(
        image=upload(), model="nova-canvas", response_format="url",
        extra_body={"prompt": "the same mug in autumn colours", "negative_prompt": "people",
                    "similarity_strength": "0.8", "seed": "7"})
    assert result.data[0].url.startswith("data:image/png;base64,")
    [call] = canvas_calls(stack)
    params = call["body"]["imageVariationParams"]
    assert (params["text"], params["negativeText"], params["similarityStrength"]) == (
        "the same mug in autumn colours", "people", 0.8)
    assert call["body"]["imageGenerationConfig"]["seed"] == 7


def test_a_card_number_in_the_forms_prompt_is_blocked_before_bedrock(stack):
    with pytest.raises(openai.PermissionDeniedError) as exc:
        oa(stack, "dev-ops-key").images.create_variation(
            image=upload(), model="nova-canvas", extra_body={"prompt": "print 4111 1111 1111 1111 on it"})
    assert exc.value.body["code"] == "content_blocked" and "4111" not in str(exc.value.body)
    assert canvas_calls(stack) == []


@pytest.mark.parametrize("image", [upload(b"GIF89a not a png"), upload(b"\x89PNG\r\n\x1a\n but broken")])
def test_a_picture_bedrock_cannot_read_is_a_400_before_bedrock(stack, image):
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack, "dev-ops-key").images.create_variation(image=image, model="nova-canvas")
    assert "PNG or JPEG" in exc.value.body["message"] and exc.value.body["param"] == "image"
    assert canvas_calls(stack) == []


def test_a_small_png_of_huge_dimensions_is_a_400_naming_image_before_bedrock(stack):
    """388 KB saying 20000x20000: Pillow refused it as a decompression bomb with an error the gateway did not
    expect, and the client got a 503."""
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack, "dev-ops-key").images.create_variation(image=upload(bomb((20000, 20000), colour_type=0)),
                                                         model="nova-canvas")
    assert exc.value.body["param"] == "image" and "4096x4096" in exc.value.body["message"]
    assert exc.value.body["type"] == "invalid_request_error" and canvas_calls(stack) == []


def test_stability_models_make_no_variations_and_json_is_not_a_form(stack):
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack, "dev-ops-key").images.create_variation(image=upload(), model="stable-image-core")
    assert exc.value.body["param"] == "model" and "Nova Canvas" in exc.value.body["message"]
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack, "dev-ops-key").post("/images/variations", body={"model": "nova-canvas"}, cast_to=object)
    assert exc.value.body["param"] == "image" and "multipart/form-data" in exc.value.body["message"]
    assert canvas_calls(stack) == []
