"""Converse's document and image blocks, checked as Bedrock checks them (format, name, source) before the model runs."""

from __future__ import annotations

import re
from typing import Any

from .errors import constraint, validation, validation_errors

FORMATS = ("pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md")
SOURCES = ("bytes", "s3Location", "text", "content")
IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
IMAGE_SOURCES = ("bytes", "s3Location")
_NAME = re.compile(r"[A-Za-z0-9()\[\]-]+(?: [A-Za-z0-9()\[\]-]+)*")
MSG_NAME = ("The format of the value at {where}.name is invalid. Provide a name that contains only alphanumeric "
            "characters, whitespace characters, hyphens, parentheses, and/or square brackets and doesn't contain "
            "more than one consecutive whitespace character.")   # our wording of Bedrock's rule


def check_document(document: Any, where: str, member: str) -> None:
    """`where`: the block's path as Bedrock words messages (messages.0.content.1.document); `member`: as its
    constraint findings do (messages.1.member.content.1.member.document)."""
    document = document if isinstance(document, dict) else {}
    if document.get("format") not in FORMATS:
        raise validation_errors([constraint(document.get("format"), f"{member}.format",
                                            f"Member must satisfy enum value set: [{', '.join(FORMATS)}]")])
    name = document.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 200 or not _NAME.fullmatch(name):
        raise validation(MSG_NAME.format(where=where))
    source = document.get("source")
    if not isinstance(source, dict) or len(source) != 1 or next(iter(source)) not in SOURCES:
        raise validation(f"The value at {where}.source is invalid: exactly one of {', '.join(SOURCES)} must be set.")
    if "bytes" in source and not source["bytes"]:
        raise validation(f"The value at {where}.source.bytes is empty.")


def check_image(image: Any, where: str, member: str) -> None:
    """An ImageBlock: a format Bedrock knows and exactly one source (``where``/``member`` as for documents)."""
    image = image if isinstance(image, dict) else {}
    if image.get("format") not in IMAGE_FORMATS:
        raise validation_errors([constraint(image.get("format"), f"{member}.format",
                                            f"Member must satisfy enum value set: [{', '.join(IMAGE_FORMATS)}]")])
    source = image.get("source")
    if not isinstance(source, dict) or len(source) != 1 or next(iter(source)) not in IMAGE_SOURCES:
        raise validation(f"The value at {where}.source is invalid: exactly one of {', '.join(IMAGE_SOURCES)} must be "
                         "set.")
