"""Amazon Nova Canvas and Titan Image Generator G1 v2 on InvokeModel: TEXT_IMAGE bodies, PNG images, the answer.

Both models take one body: ``taskType`` (``TEXT_IMAGE``, ``IMAGE_VARIATION`` and ``INPAINTING`` are emulated),
its parameters (``textToImageParams``, the prompt; ``imageVariationParams``, the images; ``inPaintingParams``)
and an optional
``imageGenerationConfig``. Bedrock checks it against a JSON schema first, in the validator's
"Malformed input request: #/...: ..." wording (seen for Titan as "#/textToImageParams/text: expected maxLength:
512, actual: 548" [5]), then the size rules a schema cannot state, then its content filters.

Limits, per model:

- Nova Canvas: ``text`` and ``negativeText`` 1-1024 characters, ``style`` one of eight, ``numberOfImages`` 1-5
  (default 1), ``quality`` standard | premium (default standard), ``cfgScale`` 1.1-10 (default 6.5) [1];
  ``width`` and ``height`` 320-4096 and divisible by 16, aspect ratio within 1:4..4:1, at most 4,194,304 pixels
  [2] (its "less than" would refuse 2048 x 2048, which the emulator serves); ``seed`` 0-2,147,483,646 (default
  12), the ceiling quoted from [1] (AWS's code samples and [2] keep to 0-858,993,459).
- Titan Image Generator G1 v2: ``text`` and ``negativeText`` 1-512 characters, ``width`` x ``height`` one of
  the 25 documented sizes (long side at most 1,408) [3]; ``numberOfImages`` 1-5 (default 1), ``quality``
  standard | premium, ``cfgScale`` 1.1-10 (default 8.0), ``seed`` 0-2,147,483,646 (default 42), as commonly
  quoted from [3] (not re-read for this emulator).
- Nova's width and height default to 1024 [1]; the emulator gives Titan the same default.

The schema findings use the validator's wording (type, required and extraneous keys, min/max length, enum,
"is not greater or equal to", "is not a multiple of"); the Nova aspect-ratio and pixel-count rules and Titan's
size list are the emulator's wording (Bedrock's own text is not published). ``taskType`` values other than
TEXT_IMAGE, IMAGE_VARIATION and INPAINTING (``image_edits``; outpainting, background removal, ...) and image
conditioning (``conditionImage``,
``controlMode``, ``controlStrength``) are not emulated: they are refused as an invalid enum value and extraneous
keys.

IMAGE_VARIATION's ``imageVariationParams`` [1][7]: ``images``, 1 to 5 base64 PNG or JPEG images (required);
``similarityStrength`` 0.2-1.0 (default 0.7); ``text`` and ``negativeText`` optional, with the same limits as
TEXT_IMAGE's. Each source image is read as INPAINTING's is (``image_edits.source_picture``: PNG or JPEG, no
transparent pixel), else it is a ValidationException in the emulator's wording.
The images drawn depend on the source images' bytes too.

A prompt (text or negativeText) holding CONTENT_FILTER_MARKER is refused as Bedrock refuses a prompt its
filters flag: a ValidationException saying MSG_CONTENT_FILTERED [4].

The answer is ``{"images": [base64 PNG, ...]}``, as Bedrock's Nova Canvas answer carries only ``images`` [6];
Bedrock adds an ``error`` string only when its output filters drop images [4], which the emulator never does.
Response headers: content type, request id and X-Amzn-Bedrock-Invocation-Latency. Whether Bedrock also sends
the X-Amzn-Bedrock-Input/Output-Token-Count headers for image models could not be confirmed, so they are not sent.

Each image is a real 8-bit RGB PNG of exactly ``width`` x ``height``: a grid of flat colour blocks hashed from
the model, prompt, style, seed, size, quality, cfgScale and the image's index, so the same request gives the
same images and any change gives others. Built with zlib and struct only, one row wide in memory.

[1] https://docs.aws.amazon.com/nova/latest/userguide/image-gen-req-resp-structure.html
[2] https://github.com/awslabs/mcp/blob/main/src/nova-canvas-mcp-server/awslabs/nova_canvas_mcp_server/models.py
    and https://docs.aws.amazon.com/nova/latest/userguide/code-examples-image.html
[3] https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-image.html
[4] https://docs.aws.amazon.com/nova/latest/userguide/image-gen-errors.html
[5] https://github.com/aws-samples/generative-ai-use-cases/issues/602
[6] https://github.com/vercel/ai/issues/6405
[7] https://github.com/yunwoong7/aws-nova-canvas-mcp (tools/image_variation.py: 1-5 images, 0.2-1.0, text optional)
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from . import image_edits
from .errors import malformed, validation
from .prompt import LastUserTurn, Prompt, SegmentList
from .responses import Clock
from .schema_checks import (expect_enum, expect_number, expect_object, expect_string, expect_strings, in_range,
                            only_keys, required_key)

NOVA_CANVAS = "amazon.nova-canvas-v1:0"
TITAN_IMAGE_V2 = "amazon.titan-image-generator-v2:0"
CONTENT_FILTER_MARKER = "emulator-blocked-image"
"""A prompt holding this word (any case) is refused as a prompt Bedrock's content filters flag."""
MSG_CONTENT_FILTERED = ("This request has been blocked by our content filters. "
                        "Please adjust your text prompt to submit a new request.")

TASK_TYPES = ("TEXT_IMAGE", "IMAGE_VARIATION", "INPAINTING", "BACKGROUND_REMOVAL")
QUALITIES = ("standard", "premium")
NOVA_STYLES = ("3D_ANIMATED_FAMILY_FILM", "DESIGN_SKETCH", "FLAT_VECTOR_ILLUSTRATION", "GRAPHIC_NOVEL_ILLUSTRATION",
               "MAXIMALISM", "MIDCENTURY_RETRO", "PHOTOREALISM", "SOFT_DIGITAL_PAINTING")
TITAN_SIZES = frozenset({
    (1024, 1024), (768, 768), (512, 512), (768, 1152), (384, 576), (1152, 768), (576, 384), (768, 1280),
    (384, 640), (1280, 768), (640, 384), (896, 1152), (448, 576), (1152, 896), (576, 448), (768, 1408),
    (384, 704), (1408, 768), (704, 384), (640, 1408), (320, 704), (1408, 640), (704, 320), (1152, 640),
    (1173, 640),
})
MIN_SIDE, MAX_SIDE, SIDE_STEP = 320, 4096, 16
MAX_PIXELS = 4_194_304
MAX_ASPECT = 4
DEFAULT_SIDE = 1024
MAX_IMAGES = 5
MIN_CFG_SCALE, MAX_CFG_SCALE = 1.1, 10
MAX_SEED = 2_147_483_646
TASK_PARAMS = {"TEXT_IMAGE": "textToImageParams", "IMAGE_VARIATION": "imageVariationParams",
               "INPAINTING": "inPaintingParams", "BACKGROUND_REMOVAL": "backgroundRemovalParams"}
VARIATION_KEYS = frozenset({"images", "similarityStrength", "text", "negativeText"})
MIN_SIMILARITY, MAX_SIMILARITY, DEFAULT_SIMILARITY = 0.2, 1.0, 0.7
CONFIG_KEYS = frozenset({"numberOfImages", "width", "height", "quality", "cfgScale", "seed"})


@dataclass(frozen=True)
class ImageModel:
    """What sets one image model's body apart."""

    max_text: int                   # characters, for text and negativeText alike
    cfg_scale: float                # default
    seed: int                       # default
    params: frozenset[str]          # textToImageParams keys
    sizes: frozenset[tuple[int, int]] | None  # the only sizes it makes; None: Nova's size rules


MODELS = {
    NOVA_CANVAS: ImageModel(1024, 6.5, 12, frozenset({"text", "negativeText", "style"}), None),
    TITAN_IMAGE_V2: ImageModel(512, 8.0, 42, frozenset({"text", "negativeText"}), TITAN_SIZES),
}


@dataclass(frozen=True)
class ImageRequest:
    """A validated TEXT_IMAGE request: everything the images are made from."""

    model: str
    text: str
    negative_text: str | None
    style: str | None
    count: int
    width: int
    height: int
    quality: str
    cfg_scale: float
    seed: int
    sources: str = ""           # IMAGE_VARIATION: a digest of the source images and the similarity
    cutout: bool = False        # BACKGROUND_REMOVAL: the images' background is transparent


def _side(config: dict[str, Any], key: str, model: ImageModel) -> int:
    where = f"#/imageGenerationConfig/{key}"
    value = config.get(key, DEFAULT_SIDE)
    if model.sizes is not None:  # Titan: only the pair is checked, against its list
        return expect_number(value, where, integer=True)
    value = in_range(value, where, MIN_SIDE, MAX_SIDE, integer=True)
    if value % SIDE_STEP:
        raise malformed(f"{where}: {value} is not a multiple of {SIDE_STEP}")
    return value


def _check_size(width: int, height: int, model: ImageModel) -> None:
    """The rules on the pair (the emulator's wording: Bedrock's is not published)."""
    if model.sizes is not None:
        if (width, height) not in model.sizes:
            raise validation(f"The image size {width}x{height} is not supported by this model. "
                             "Use one of the documented width and height combinations.")
        return
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise validation(f"The aspect ratio of the image size {width}x{height} must be between 1:4 and 4:1.")
    if width * height > MAX_PIXELS:
        raise validation(f"The image size {width}x{height} has {width * height} pixels; "
                         f"at most {MAX_PIXELS} are supported.")


def _prompt_params(body: dict[str, Any], model: ImageModel) -> tuple[str, str | None, str | None]:
    params = expect_object(required_key(body, "textToImageParams", "#"), "#/textToImageParams")
    only_keys(params, model.params, "#/textToImageParams")
    text = expect_string(required_key(params, "text", "#/textToImageParams"), "#/textToImageParams/text",
                         model.max_text)
    negative = expect_string(params["negativeText"], "#/textToImageParams/negativeText", model.max_text) \
        if "negativeText" in params else None
    style = expect_enum(params["style"], "#/textToImageParams/style", NOVA_STYLES) if "style" in params else None
    return text, negative, style


def _variation_params(body: dict[str, Any], model: ImageModel) -> tuple[str | None, str | None, str]:
    """(text, negativeText, a digest of the images and similarity) of an IMAGE_VARIATION body."""
    where = "#/imageVariationParams"
    params = expect_object(required_key(body, "imageVariationParams", "#"), where)
    only_keys(params, VARIATION_KEYS, where)
    digest = hashlib.sha256()
    for index, image in enumerate(expect_strings(required_key(params, "images", where), f"{where}/images",
                                                 MAX_IMAGES)):
        digest.update(_source_image(expect_string(image, f"{where}/images/{index}")))
    similarity = in_range(params.get("similarityStrength", DEFAULT_SIMILARITY), f"{where}/similarityStrength",
                          MIN_SIMILARITY, MAX_SIMILARITY, integer=False)
    text = expect_string(params["text"], f"{where}/text", model.max_text) if "text" in params else None
    negative = expect_string(params["negativeText"], f"{where}/negativeText", model.max_text) \
        if "negativeText" in params else None
    return text, negative, f"{digest.hexdigest()}:{similarity}"


def _source_image(encoded: str) -> bytes:
    """What a source image adds to the images' digest, once it reads as Bedrock reads one (image_edits)."""
    image_edits.source_picture(encoded)
    return encoded.encode("ascii")


def parse_image_body(body: Any, base_id: str) -> tuple[Prompt, ImageRequest]:
    """Validate like Bedrock (schema, then size rules, then content filters); the text becomes a Prompt."""
    model = MODELS[base_id]
    task = expect_enum(required_key(expect_object(body, "#"), "taskType", "#"), "#/taskType", TASK_TYPES)
    only_keys(body, image_edits.top_keys(task, TASK_PARAMS[task]), "#")
    edit_size = None
    if task == "TEXT_IMAGE":
        (text, negative, style), sources = _prompt_params(body, model), ""
    elif task == "IMAGE_VARIATION":
        (text, negative, sources), style = _variation_params(body, model), None
    elif task == "INPAINTING":
        (text, negative, sources, edit_size), style = image_edits.inpainting_params(body, model.max_text), None
    else:
        (sources, edit_size), text, negative, style = image_edits.background_removal_params(body), None, None, None
    config = expect_object(body.get("imageGenerationConfig", {}), "#/imageGenerationConfig")
    only_keys(config, image_edits.config_keys_for(task, CONFIG_KEYS), "#/imageGenerationConfig")
    count = in_range(config.get("numberOfImages", 1), "#/imageGenerationConfig/numberOfImages", 1, MAX_IMAGES,
                     integer=True)
    width, height = edit_size or (_side(config, "width", model), _side(config, "height", model))
    quality = expect_enum(config.get("quality", QUALITIES[0]), "#/imageGenerationConfig/quality", QUALITIES)
    cfg_scale = in_range(config.get("cfgScale", model.cfg_scale), "#/imageGenerationConfig/cfgScale",
                         MIN_CFG_SCALE, MAX_CFG_SCALE, integer=False)
    seed = in_range(config.get("seed", model.seed), "#/imageGenerationConfig/seed", 0, MAX_SEED, integer=True)
    if edit_size is None:
        _check_size(width, height, model)
    if any(CONTENT_FILTER_MARKER in (part or "").lower() for part in (text, negative)):
        raise validation(MSG_CONTENT_FILTERED)
    segments = SegmentList()
    if text is not None:
        segments.add("user:text", text)
    request = ImageRequest(base_id, text or "", negative, style, count, width, height, quality, float(cfg_scale),
                           seed, sources, task == "BACKGROUND_REMOVAL")
    return Prompt(segments=segments.items, last_user=LastUserTurn(text=text or ""), max_tokens=0), request


GRID = 4
"""Colour blocks per side of an image (GRID x GRID)."""
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_FILTER_NONE, _FILTER_UP = b"\x00", b"\x02"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _palette(request: ImageRequest, index: int) -> bytes:
    """3 bytes of colour for each of the GRID x GRID blocks, row by row, hashed from all that shapes the image."""
    material = json.dumps([request.model, request.text, request.negative_text, request.style, request.seed,
                           index, request.width, request.height, request.quality, request.cfg_scale, request.sources])
    return hashlib.sha512(material.encode("utf-8")).digest()[:3 * GRID * GRID]


def _span(block: int, side: int) -> int:
    """How many pixels of ``side`` the ``block``-th of GRID blocks covers (they differ by one at most)."""
    return (block + 1) * side // GRID - block * side // GRID


def png(width: int, height: int, palette: bytes) -> bytes:
    """An 8-bit RGB PNG of GRID x GRID flat colour blocks (``palette``: 3 bytes a block, row by row).

    A band of rows repeats one row: its first row is stored as is, the others with PNG's Up filter, i.e. as
    zeros, so deflate has next to nothing to do and memory holds one row at a time.
    """
    compressor = zlib.compressobj(6)
    data = []
    unchanged = _FILTER_UP + bytes(3 * width)
    for band in range(GRID):
        colours = palette[3 * GRID * band:3 * GRID * (band + 1)]
        row = b"".join(colours[3 * col:3 * col + 3] * _span(col, width) for col in range(GRID))
        data.append(compressor.compress(_FILTER_NONE + row))
        for _ in range(_span(band, height) - 1):
            data.append(compressor.compress(unchanged))
    data.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, deflate, no interlace
    return _PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(data)) + _chunk(b"IEND", b"")


def render(request: ImageRequest, index: int) -> bytes:
    """The ``index``-th PNG the request asks for."""
    if request.cutout:
        return image_edits.cutout(request.width, request.height, _palette(request, index))
    return png(request.width, request.height, _palette(request, index))


def response_json(request: ImageRequest) -> dict[str, Any]:
    """``images``: the PNGs, base64-encoded, as many as ``numberOfImages`` asked for."""
    return {"images": [base64.b64encode(render(request, index)).decode("ascii") for index in range(request.count)]}


def latency_headers(clock: Clock) -> dict[str, str]:
    """InvokeModel's latency header; no token counts (see the module docstring)."""
    return {"X-Amzn-Bedrock-Invocation-Latency": str(clock.elapsed_ms())}
