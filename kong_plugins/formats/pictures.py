"""Pictures clients upload (OpenAI image edits and variations), read as Bedrock's image models take them.

Nova Canvas and Titan Image Generator v2 take PNG or JPEG at 8 bits a channel, and refuse a PNG whose alpha
channel holds any transparent or semi-transparent pixel (AWS's user guide, "Input images for image
generation"). A picture with an alpha channel is therefore sent flattened on white. Pillow (2 MiB) is imported
by the first upload, not by every plugin server.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

from kong_plugins.formats.body import RequestError

if TYPE_CHECKING:
    from PIL import Image


MAX_PIXELS = 4096 * 4096
"""The most pixels a picture may have: 16,777,216, more than any of Bedrock's image models takes (Nova Canvas's
sides go up to 4,096). Checked from the header, before decoding: a PNG of a few hundred KB can say 20000x20000,
400 million pixels that would hold the plugin server (every request on it) for seconds, or more memory than a
pod has."""


def opened(raw: bytes | None, field: str) -> Image.Image:
    """The picture in `raw`; RequestError naming `field` when it is not a PNG or JPEG, or has over MAX_PIXELS."""
    from PIL import Image, UnidentifiedImageError
    try:
        picture = Image.open(io.BytesIO(raw or b""))   # reads the header only
        too_large = picture.width * picture.height > MAX_PIXELS
        if not too_large:
            picture.load()
    except Image.DecompressionBombError:   # Pillow's own limit (far above ours): neither OSError nor ValueError
        too_large = True
    except (UnidentifiedImageError, OSError, ValueError):
        raise RequestError(f"{field}: must be a PNG or JPEG file.", field) from None
    if too_large:
        raise RequestError(f"{field}: the picture has more pixels than Bedrock's image models take: at most "
                           f"{MAX_PIXELS:,} (4096x4096).", field)
    if picture.format not in ("PNG", "JPEG"):
        raise RequestError(f"{field}: must be a PNG or JPEG file.", field)
    return picture


def has_alpha(picture: Image.Image) -> bool:
    return "A" in picture.getbands() or "transparency" in picture.info


def alpha(picture: Image.Image) -> Image.Image | None:
    """The picture's alpha channel (None: it has none)."""
    return picture.convert("RGBA").getchannel("A") if has_alpha(picture) else None


def for_bedrock(picture: Image.Image, raw: bytes) -> str:
    """The picture as Bedrock takes it, base64: as sent, or, when it has an alpha channel, without it (on white)."""
    from PIL import Image
    if not has_alpha(picture):
        return base64.b64encode(raw).decode("ascii")
    flat = Image.new("RGB", picture.size, (255, 255, 255))
    rgba = picture.convert("RGBA")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return png_base64(flat)


def png_base64(picture: Image.Image) -> str:
    out = io.BytesIO()
    picture.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")
