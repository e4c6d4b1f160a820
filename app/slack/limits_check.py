"""What Slack would refuse in a message or a view, found before it is sent and worded as Slack words it.

The numbers are ``app.slack.limits``'; the gateway (and the /oncall ack) call ``validate_message`` or
``validate_blocks`` last, so that a payload Slack would refuse never leaves the process silently.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from app.chat import TOO_BIG, SlackRefused
from app.slack.limits import (
    ACTIONS_ELEMENTS,
    BUTTON_TEXT,
    BUTTON_VALUE,
    CONTEXT_ELEMENTS,
    FIELD_CHARS,
    HEADER_CHARS,
    ID_CHARS,
    MESSAGE_TEXT,
    SECTION_FIELDS,
    SURFACE_BLOCKS,
    TEXT_CHARS,
    URL_CHARS,
    VIEW_BYTES,
    Surface,
)


class BlockKitLimitError(ValueError):
    """A payload Slack would refuse; ``messages`` are in Slack's own format, with JSON pointers."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = tuple(messages)


def _text_problems(obj: Any, pointer: str, limit: int, kinds: tuple[str, ...]) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in kinds or not isinstance(obj.get("text"), str):
        return [f"[ERROR] must provide a text object of type {' or '.join(kinds)} [json-pointer:{pointer}]"]
    text = obj["text"]
    if not text:
        return [f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/text]"]
    if len(text) > limit:
        return [f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}/text]"]
    return []


def _many(items: Any, limit: int, pointer: str) -> list[str]:
    if not isinstance(items, list) or not items:
        return [f"[ERROR] must provide at least 1 item [json-pointer:{pointer}]"]
    return (
        [f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]"] if len(items) > limit else []
    )


def _short(value: Any, limit: int, pointer: str) -> list[str]:
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        return [f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]"]
    return []


_MRKDWN_OR_PLAIN = ("mrkdwn", "plain_text")


def _element_problems(element: Any, at: str) -> list[str]:
    if not isinstance(element, dict):
        return [f"[ERROR] failed to match all allowed schemas [json-pointer:{at}]"]
    found = _short(element.get("action_id"), ID_CHARS, f"{at}/action_id")
    if element.get("type") == "button":
        found += _text_problems(element.get("text"), f"{at}/text", BUTTON_TEXT, ("plain_text",))
        found += _short(element.get("value"), BUTTON_VALUE, f"{at}/value")
        found += _short(element.get("url"), URL_CHARS, f"{at}/url")
    return found


def _section_problems(block: dict[str, Any], at: str) -> list[str]:
    found = []
    if "text" in block or "fields" not in block:
        found += _text_problems(block.get("text"), f"{at}/text", TEXT_CHARS, _MRKDWN_OR_PLAIN)
    if "fields" in block:
        fields = block["fields"]
        found += _many(fields, SECTION_FIELDS, f"{at}/fields")
        for i, field in enumerate(fields if isinstance(fields, list) else []):
            found += _text_problems(field, f"{at}/fields/{i}", FIELD_CHARS, _MRKDWN_OR_PLAIN)
    if "accessory" in block:
        found += _element_problems(block["accessory"], f"{at}/accessory")
    return found


def _elements_problems(block: dict[str, Any], at: str, limit: int) -> list[str]:
    elements = block.get("elements")
    found = _many(elements, limit, f"{at}/elements")
    for i, element in enumerate(elements if isinstance(elements, list) else []):
        if isinstance(element, dict) and element.get("type") in _MRKDWN_OR_PLAIN:
            found += _text_problems(element, f"{at}/elements/{i}", TEXT_CHARS, _MRKDWN_OR_PLAIN)
        else:
            found += _element_problems(element, f"{at}/elements/{i}")
    return found


_OTHER_BLOCKS = ("divider", "image", "rich_text", "input", "file", "video")


def _block_problems(block: Any, at: str) -> list[str]:
    if not isinstance(block, dict):
        return [f"[ERROR] failed to match all allowed schemas [json-pointer:{at}]"]
    kind = block.get("type")
    found = _short(block.get("block_id"), ID_CHARS, f"{at}/block_id")
    if kind == "section":
        found += _section_problems(block, at)
    elif kind == "header":
        found += _text_problems(block.get("text"), f"{at}/text", HEADER_CHARS, ("plain_text",))
    elif kind in ("context", "actions"):
        found += _elements_problems(block, at, CONTEXT_ELEMENTS if kind == "context" else ACTIONS_ELEMENTS)
    elif kind not in _OTHER_BLOCKS:
        found.append(f"[ERROR] failed to match all allowed schemas [json-pointer:{at}]")
    return found


def block_problems(blocks: Any, surface: Surface = "message", root: str = "/blocks") -> list[str]:
    """Everything Slack would refuse in ``blocks``, as Slack words it (empty when Slack accepts them)."""
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        return [f"[ERROR] must be an array [json-pointer:{root}]"]
    limit = SURFACE_BLOCKS[surface]
    found = (
        [f"[ERROR] no more than {limit} items allowed [json-pointer:{root}]"] if len(blocks) > limit else []
    )
    for index, block in enumerate(blocks):
        found += _block_problems(block, f"{root}/{index}")
    return found


def validate_blocks(blocks: Any, surface: Surface = "message") -> None:
    """Raise BlockKitLimitError when Slack would refuse ``blocks`` on ``surface``."""
    found = block_problems(blocks, surface, "/view/blocks" if surface != "message" else "/blocks")
    if surface != "message" and len(json.dumps(blocks or []).encode()) > VIEW_BYTES:
        found.append(f"[ERROR] view_too_large: the view is larger than {VIEW_BYTES // 1000} kB")
    if found:
        raise BlockKitLimitError(found)


def validate_message(text: str | None, blocks: Any, surface: Surface = "message") -> None:
    """Raise BlockKitLimitError for a message Slack would refuse: its blocks, or a text over 40,000."""
    found = []
    if text is not None and len(text) > MESSAGE_TEXT:
        found.append(f"[ERROR] must be less than {MESSAGE_TEXT + 1} characters [json-pointer:/text]")
    found += block_problems(blocks, surface)
    if found:
        raise BlockKitLimitError(found)


def refuse_oversized(
    method: str, text: str | None, blocks: Any, surface: Surface = "message", *, view_only: bool = False
) -> None:
    """Refuse, before sending, what Slack would refuse for its size: SlackRefused(``too_big``), in words."""
    try:
        if view_only:
            validate_blocks(blocks, surface)
        else:
            validate_message(text, blocks, surface)
    except BlockKitLimitError as error:
        sentence = f"the message breaks Slack's Block Kit limits ({error})"
        raise SlackRefused(method, TOO_BIG, sentence) from error
