"""The image models on Bedrock and their InvokeModel bodies: Amazon's, and Stability AI's.

Amazon's (Nova Canvas, Titan Image Generator v2) take one text-to-image body (`taskType:
TEXT_IMAGE`, `textToImageParams`, `imageGenerationConfig`), draw 1 to 5 images and answer
`{"images": [<base64 PNG>, ...]}`. Stability AI's (Stable Image Core and Ultra, Stable Diffusion
3.5 Large) take a flat body (`prompt`, `aspect_ratio`, ...), draw one image of about a megapixel
in one of nine aspect ratios, and answer `{"seeds", "finish_reasons", "images"}`, where a filtered
prompt or picture is a 200 with a finish reason and no image. Bedrock bills both per image, not
per token, so what a call costs is read from its body: the OpenAI route plans the body itself,
and a Bedrock-native client's body is read the same way. Size and text limits differ per model
and are Bedrock's to check (its ValidationException reaches the client as a 400 with its words).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from kong_plugins.context import ImageCount
from kong_plugins.formats import wire_json
from kong_plugins.formats.body import RequestError

TASK, VARIATION, INPAINTING, BACKGROUND_REMOVAL = "TEXT_IMAGE", "IMAGE_VARIATION", "INPAINTING", "BACKGROUND_REMOVAL"
QUALITIES = ("standard", "premium")
DEFAULT_SIZE = 1024
"""Bedrock's default width and height for both models."""
MAX_IMAGES = 5
"""numberOfImages: 1 to 5 on Amazon's models."""
STABILITY_SIZES = {"1:1": (1024, 1024), "16:9": (1344, 768), "21:9": (1536, 640), "2:3": (832, 1216),
                   "3:2": (1216, 832), "4:5": (896, 1088), "5:4": (1088, 896), "9:16": (768, 1344),
                   "9:21": (640, 1536)}
"""Stability's aspect ratios and the size it draws for each (about one megapixel)."""


class NotDrawn(Exception):
    """Bedrock answered without an image: its content filters took it (else the model failed to draw)."""

    def __init__(self, filtered: bool) -> None:
        super().__init__("filtered" if filtered else "inference error")
        self.filtered = filtered


def is_stability(model_id: str) -> bool:
    """Stability AI's models (`stability.…`, or a geo profile of one) take Stability's body."""
    lowered = model_id.lower()
    return lowered.startswith("stability.") or lowered.split(".", 1)[-1].startswith("stability.")


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
    aspect_ratio: str | None = None   # Stability's own knob, sent as an extra body field (else from the size)
    images: tuple[str, ...] = ()      # base64 source pictures: a variation of them (IMAGE_VARIATION)
    similarity: float | None = None   # IMAGE_VARIATION's similarityStrength
    source: str | None = None         # a base64 picture to edit (INPAINTING), drawn at its own size
    mask_image: str | None = None     # INPAINTING's black-and-white mask (black: what changes)
    mask_prompt: str | None = None    # or what changes, in words
    cutout: bool = False              # remove the source's background instead (BACKGROUND_REMOVAL)

    def billed(self) -> ImageCount:
        """The images asked for, by quality and size, as Usage counts them."""
        return ImageCount(self.quality, self.width, self.height, self.count)

    def body(self) -> bytes:
        task, member, params = self._task()
        if task == BACKGROUND_REMOVAL:     # one image, drawn at the picture's size: nothing to configure
            return wire_json.dumps({"taskType": task, member: params})
        config: dict[str, Any] = {"numberOfImages": self.count, "width": self.width, "height": self.height,
                                  "quality": self.quality}
        if task == INPAINTING:     # an edit is drawn at the picture's own size
            del config["width"], config["height"]
        if self.seed is not None:
            config["seed"] = self.seed
        if self.cfg_scale is not None:
            config["cfgScale"] = self.cfg_scale
        return wire_json.dumps({"taskType": task, member: params, "imageGenerationConfig": config})

    def _task(self) -> tuple[str, str, dict[str, Any]]:
        """The task type, its parameters' member and the parameters: an edit, a variation, or a generation."""
        params: dict[str, Any] = {"text": self.prompt} if self.prompt else {}
        if self.negative:
            params["negativeText"] = self.negative
        if self.cutout:
            return BACKGROUND_REMOVAL, "backgroundRemovalParams", {"image": self.source}
        if self.source is not None:
            mask = {"maskImage": self.mask_image} if self.mask_image else {"maskPrompt": self.mask_prompt}
            return INPAINTING, "inPaintingParams", {"image": self.source, **params, **mask}
        if self.images:
            similarity = {"similarityStrength": self.similarity} if self.similarity is not None else {}
            return VARIATION, "imageVariationParams", {**params, "images": list(self.images), **similarity}
        return TASK, "textToImageParams", params


def planned(job: ImageJob, model_id: str) -> tuple[bytes, ImageCount]:
    """The InvokeModel body for `model_id` and what Bedrock bills if it draws it (RequestError: the model
    cannot draw what the job asks, before any call)."""
    if not is_stability(model_id):
        if job.aspect_ratio is not None:
            raise RequestError("aspect_ratio: only Stability models take it; send size.", "aspect_ratio")
        return job.body(), job.billed()
    if job.images or job.source is not None:
        raise RequestError("model: Stability models on Bedrock make no variations or edits of a picture here; use an "
                           "Amazon image model such as Nova Canvas.", "model")
    if job.count != 1:
        raise RequestError("n: Stability models on Bedrock draw one image per request; send n requests.", "n")
    if job.cfg_scale is not None:
        raise RequestError("cfg_scale: Stability models on Bedrock take none; leave it out.", "cfg_scale")
    ratio = job.aspect_ratio or nearest_ratio(job.width, job.height)
    body: dict[str, Any] = {"prompt": job.prompt, "aspect_ratio": ratio, "output_format": "png"}
    if job.negative:
        body["negative_prompt"] = job.negative
    if job.seed is not None:
        body["seed"] = job.seed
    return wire_json.dumps(body), ImageCount("standard", *STABILITY_SIZES[ratio], 1)


def nearest_ratio(width: int, height: int) -> str:
    """The Stability aspect ratio closest to WIDTHxHEIGHT (OpenAI's 1792x1024 is 16:9, 1536x1024 3:2)."""
    return min(STABILITY_SIZES, key=lambda r: abs(math.log((width / height) / _ratio(r))))


def _ratio(name: str) -> float:
    w, h = name.split(":")
    return int(w) / int(h)


def billed_by_body(body: Any, model_id: str = "") -> ImageCount | None:
    """What a Bedrock-native body asks Bedrock to bill, with Bedrock's defaults for what it leaves out (None: not
    a generation this gateway can price, so the call is metered from Bedrock's token headers as before)."""
    if not isinstance(body, dict):
        return None
    if is_stability(model_id):
        ratio = body.get("aspect_ratio", "1:1")
        size = STABILITY_SIZES.get(ratio) if isinstance(ratio, str) else None
        return ImageCount("standard", *size, 1) if size is not None else None
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
    """The base64 PNGs of Bedrock's answer; NotDrawn when Stability's says why it holds none, ValueError when
    it holds none otherwise (never a silent empty list)."""
    answer = wire_json.loads(content)
    images = answer.get("images") if isinstance(answer, dict) else None
    reasons = answer.get("finish_reasons") if isinstance(answer, dict) else None
    if not images and isinstance(reasons, list) and any(isinstance(r, str) for r in reasons):
        raise NotDrawn(filtered=any(isinstance(r, str) and r.startswith("Filter reason") for r in reasons))
    if not isinstance(images, list) or not images or not all(isinstance(i, str) and i for i in images):
        raise ValueError("no images in Bedrock's answer")
    return images


def count_drawn(content: bytes) -> int:
    """How many images a Bedrock answer holds, for a Bedrock-native client who gets the answer as it is."""
    try:
        answer = wire_json.loads(content)
    except ValueError:
        return 0
    images = answer.get("images") if isinstance(answer, dict) else None
    return sum(1 for image in images if isinstance(image, str) and image) if isinstance(images, list) else 0
