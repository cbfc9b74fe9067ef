"""OpenAI's `images.edit` (`POST /v1/images/edits`, a multipart form) as Bedrock's INPAINTING task.

OpenAI edits where a mask is transparent: `mask` is a PNG of the picture's size whose fully transparent pixels
mark the area to change, and without one the picture's own transparent pixels do. Nova Canvas and Titan Image
Generator v2 take a black-and-white mask instead, black for the area changed (AWS's user guide, "Input images
for image generation"), and refuse a picture with any transparent pixel. So the gateway turns the transparent
area into black on white (Pillow) and sends the picture without its alpha channel. An extra form field
`mask_prompt` names what to change in words (Nova's `maskPrompt`, e.g. "the mug") instead of a mask. The images
come back at the picture's size; `size` may only say that size. `prompt` becomes the inpainting text,
`negative_prompt`, `n`, `quality`, `seed`, `cfg_scale` and `response_format` map as for generations.

`background: transparent` (gpt-image's way to ask for a cut-out) is Bedrock's BACKGROUND_REMOVAL instead: one
image of the picture's size whose background is transparent. It takes no prompt (the guardrails still scan
it), mask or settings, so those are refused rather than dropped, except `prompt`, which OpenAI requires.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kong_plugins.formats import multipart_form, pictures
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.image_models import ImageJob
from kong_plugins.formats.openai_images import form_of, settings, uploaded_file

if TYPE_CHECKING:   # Pillow is imported by the first upload (formats.pictures)
    from PIL import Image

_MASK_NOT_TRANSPARENT = "mask: the mask must have transparent pixels where the picture is to change."
_NEEDS_MASK = ("mask: send a mask (a PNG whose transparent pixels mark what to change), a picture with transparent "
               "pixels, or mask_prompt (what to change, in words).")


def parse_edit(body: bytes | None) -> tuple[ImageJob, str | None, str]:
    """(the job, the model asked for, the response format); RequestError names the field at fault."""
    data = form_of(body)
    picture, source = _picture(data.get("image", data.get("image[]")))   # the SDKs name a list of pictures image[]
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise RequestError("prompt: Field required (a non-empty string).", "prompt")
    if data.get("size") not in (None, "auto", "{}x{}".format(*picture.size)):
        raise RequestError("size: Bedrock draws an edit at the picture's own size ({}x{}).".format(*picture.size),
                           "size")
    if data.get("background") == "transparent":
        return _background_removal(data, picture, source)
    mask_prompt = data.get("mask_prompt")
    if mask_prompt is not None and (not isinstance(mask_prompt, str) or not mask_prompt.strip()):
        raise RequestError("mask_prompt: must be a non-empty string.", "mask_prompt")
    mask = None
    if data.get("mask") is not None:
        if mask_prompt is not None:
            raise RequestError("mask_prompt: send either mask or mask_prompt, not both.", "mask_prompt")
        mask = _mask_from_alpha(pictures.opened(multipart_form.uploaded(data["mask"]), "mask"), picture.size,
                                _MASK_NOT_TRANSPARENT)
    elif mask_prompt is None:
        mask = _mask_from_alpha(picture, picture.size, _NEEDS_MASK)
    job, response_format = settings({**data, "size": None}, prompt)
    job = replace(job, width=picture.size[0], height=picture.size[1], source=pictures.for_bedrock(picture, source),
                  mask_image=mask, mask_prompt=mask_prompt)
    return job, data.get("model") or None, response_format


def _background_removal(data: dict[str, Any], picture: Image.Image,
                        source: bytes) -> tuple[ImageJob, str | None, str]:
    for field in ("mask", "mask_prompt", "negative_prompt", "seed", "cfg_scale", "quality"):
        if data.get(field) is not None:
            raise RequestError(f"{field}: background: transparent removes the background and takes no {field}.",
                               field)
    if data.get("n") not in (None, 1):
        raise RequestError("n: background removal draws one image.", "n")
    job, response_format = settings({**data, "background": None, "size": None}, "")
    job = replace(job, width=picture.size[0], height=picture.size[1], source=pictures.for_bedrock(picture, source),
                  cutout=True)
    return job, data.get("model") or None, response_format


def _picture(value: Any) -> tuple[Image.Image, bytes]:
    if isinstance(value, list):
        raise RequestError("image: Bedrock edits one picture at a time.", "image")
    raw = uploaded_file(value, "images.edit")
    return pictures.opened(raw, "image"), raw


def _mask_from_alpha(picture: Image.Image, size: tuple[int, int], not_transparent: str) -> str:
    """Nova's mask for OpenAI's: black where `picture` (a mask, or the picture itself) is fully transparent, white
    elsewhere (base64 PNG); RequestError naming `mask`, saying `not_transparent` when no pixel is."""
    if picture.size != size:
        raise RequestError(f"mask: the mask must be the picture's size ({size[0]}x{size[1]}).", "mask")
    alpha = pictures.alpha(picture)
    if alpha is None or alpha.getextrema()[0] != 0:
        raise RequestError(not_transparent, "mask")
    mask = alpha.point(lambda value: 255 if value else 0).convert("RGB")
    return pictures.png_base64(mask)
