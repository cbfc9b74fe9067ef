"""OpenAI image edits (`images.edit`, a multipart upload) through the whole stack on Nova Canvas's INPAINTING, with
the official SDK: OpenAI's transparent-area mask reaches Bedrock as its black-and-white one, billed per image."""

import base64
import io

import openai
import pytest
from PIL import Image

from tests.e2e.clients import metric, metric_reaches, oa
from tests.e2e.test_images import IMAGES_METRIC, canvas_calls, png_size
from tests.unit.test_image_edits import bomb, png


def upload(data: bytes, name: str = "mug.png") -> tuple[str, io.BytesIO, str]:
    return name, io.BytesIO(data), "image/png"


def test_an_edit_with_an_openai_mask_is_inpainted_at_the_pictures_size_and_billed(stack):
    before = metric(stack, IMAGES_METRIC % ("standard", "ecommerce_ops"))
    raw = oa(stack, "dev-ops-key").images.with_raw_response.edit(
        image=upload(png((512, 384))), mask=upload(png((512, 384), mode="RGBA", hole=(0, 0, 255, 383)), "mask.png"),
        prompt="the same mug on a marble counter", model="nova-canvas", n=2)
    result = raw.parse()
    assert [png_size(image.b64_json) for image in result.data] == [(512, 384)] * 2
    [call] = canvas_calls(stack)
    params = call["body"]["inPaintingParams"]
    assert call["body"]["taskType"] == "INPAINTING" and params["text"] == "the same mug on a marble counter"
    mask = Image.open(io.BytesIO(base64.b64decode(params["maskImage"]))).convert("RGB")
    assert mask.getpixel((100, 100)) == (0, 0, 0) and mask.getpixel((400, 100)) == (255, 255, 255)
    assert raw.headers["X-Token-Cost-USD"] == "0.080000"   # 2 standard images up to 1024x1024 at $0.04
    assert metric_reaches(stack, IMAGES_METRIC % ("standard", "ecommerce_ops"), before + 2)


def test_mask_prompt_and_a_picture_with_its_own_transparency(stack):
    oa(stack, "dev-ops-key").images.edit(image=upload(png()), prompt="a red mug", model="nova-canvas",
                                         extra_body={"mask_prompt": "the mug"})
    assert canvas_calls(stack)[-1]["body"]["inPaintingParams"]["maskPrompt"] == "the mug"
    holed = png(mode="RGBA", colour=(200, 120, 40, 255), hole=(0, 0, 63, 63))
    result = oa(stack, "dev-ops-key").images.edit(image=upload(holed), prompt="a red mug", model="nova-canvas",
                                                  response_format="url")
    assert result.data[0].url.startswith("data:image/png;base64,")
    sent = Image.open(io.BytesIO(base64.b64decode(canvas_calls(stack)[-1]["body"]["inPaintingParams"]["image"])))
    assert sent.mode == "RGB"          # Bedrock refuses transparent pixels: the picture goes without its alpha


def test_a_card_number_in_the_mask_prompt_is_blocked_before_bedrock(stack):
    with pytest.raises(openai.PermissionDeniedError) as exc:
        oa(stack, "dev-ops-key").images.edit(image=upload(png()), prompt="a red mug", model="nova-canvas",
                                             extra_body={"mask_prompt": "the card 4111 1111 1111 1111"})
    assert exc.value.body["code"] == "content_blocked" and "4111" not in str(exc.value.body)
    assert canvas_calls(stack) == []


def test_nothing_marking_what_to_change_is_a_400_before_bedrock(stack):
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack, "dev-ops-key").images.edit(image=upload(png()), prompt="a red mug", model="nova-canvas")
    assert exc.value.body["param"] == "mask" and "mask_prompt" in exc.value.body["message"]
    assert canvas_calls(stack) == []


@pytest.mark.parametrize("image,mask,param", [(bomb((12000, 12000)), None, "image"),
                                               (png(), bomb((12000, 12000)), "mask")], ids=["image", "mask"])
def test_a_picture_or_mask_of_too_many_pixels_is_a_400_naming_it_before_bedrock(stack, image, mask, param):
    """A transparent 12000x12000 PNG held the plugin server, every user's requests, for 10-14 s while decoded."""
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack, "dev-ops-key").images.edit(image=upload(image), prompt="a red mug", model="nova-canvas",
                                             **({"mask": upload(mask, "mask.png")} if mask else {}))
    assert exc.value.body["param"] == param and "4096x4096" in exc.value.body["message"]
    assert canvas_calls(stack) == []


def test_a_transparent_background_is_bedrocks_background_removal(stack):
    raw = oa(stack, "dev-ops-key").images.with_raw_response.edit(
        image=upload(png((480, 320))), prompt="the mug, cut out", model="nova-canvas", background="transparent")
    [image] = raw.parse().data
    cut = Image.open(io.BytesIO(base64.b64decode(image.b64_json)))
    assert cut.mode == "RGBA" and cut.size == (480, 320) and cut.getpixel((0, 0))[3] == 0
    [call] = canvas_calls(stack)
    assert call["body"] == {"taskType": "BACKGROUND_REMOVAL",
                            "backgroundRemovalParams": {"image": base64.b64encode(png((480, 320))).decode()}}
    assert raw.headers["X-Token-Cost-USD"] == "0.040000"   # one standard image up to 1024x1024
