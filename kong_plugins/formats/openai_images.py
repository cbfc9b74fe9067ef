"""OpenAI Images (`POST /v1/images/generations` and `/v1/images/variations`): the request as an image-model
job, and the answer.

What maps: `prompt`, `n` (Bedrock draws 1 to 5), `size` ("WIDTHxHEIGHT"; `auto` is Bedrock's
1024x1024), `quality` (`hd` and `high` are Bedrock's premium, every other value standard) and
`response_format`. Bedrock returns the pictures themselves, so `b64_json` (the default here, as
for OpenAI's gpt-image models) is them as they are, and `url` is a `data:image/png;base64,` URL
(a browser or Markdown shows it; nothing is hosted, so nothing expires). Bedrock's own knobs come
as extra body fields: `negative_prompt`, `seed`, `cfg_scale`, and Stability's `aspect_ratio`
(which model takes which is image_models.planned's to say). Values OpenAI has and Bedrock does
not (`style`, `background`, `moderation`, `user`) are ignored; what would silently give another
result (a stream, a format other than PNG, a transparent background) is a 400.

A variation (`images.create_variation`, a multipart form read by formats.multipart_form) sends its `image`
(a PNG or JPEG file, flattened on white when it has an alpha channel: formats.pictures) to Bedrock's
IMAGE_VARIATION task with `n`, `size` and `response_format`; the form's
extra fields `prompt`, `negative_prompt`, `similarity_strength` (Bedrock's 0.2 to 1.0: how close to the
source), `seed`, `cfg_scale` and `quality` go along. Form fields arrive as text, so numbers are read from it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from kong_plugins.formats import multipart_form, pictures, wire_json
from kong_plugins.formats.body import RequestError, load_json_object, number, whole_number
from kong_plugins.formats.image_models import DEFAULT_SIZE, MAX_IMAGES, STABILITY_SIZES, ImageJob

RESPONSE_FORMATS = ("b64_json", "url")
PREMIUM = frozenset({"hd", "high", "premium"})
QUALITIES = frozenset({"standard", "low", "medium", "auto"}) | PREMIUM
_SIZE = re.compile(r"^([1-9][0-9]{1,4})x([1-9][0-9]{1,4})$")
MAX_SEED = 2_147_483_646
"""Bedrock's largest seed."""
_FORM_NUMBERS = ("n", "seed", "cfg_scale", "similarity_strength")
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def parse_request(body: bytes | None) -> tuple[ImageJob, str | None, str]:
    """(the job, the model asked for, the response format); RequestError names the field at fault."""
    data = load_json_object(body)
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise RequestError("prompt: Field required (a non-empty string).", "prompt")
    job, response_format = settings(data, prompt)
    return job, data.get("model") or None, response_format   # load_json_object refuses a model not a string


def parse_variation(body: bytes | None) -> tuple[ImageJob, str | None, str]:
    """`images.create_variation`'s form as a job: (the job, the model asked for, the response format)."""
    data = form_of(body)
    image = uploaded_file(data.get("image"), "images.create_variation")
    job, response_format = settings(data, _optional_text(data, "prompt") or "")
    source = pictures.for_bedrock(pictures.opened(image, "image"), image)   # a transparent PNG goes flattened
    job = replace(job, images=(source,), similarity=_similarity(data.get("similarity_strength")))
    return job, data.get("model") or None, response_format


def form_of(body: bytes | None) -> dict[str, Any]:
    """An upload's form fields (formats.multipart_form) with its numbers read, since forms carry text; {} for a
    body that is no form, whose missing picture `uploaded_file` then names."""
    try:
        data = load_json_object(body)
    except RequestError:
        return {}
    return {key: _form_number(value) if key in _FORM_NUMBERS else value for key, value in data.items()}


def uploaded_file(value: Any, call: str) -> bytes:
    """The bytes of a form's file part; RequestError naming `image` when there is none (`call`: the SDK call)."""
    raw = multipart_form.uploaded(value)
    if raw is None:
        raise RequestError("image: Field required: a PNG or JPEG file, sent as multipart/form-data (as the OpenAI "
                           f"SDKs' {call} does).", "image")
    return raw


def settings(data: dict[str, Any], prompt: str) -> tuple[ImageJob, str]:
    """The settings generations and variations share, checked; (the job, the response format)."""
    if data.get("stream"):
        raise RequestError("stream: Bedrock's image models return finished images only; leave stream off.", "stream")
    if data.get("output_format") not in (None, "png"):
        raise RequestError("output_format: Bedrock's image models return PNG only.", "output_format")
    if data.get("background") == "transparent":
        raise RequestError("background: Bedrock's image models cannot draw a transparent background.", "background")
    response_format = data.get("response_format") or "b64_json"
    if response_format not in RESPONSE_FORMATS:
        raise RequestError("response_format: must be b64_json or url.", "response_format")
    quality = data.get("quality") or "standard"
    if not isinstance(quality, str) or quality not in QUALITIES:   # a list or an object cannot be looked up
        raise RequestError(f"quality: must be one of {', '.join(sorted(QUALITIES))}.", "quality")
    width, height = _size(data.get("size"))
    job = ImageJob(prompt=prompt, negative=_optional_text(data, "negative_prompt"), count=_count(data.get("n")),
                   width=width, height=height, quality="premium" if quality in PREMIUM else "standard",
                   seed=_seed(data.get("seed")), cfg_scale=_cfg_scale(data.get("cfg_scale")),
                   aspect_ratio=_aspect_ratio(data.get("aspect_ratio")))
    return job, response_format


def _form_number(value: Any) -> Any:
    """A form field's number (forms carry text); anything else as it came, for the field's own check to refuse."""
    if isinstance(value, str) and _NUMBER.match(value):
        return float(value) if "." in value else int(value)
    return value


def _similarity(value: Any) -> float | None:
    return None if value is None else number(value, "similarity_strength",
                                             "similarity_strength: must be a number from 0.2 to 1.0.")


def _size(value: Any) -> tuple[int, int]:
    if value in (None, "auto"):
        return DEFAULT_SIZE, DEFAULT_SIZE
    match = _SIZE.match(value) if isinstance(value, str) else None
    if match is None:
        raise RequestError("size: must be auto or WIDTHxHEIGHT in pixels, e.g. 1024x1024.", "size")
    return int(match.group(1)), int(match.group(2))


def _count(value: Any) -> int:
    return 1 if value is None else whole_number(
        value, "n", high=MAX_IMAGES, message=f"n: Bedrock's image models draw 1 to {MAX_IMAGES} images per request.")


def _seed(value: Any) -> int | None:
    return None if value is None else whole_number(
        value, "seed", low=0, high=MAX_SEED, message=f"seed: must be an integer from 0 to {MAX_SEED}.")


def _cfg_scale(value: Any) -> float | None:
    return None if value is None else number(value, "cfg_scale",
                                             "cfg_scale: must be a number (Bedrock takes 1.1 to 10).")


def _aspect_ratio(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value in STABILITY_SIZES):
        return value
    raise RequestError(f"aspect_ratio: must be one of {', '.join(STABILITY_SIZES)}.", "aspect_ratio")


def _optional_text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise RequestError(f"{key}: must be a string.", key)
    return value or None


def render(images: list[str], *, created: int, response_format: str, width: int, height: int) -> bytes:
    """OpenAI's ImagesResponse for Bedrock's base64 PNGs."""
    data = [{"b64_json": image} if response_format == "b64_json" else {"url": "data:image/png;base64," + image}
            for image in images]
    return wire_json.dumps({"created": created, "data": data, "output_format": "png", "size": f"{width}x{height}"})
