"""Nova Canvas and Titan Image Generator v2's edit tasks, INPAINTING and BACKGROUND_REMOVAL: the source picture,
its mask, and the size drawn.

``inPaintingParams`` [1][2]: ``image`` (required, base64 PNG or JPEG), ``text`` (optional: without it the masked
thing is removed), ``negativeText`` (optional), and exactly one of ``maskPrompt`` (what to change, in words) and
``maskImage`` (base64 PNG or JPEG of the source's size). AWS's user guide [2]: input images are 8 bits a channel,
and a PNG's alpha channel may not hold transparent or semi-transparent pixels; a mask holds pure black and pure
white pixels only, and for inpainting the black area is the one changed. The images drawn have the source's
size, so ``imageGenerationConfig`` takes no ``width`` or ``height`` here (the emulator refuses them as
extraneous keys). ``backgroundRemovalParams`` holds ``image`` only and the body no ``imageGenerationConfig``
(one image comes back [1]); the answer is an RGBA PNG of the source's size whose background is transparent (the
emulator keeps the middle of the picture opaque). What a schema can say uses the validator's wording; the
picture rules use the emulator's (Bedrock's is not published).

[1] https://docs.aws.amazon.com/nova/latest/userguide/image-gen-req-resp-structure.html
[2] https://docs.aws.amazon.com/nova/latest/userguide/image-gen-access.html ("Input images for image
    generation"; read in its zh_cn edition)
"""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

from PIL import Image, UnidentifiedImageError

from .errors import validation
from .schema_checks import expect_object, expect_string, only_keys, required_key

INPAINTING_KEYS = frozenset({"image", "text", "negativeText", "maskPrompt", "maskImage"})
EDIT_CONFIG_KEYS = frozenset({"numberOfImages", "quality", "cfgScale", "seed"})
_WHERE = "#/inPaintingParams"


def _picture(encoded: str, what: str) -> Image.Image:
    try:
        picture = Image.open(io.BytesIO(base64.b64decode(encoded, validate=True)))
        picture.load()
    except (ValueError, UnidentifiedImageError, OSError):
        raise validation(f"Unable to read the {what}: images must be base64-encoded PNG or JPEG files.") from None
    if picture.format not in ("PNG", "JPEG"):
        raise validation(f"Unable to read the {what}: images must be base64-encoded PNG or JPEG files.")
    return picture


def source_picture(encoded: str) -> Image.Image:
    """A task's input picture, read as Bedrock reads one: PNG or JPEG, no transparent pixel."""
    picture = _picture(encoded, "input image")
    _opaque(picture)
    return picture


def _opaque(picture: Image.Image) -> None:
    if "A" in picture.getbands() or "transparency" in picture.info:
        alpha = picture.convert("RGBA").getchannel("A")
        if alpha.getextrema()[0] < 255:
            raise validation("The input image must not contain transparent or semi-transparent pixels.")


def _black_and_white(mask: Image.Image, size: tuple[int, int]) -> None:
    if mask.size != size:
        raise validation(f"The mask image must be the size of the input image ({size[0]}x{size[1]}).")
    colours = mask.convert("RGB").getcolors(maxcolors=3)
    if colours is None or any(colour not in ((0, 0, 0), (255, 255, 255)) for _, colour in colours):
        raise validation("The mask image must contain only pure black and pure white pixels.")


def inpainting_params(body: dict[str, Any], max_text: int) -> tuple[str | None, str | None, str, tuple[int, int]]:
    """(text, negativeText, a digest of the picture and its mask, the size drawn) of an INPAINTING body."""
    params = expect_object(required_key(body, "inPaintingParams", "#"), _WHERE)
    only_keys(params, INPAINTING_KEYS, _WHERE)
    encoded = expect_string(required_key(params, "image", _WHERE), f"{_WHERE}/image")
    masks = [key for key in ("maskPrompt", "maskImage") if key in params]
    if len(masks) != 1:
        raise validation("Exactly one of maskPrompt and maskImage must be provided.")
    mask_value = expect_string(params[masks[0]], f"{_WHERE}/{masks[0]}",
                               max_text if masks[0] == "maskPrompt" else None)
    text = expect_string(params["text"], f"{_WHERE}/text", max_text) if "text" in params else None
    negative = expect_string(params["negativeText"], f"{_WHERE}/negativeText", max_text) \
        if "negativeText" in params else None
    picture = source_picture(encoded)
    if masks[0] == "maskImage":
        _black_and_white(_picture(mask_value, "mask image"), picture.size)
    digest = hashlib.sha256(f"{encoded}:{masks[0]}:{mask_value}".encode()).hexdigest()
    return text, negative, digest, picture.size


def background_removal_params(body: dict[str, Any]) -> tuple[str, tuple[int, int]]:
    """(a digest of the picture, its size) of a BACKGROUND_REMOVAL body."""
    where = "#/backgroundRemovalParams"
    params = expect_object(required_key(body, "backgroundRemovalParams", "#"), where)
    only_keys(params, frozenset({"image"}), where)
    encoded = expect_string(required_key(params, "image", where), f"{where}/image")
    return hashlib.sha256(encoded.encode()).hexdigest(), source_picture(encoded).size


def top_keys(task: str, params: str) -> frozenset[str]:
    """The body's keys for a task: background removal takes no imageGenerationConfig."""
    return frozenset({"taskType", params} | ({"imageGenerationConfig"} if task != "BACKGROUND_REMOVAL" else set()))


def cutout(width: int, height: int, palette: bytes) -> bytes:
    """An RGBA PNG: transparent, with an opaque block of the palette's first colour in the middle half."""
    picture = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    picture.paste((*palette[:3], 255), (width // 4, height // 4, width - width // 4, height - height // 4))
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def config_keys_for(task: str, generation_keys: frozenset[str]) -> frozenset[str]:
    """imageGenerationConfig's keys for a task: an edit draws at the source's size."""
    return EDIT_CONFIG_KEYS if task in ("INPAINTING", "BACKGROUND_REMOVAL") else generation_keys
