"""Amazon's image models on Bedrock (Nova Canvas, Titan Image Generator v2): one InvokeModel body.

Both take the same text-to-image body (`taskType: TEXT_IMAGE`, `textToImageParams`,
`imageGenerationConfig`) and answer `{"images": [<base64 PNG>, ...]}`. Bedrock bills them per
image by quality and size, not per token, so what a call costs is read from its body: the
OpenAI route plans the body itself, and a Bedrock-native client's body is read the same way.
Size and text limits differ per model and are Bedrock's to check (its ValidationException
reaches the client as a 400 with Bedrock's words).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kong_plugins.context import ImageCount
from kong_plugins.formats import wire_json

TASK = "TEXT_IMAGE"
QUALITIES = ("standard", "premium")
DEFAULT_SIZE = 1024
"""Bedrock's default width and height for both models."""
MAX_IMAGES = 5
"""numberOfImages: 1 to 5 on both models."""


@dataclass(frozen=True)
class ImageJob:
    """One text-to-image call: what is drawn, how many, and what Bedrock bills (quality and size)."""

    prompt: str
    negative: str | None = None
    count: int = 1
    width: int = DEFAULT_SIZE
    height: int = DEFAULT_SIZE
    quality: str = "standard"
    seed: int | None = None
    cfg_scale: float | None = None

    def billed(self) -> ImageCount:
        """The images asked for, by quality and size, as Usage counts them."""
        return ImageCount(self.quality, self.width, self.height, self.count)

    def body(self) -> bytes:
        params: dict[str, Any] = {"text": self.prompt}
        if self.negative:
            params["negativeText"] = self.negative
        config: dict[str, Any] = {"numberOfImages": self.count, "width": self.width, "height": self.height,
                                  "quality": self.quality}
        if self.seed is not None:
            config["seed"] = self.seed
        if self.cfg_scale is not None:
            config["cfgScale"] = self.cfg_scale
        return wire_json.dumps({"taskType": TASK, "textToImageParams": params, "imageGenerationConfig": config})


def billed_by_body(body: Any) -> ImageCount | None:
    """What a Bedrock-native body asks Bedrock to bill, with Bedrock's defaults for what it leaves out (None: not
    a generation this gateway can price, so the call is metered from Bedrock's token headers as before)."""
    if not isinstance(body, dict):
        return None
    config = body.get("imageGenerationConfig")
    config = config if isinstance(config, dict) else {}
    count, width, height = (_whole(config.get(key), default) for key, default in
                            (("numberOfImages", 1), ("width", DEFAULT_SIZE), ("height", DEFAULT_SIZE)))
    quality = config.get("quality", "standard")
    if None in (count, width, height) or quality not in QUALITIES:
        return None   # Bedrock refuses such a body before it draws anything
    return ImageCount(str(quality), width, height, count)   # type: ignore[arg-type]


def _whole(value: Any, default: int) -> int | None:
    if value is None:
        return default
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def read_images(content: bytes) -> list[str]:
    """The base64 PNGs of Bedrock's answer; ValueError when it holds none (never a silent empty list)."""
    answer = wire_json.loads(content)
    images = answer.get("images") if isinstance(answer, dict) else None
    if not isinstance(images, list) or not images or not all(isinstance(i, str) and i for i in images):
        raise ValueError("no images in Bedrock's answer")
    return images
