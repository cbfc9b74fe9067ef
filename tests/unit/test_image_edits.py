"""images.edit without Kong: OpenAI's transparent-area mask as Nova's black-and-white one, and INPAINTING's body."""

import base64
import io
import json
import struct
import zlib

import httpx
import pytest
from PIL import Image, ImageDraw

from kong_plugins.formats import multipart_form, pictures
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.image_models import planned
from kong_plugins.formats.openai_image_edits import parse_edit


def png(size=(320, 240), mode="RGB", colour=(200, 120, 40), hole=None) -> bytes:
    """A picture; `hole` is a box made fully transparent."""
    picture = Image.new(mode, size, colour)
    if hole is not None:
        ImageDraw.Draw(picture).rectangle(hole, fill=(0, 0, 0, 0))
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def bomb(size: tuple[int, int], colour_type: int = 6) -> bytes:
    """A PNG whose header says `size` over next to no pixel data: a few KB that would decode to gigabytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", *size, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(4096)))
            + chunk(b"IEND", b""))


def edit(image=None, mask=None, **fields):
    files = [("image", ("mug.png", image or png(), "image/png"))]
    if mask is not None:
        files.append(("mask", ("mask.png", mask, "image/png")))
    body = httpx.Request("POST", "http://gateway/v1/images/edits", files=files,
                         data={"prompt": "a red mug", **fields}).read()
    return parse_edit(multipart_form.as_json(body))


def decoded(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def test_a_transparent_mask_area_becomes_nova_black_on_white_and_the_edit_keeps_the_pictures_size():
    job, model, response_format = edit(mask=png(mode="RGBA", colour=(9, 9, 9, 255), hole=(0, 0, 99, 99)),
                                       model="nova-canvas", n="2", seed="3", negative_prompt="logos")
    body = json.loads(planned(job, "amazon.nova-canvas-v1:0")[0])
    assert (model, response_format, body["taskType"]) == ("nova-canvas", "b64_json", "INPAINTING")
    params = body["inPaintingParams"]
    assert (params["text"], params["negativeText"]) == ("a red mug", "logos") and "maskPrompt" not in params
    assert base64.b64decode(params["image"]) == png()                     # an opaque picture goes as it came
    mask = decoded(params["maskImage"]).convert("RGB")
    assert mask.size == (320, 240) and mask.getpixel((50, 50)) == (0, 0, 0) and mask.getpixel((200, 200)) == (
        255, 255, 255)
    assert {colour for _, colour in mask.getcolors()} == {(0, 0, 0), (255, 255, 255)}
    assert body["imageGenerationConfig"] == {"numberOfImages": 2, "quality": "standard", "seed": 3}
    assert (job.billed().width, job.billed().height, job.billed().count) == (320, 240, 2)


def test_without_a_mask_the_pictures_own_transparency_is_the_mask_and_goes_flattened():
    job, _, _ = edit(image=png(mode="RGBA", colour=(200, 120, 40, 255), hole=(10, 10, 59, 59)))
    params = json.loads(job.body())["inPaintingParams"]
    assert decoded(params["maskImage"]).convert("RGB").getpixel((20, 20)) == (0, 0, 0)
    flat = decoded(params["image"])
    assert flat.mode == "RGB" and flat.getpixel((20, 20)) == (255, 255, 255)   # no transparent pixel for Bedrock


def test_mask_prompt_names_what_to_change_in_words():
    job, _, _ = edit(mask_prompt="the mug")
    params = json.loads(job.body())["inPaintingParams"]
    assert params["maskPrompt"] == "the mug" and "maskImage" not in params


@pytest.mark.parametrize("kwargs, param", [
    ({}, "mask"),                                                                       # nothing marks the area
    ({"mask": png(mode="RGBA", colour=(0, 0, 0, 255))}, "mask"),                         # a mask with no hole
    ({"mask": png(size=(100, 100), mode="RGBA", hole=(0, 0, 9, 9))}, "mask"),           # another size
    ({"mask": b"GIF89a"}, "mask"),
    ({"image": b"GIF89a"}, "image"),
    ({"mask": png(mode="RGBA", hole=(0, 0, 9, 9)), "mask_prompt": "the mug"}, "mask_prompt"),
    ({"mask_prompt": "the mug", "size": "1024x1024"}, "size"),
    ({"mask_prompt": "the mug", "prompt": " "}, "prompt"),
    ({"mask_prompt": "the mug", "n": "9"}, "n"),
])
def test_what_bedrock_cannot_edit_is_a_400_naming_the_field(kwargs, param):
    with pytest.raises(RequestError) as exc:
        edit(**kwargs)
    assert exc.value.param == param


def test_one_picture_at_a_time_and_none_is_a_form_error():
    body = httpx.Request("POST", "http://gateway/v1/images/edits", data={"prompt": "x", "mask_prompt": "y"},
                         files=[("image[]", ("a.png", png(), "image/png")), ("image[]", ("b.png", png(), "image/png"))]
                         ).read()
    assert len(json.loads(multipart_form.as_json(body))["image[]"]) == 2
    with pytest.raises(RequestError) as exc:
        parse_edit(multipart_form.as_json(body))
    assert exc.value.param == "image" and "one picture" in str(exc.value)
    with pytest.raises(RequestError) as exc:
        parse_edit(b"not a form")
    assert exc.value.param == "image" and "multipart/form-data" in str(exc.value)


@pytest.mark.parametrize("size", [(12000, 12000), (20000, 20000), (4097, 4096)])
def test_a_picture_or_mask_over_the_pixel_cap_is_a_400_naming_it_before_it_is_decoded(size):
    """A small PNG saying 20000x20000 was Pillow's DecompressionBombError (a 503), and 12000x12000 held the plugin
    server for seconds; both are refused from the header, as is anything a pixel over 4096x4096."""
    for kwargs, param in [({"image": bomb(size)}, "image"), ({"mask": bomb(size)}, "mask")]:
        with pytest.raises(RequestError) as exc:
            edit(**kwargs)
        assert exc.value.param == param and "4096x4096" in str(exc.value)


def test_the_largest_picture_bedrock_takes_is_read():
    assert pictures.opened(png((4096, 4096), mode="L", colour=0), "image").size == (4096, 4096)


def test_stability_models_make_no_edits():
    job, _, _ = edit(mask_prompt="the mug")
    with pytest.raises(RequestError) as exc:
        planned(job, "stability.stable-image-core-v1:1")
    assert exc.value.param == "model"


def test_pillow_and_the_form_parser_are_loaded_by_the_first_upload_not_by_every_plugin_server():
    """Some 3 MiB the plugin server of a gateway that takes no uploads does not need."""
    import subprocess
    import sys
    body = json.dumps({"prompt": "a red mug", "mask_prompt": "the mug",
                       "image": {"filename": "mug.png", "data": base64.b64encode(png()).decode()}})
    probe = ("import sys, kong_plugins.server, kong_plugins.token_meter, kong_plugins.ecommerce_guardrails\n"
             "from kong_plugins import bedrock_proxy\n"
             "from kong_plugins.formats.openai_image_edits import parse_edit\n"
             "from kong_plugins.formats.multipart_form import as_json\n"
             "before = 'PIL' in sys.modules, 'python_multipart' in sys.modules\n"
             "parse_edit(sys.argv[1].encode())\n"
             "as_json(b'--x\\r\\n')\n"
             "print(*before, 'PIL' in sys.modules, 'python_multipart' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe, body], capture_output=True, text=True,
                          check=True).stdout.split() == ["False", "False", "True", "True"]


def test_a_transparent_background_asked_for_is_bedrocks_background_removal():
    job, _, _ = edit(background="transparent", prompt="cut the mug out")
    body = json.loads(planned(job, "amazon.nova-canvas-v1:0")[0])
    assert body == {"taskType": "BACKGROUND_REMOVAL", "backgroundRemovalParams": {"image": base64.b64encode(
        png()).decode()}}
    assert (job.billed().count, job.billed().width, job.billed().height, job.billed().quality) == (
        1, 320, 240, "standard")


@pytest.mark.parametrize("fields, param", [({"mask_prompt": "the mug"}, "mask_prompt"), ({"n": "2"}, "n"),
                                           ({"seed": "4"}, "seed"), ({"quality": "hd"}, "quality")])
def test_background_removal_takes_nothing_it_would_ignore(fields, param):
    with pytest.raises(RequestError) as exc:
        edit(background="transparent", **fields)
    assert exc.value.param == param
