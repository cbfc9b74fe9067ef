"""Stability AI's image models on InvokeModel: Stable Diffusion 3.5 Large, Stable Image Ultra and Core.

The three take one text-to-image body [1][2][3]: ``prompt`` (required), and optionally ``negative_prompt``,
``aspect_ratio``, ``seed``, ``output_format`` and ``mode``. Bedrock checks it against a JSON schema, in the
validator's "Malformed input request: #/...: ..." wording (see schema_checks.py), as for its other image models:

- ``prompt``: a string of 1-10,000 characters. The docs give 0 as its minimum [1][2]; the emulator refuses an
  empty prompt ("expected minLength: 1"), as nothing can be drawn from it.
- ``negative_prompt``: a string of at most 10,000 characters [1][3]; an empty one is the same as none.
- ``aspect_ratio``: one of 16:9, 1:1, 21:9, 2:3, 3:2, 4:5, 5:4, 9:16, 9:21 (default 1:1) [1][3].
- ``seed``: an integer 0-4,294,967,294, 0 (the default) asking for a random seed, as Stability's API takes it
  (Bedrock's Stable Image Core page says 4,294,967,295 [3]; the emulator keeps Stability's ceiling).
- ``output_format``: jpeg | png | webp, default png. The emulator renders png only: jpeg and webp are refused
  with the ValidationException MSG_PNG_ONLY, the emulator's limit and wording, never Bedrock's.
- ``mode``: only ``text-to-image`` (the default) is emulated. SD3.5 Large's ``image-to-image`` [1] is refused
  as an invalid enum value, and its ``image`` and ``strength`` as extraneous keys, as images.py refuses task
  types other than TEXT_IMAGE. Any other key is extraneous too.

Each answer holds exactly one image, of the size Stability gives each aspect ratio (about one megapixel [1]):
1:1 1024x1024, 16:9 1344x768, 21:9 1536x640, 2:3 832x1216, 3:2 1216x832, 4:5 896x1088, 5:4 1088x896,
9:16 768x1344, 9:21 640x1536 (SIZES).

The answer is ``{"seeds": [seed], "finish_reasons": [null], "images": [base64 PNG]}`` [1][2][3]. A seed of 0 or
none asks for a random one: the emulator reports one hashed from the model, prompt, negative prompt and aspect
ratio (1-4,294,967,294), so the same request gets the same seed, and sending that seed back gives the same
image, as a real seed would. The image is images.png()'s grid of flat colour blocks, hashed from the model,
prompt, negative prompt, seed and aspect ratio: the same request gives the same bytes, any change others.

A prompt or negative prompt holding images.CONTENT_FILTER_MARKER (any case) is filtered as the docs show a
filtered answer: HTTP 200 with ``{"finish_reasons": ["Filter reason: prompt"]}`` and neither seeds nor images
[1][2]. Schema errors and the png-only limit come first. Headers: content type, request id and
X-Amzn-Bedrock-Invocation-Latency, as for the other image models (images.latency_headers): no token counts.

Pages under https://docs.aws.amazon.com/bedrock/latest/userguide/ :
[1] model-parameters-diffusion-3-5-large.html
[2] model-parameters-diffusion-stable-ultra-text-image-request-response.html
[3] model-parameters-diffusion-stable-image-core-text-image-request-response.html
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from . import images
from .errors import validation
from .prompt import LastUserTurn, Prompt, SegmentList
from .schema_checks import expect_enum, expect_object, expect_string, in_range, only_keys, required_key

FAMILY = "stability-image"
SD35_LARGE = "stability.sd3-5-large-v1:0"
IMAGE_ULTRA = "stability.stable-image-ultra-v1:1"
IMAGE_CORE = "stability.stable-image-core-v1:1"
MODELS = (SD35_LARGE, IMAGE_ULTRA, IMAGE_CORE)

KEYS = frozenset({"prompt", "negative_prompt", "aspect_ratio", "seed", "output_format", "mode"})
MAX_TEXT = 10_000
MAX_SEED = 4_294_967_294
RANDOM_SEED = 0
"""The seed that asks for a random one (the default)."""
MODES = ("text-to-image",)
OUTPUT_FORMATS = ("jpeg", "png", "webp")
RENDERED_FORMAT = "png"
SIZES = {
    "16:9": (1344, 768), "1:1": (1024, 1024), "21:9": (1536, 640), "2:3": (832, 1216), "3:2": (1216, 832),
    "4:5": (896, 1088), "5:4": (1088, 896), "9:16": (768, 1344), "9:21": (640, 1536),
}
"""Width and height of the one image, by ``aspect_ratio`` (in the docs' enum order)."""
ASPECT_RATIOS = tuple(SIZES)
DEFAULT_ASPECT_RATIO = "1:1"
FILTER_REASON_PROMPT = "Filter reason: prompt"
MSG_PNG_ONLY = "The emulator renders png only: output_format {} is not emulated."


@dataclass(frozen=True)
class StabilityRequest:
    """A validated text-to-image request: everything its one image (or its filtered answer) is made from."""

    model: str
    prompt: str
    negative_prompt: str | None
    aspect_ratio: str
    seed: int               # the seed used: the one asked for, or the one hashed for a random seed
    filtered: bool          # the content filter flagged the prompt: no image

    @property
    def size(self) -> tuple[int, int]:
        return SIZES[self.aspect_ratio]


def _digest(*material: Any) -> bytes:
    return hashlib.sha512(json.dumps(material).encode("utf-8")).digest()


def _seed_for(model: str, prompt: str, negative: str | None, aspect_ratio: str, asked: int) -> int:
    """The seed asked for, or for RANDOM_SEED one in 1..MAX_SEED hashed from the request."""
    if asked != RANDOM_SEED:
        return asked
    return 1 + int.from_bytes(_digest("seed", model, prompt, negative, aspect_ratio)[:8], "big") % MAX_SEED


def parse_stability_body(body: Any, base_id: str) -> tuple[Prompt, StabilityRequest]:
    """Validate like Bedrock (the schema, then the emulator's png-only limit, then the content filter)."""
    only_keys(expect_object(body, "#"), KEYS, "#")
    prompt = expect_string(required_key(body, "prompt", "#"), "#/prompt", MAX_TEXT)
    negative = body.get("negative_prompt", "")
    negative = expect_string(negative, "#/negative_prompt", MAX_TEXT) if negative != "" else None
    aspect_ratio = expect_enum(body.get("aspect_ratio", DEFAULT_ASPECT_RATIO), "#/aspect_ratio", ASPECT_RATIOS)
    asked = in_range(body.get("seed", RANDOM_SEED), "#/seed", 0, MAX_SEED, integer=True)
    output_format = expect_enum(body.get("output_format", RENDERED_FORMAT), "#/output_format", OUTPUT_FORMATS)
    expect_enum(body.get("mode", MODES[0]), "#/mode", MODES)
    if output_format != RENDERED_FORMAT:
        raise validation(MSG_PNG_ONLY.format(output_format))
    marker = images.CONTENT_FILTER_MARKER
    filtered = any(marker in (text or "").lower() for text in (prompt, negative))
    segments = SegmentList()
    segments.add("user:text", prompt)
    request = StabilityRequest(base_id, prompt, negative, aspect_ratio,
                               _seed_for(base_id, prompt, negative, aspect_ratio, asked), filtered)
    return Prompt(segments=segments.items, last_user=LastUserTurn(text=prompt), max_tokens=0), request


def _palette(request: StabilityRequest) -> bytes:
    """3 bytes of colour for each of images.png()'s blocks, hashed from all that shapes the image."""
    material = _digest("image", request.model, request.prompt, request.negative_prompt, request.seed,
                       request.aspect_ratio)
    return material[:3 * images.GRID * images.GRID]


def render(request: StabilityRequest) -> bytes:
    """The request's one PNG."""
    width, height = request.size
    return images.png(width, height, _palette(request))


def response_json(request: StabilityRequest) -> dict[str, Any]:
    """One seed, a null finish reason and one base64 PNG; or, filtered, the finish reason alone."""
    if request.filtered:
        return {"finish_reasons": [FILTER_REASON_PROMPT]}
    return {"seeds": [request.seed], "finish_reasons": [None],
            "images": [base64.b64encode(render(request)).decode("ascii")]}
