"""images.create_variation without Kong: the form read into JSON, the job, and Nova's IMAGE_VARIATION body."""

import base64
import io
import json

import httpx
import pytest
from PIL import Image

from kong_plugins.emulator.images import png
from kong_plugins.formats import multipart_form, openai_images
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.image_models import ImageJob, planned
from tests.unit.test_image_edits import bomb, png as pillow_png

PNG = png(320, 320, bytes(48))


def form(files=None, **fields) -> bytes:
    """The bytes httpx (the OpenAI SDK's transport) sends for a form."""
    return httpx.Request("POST", "http://gateway/v1/images/variations", data=fields,
                         files=files or {"image": ("mug.png", PNG, "image/png")}).read()


def test_a_form_becomes_one_json_object_with_files_in_base64():
    read = json.loads(multipart_form.as_json(form(n="2", prompt="héllo")))
    assert read == {"n": "2", "prompt": "héllo", "image": {
        "filename": "mug.png", "content_type": "image/png", "data": base64.b64encode(PNG).decode()}}
    assert multipart_form.uploaded(read["image"]) == PNG and multipart_form.uploaded("text") is None


@pytest.mark.parametrize("body", [b'{"model": "x"}', b"", b"--\r\n", b"--abc\r\nno headers, no end",
                                  b"--" + b"b" * 71 + b"\r\n", b"-- padded\r\n"])
def test_what_is_not_a_form_stays_as_it_came(body):
    assert multipart_form.as_json(body) is None


def test_a_variation_job_takes_the_forms_text_as_numbers_and_the_picture():
    body = multipart_form.as_json(form(n="3", size="512x512", similarity_strength="0.8", seed="7", cfg_scale="6.5",
                                       prompt="autumn colours", negative_prompt="people", model="nova-canvas",
                                       response_format="url"))
    job, model, response_format = openai_images.parse_variation(body)
    assert (model, response_format) == ("nova-canvas", "url")
    assert (job.count, job.width, job.height, job.seed, job.cfg_scale, job.similarity) == (3, 512, 512, 7, 6.5, 0.8)
    assert job.images == (base64.b64encode(PNG).decode(),) and job.prompt == "autumn colours"
    sent, billed = planned(job, "amazon.nova-canvas-v1:0")
    assert json.loads(sent) == {
        "taskType": "IMAGE_VARIATION",
        "imageVariationParams": {"text": "autumn colours", "negativeText": "people",
                                 "images": [base64.b64encode(PNG).decode()], "similarityStrength": 0.8},
        "imageGenerationConfig": {"numberOfImages": 3, "width": 512, "height": 512, "quality": "standard",
                                  "seed": 7, "cfgScale": 6.5}}
    assert (billed.count, billed.width, billed.height) == (3, 512, 512)


def test_a_transparent_source_goes_flattened_as_bedrock_takes_it():
    body = multipart_form.as_json(form(files={"image": ("cut.png", pillow_png(mode="RGBA", hole=(0, 0, 9, 9)),
                                                        "image/png")}))
    job, _, _ = openai_images.parse_variation(body)
    sent = Image.open(io.BytesIO(base64.b64decode(job.images[0])))
    assert sent.mode == "RGB" and sent.getpixel((5, 5)) == (255, 255, 255)


def test_without_a_prompt_the_variation_sends_no_text():
    job, _, _ = openai_images.parse_variation(multipart_form.as_json(form()))
    assert "text" not in json.loads(job.body())["imageVariationParams"]
    assert json.loads(ImageJob(prompt="a mug").body())["taskType"] == "TEXT_IMAGE"   # generations unchanged


@pytest.mark.parametrize("body, param", [
    (form(files={"image": ("a.gif", b"GIF89a", "image/gif")}), "image"),
    (form(files={"image": ("bomb.png", bomb((20000, 20000), colour_type=0), "image/png")}), "image"),
    (form(files={"mask": ("m.png", PNG, "image/png")}), "image"),
    (b'{"model": "nova-canvas"}', "image"),
    (b"not json, not a form", "image"),
    (form(n="ten"), "n"),
    (form(n="6"), "n"),
    (form(similarity_strength="close"), "similarity_strength"),
    (form(size="big"), "size"),
    (form(response_format="webp"), "response_format"),
])
def test_what_cannot_be_a_variation_is_a_400_naming_the_field(body, param):
    with pytest.raises(RequestError) as exc:
        openai_images.parse_variation(multipart_form.as_json(body) or body)
    assert exc.value.param == param


def test_stability_models_make_no_variations():
    job, _, _ = openai_images.parse_variation(multipart_form.as_json(form()))
    with pytest.raises(RequestError) as exc:
        planned(job, "stability.stable-image-core-v1:1")
    assert exc.value.param == "model"
